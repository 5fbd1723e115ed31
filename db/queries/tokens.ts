import { and, desc, eq, isNull, sql } from 'drizzle-orm';
import type { Db } from '../client';
import { tokens, type Token } from '../schema';

/** An account's tokens, newest first, revoked ones included (their revokedAt says so). */
export async function listTokens(db: Db, accountId: string): Promise<Token[]> {
  return db.select().from(tokens).where(eq(tokens.accountId, accountId)).orderBy(desc(tokens.createdAt), desc(tokens.id));
}

/** Revokes one of the account's tokens; undefined when the account has no such token. */
export async function revokeToken(db: Db, accountId: string, id: string): Promise<Token | undefined> {
  const [row] = await db
    .update(tokens)
    .set({ revokedAt: sql`coalesce(${tokens.revokedAt}, now())` })
    .where(and(eq(tokens.id, id), eq(tokens.accountId, accountId)))
    .returning();
  return row;
}

/** Records use, at most once a minute per token, so reads do not each cost a write. */
export async function touchToken(db: Db, id: string): Promise<void> {
  await db
    .update(tokens)
    .set({ lastUsedAt: sql`now()` })
    .where(and(eq(tokens.id, id), isNull(tokens.revokedAt), sql`(${tokens.lastUsedAt} IS NULL OR ${tokens.lastUsedAt} < now() - interval '1 minute')`));
}
