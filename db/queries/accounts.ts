import { and, eq, gt, isNull, or, sql } from 'drizzle-orm';
import { newId } from '../../functions/core/ids';
import { sha256Hex } from '../../functions/core/hash';
import type { Db } from '../client';
import { preparedFor } from '../prepared';
import { accounts, tokens, type Account, type Token } from '../schema';

export type TokenScope = 'read' | 'write' | 'admin';

export async function findAccountByName(db: Db, name: string): Promise<Account | undefined> {
  const [row] = await db.select().from(accounts).where(eq(accounts.name, name));
  return row;
}

export async function createAccount(db: Db, input: { name: string; kind?: 'user' | 'organization'; isAdmin?: boolean; passwordHash?: string | null }): Promise<Account> {
  const [row] = await db
    .insert(accounts)
    .values({ id: newId('acc'), name: input.name, kind: input.kind ?? 'user', isAdmin: input.isAdmin ?? false, passwordHash: input.passwordHash ?? null })
    .returning();
  return row!;
}

/** Creates a token and returns its secret, which exists nowhere else from then on. */
export async function createToken(
  db: Db,
  accountId: string,
  input: { name: string; scopes?: TokenScope[]; expiresAt?: Date | null },
): Promise<{ token: Token; secret: string }> {
  const secret = `berth_${newId('t', 32).slice(2)}`;
  const [token] = await db
    .insert(tokens)
    .values({
      id: newId('tok'),
      accountId,
      name: input.name,
      secretHash: await sha256Hex(secret),
      scopes: input.scopes ?? ['read', 'write'],
      expiresAt: input.expiresAt ?? null,
    })
    .returning();
  return { token: token!, secret };
}

/** The live token with this secret and its account, or undefined when unknown, revoked or expired. */
export async function findAccountByToken(db: Db, secret: string): Promise<{ account: Account; token: Token } | undefined> {
  const hash = await sha256Hex(secret);
  // Every authenticated request asks this: prepared (db/prepared.ts).
  const [row] = await preparedFor(db, prepareTokenLookup).execute({ hash });
  return row;
}

function prepareTokenLookup(db: Db) {
  return db
    .select({ account: accounts, token: tokens })
    .from(tokens)
    .innerJoin(accounts, eq(accounts.id, tokens.accountId))
    .where(and(eq(tokens.secretHash, sql.placeholder('hash')), isNull(tokens.revokedAt), or(isNull(tokens.expiresAt), gt(tokens.expiresAt, sql`now()`))))
    .prepare('account_by_token');
}
