// Browser sessions. The cookie carries a random secret; the row keeps only its SHA-256, so a read of
// the table does not yield live sessions. Each session has its own CSRF token for form posts.
import { and, eq, gt, lt, sql } from 'drizzle-orm';
import { sha256Hex } from '../../functions/core/hash';
import { newId } from '../../functions/core/ids';
import type { Db } from '../client';
import { accounts, sessions, type Account } from '../schema';

export type Session = typeof sessions.$inferSelect;

export const SESSION_TTL_MS = 7 * 24 * 3600 * 1000;

export async function createSession(db: Db, accountId: string, ttlMs = SESSION_TTL_MS): Promise<{ session: Session; secret: string }> {
  const secret = newId('s', 32).slice(2);
  const [session] = await db
    .insert(sessions)
    .values({ id: newId('ses'), accountId, secretHash: await sha256Hex(secret), csrfToken: newId('c', 24).slice(2), expiresAt: new Date(Date.now() + ttlMs) })
    .returning();
  // Expired sessions of anyone go when someone signs in: no sweeper needed.
  await db.delete(sessions).where(lt(sessions.expiresAt, sql`now()`));
  return { session: session!, secret };
}

/** The live session with this cookie secret and its account. */
export async function findSession(db: Db, secret: string): Promise<{ session: Session; account: Account } | undefined> {
  const [row] = await db
    .select({ session: sessions, account: accounts })
    .from(sessions)
    .innerJoin(accounts, eq(accounts.id, sessions.accountId))
    .where(and(eq(sessions.secretHash, await sha256Hex(secret)), gt(sessions.expiresAt, sql`now()`)));
  return row;
}

export async function deleteSession(db: Db, secret: string): Promise<void> {
  await db.delete(sessions).where(eq(sessions.secretHash, await sha256Hex(secret)));
}
