import { and, eq, lt, sql } from 'drizzle-orm';
import type { Db } from '../client';
import { idempotencyKeys } from '../schema';

export type IdempotencyRecord = typeof idempotencyKeys.$inferSelect;

/** Keys are kept a day: long enough for any client's retries. */
const KEEP = sql`now() - interval '24 hours'`;

/** Claims the key for this request; returns the earlier record instead when the key was used. */
export async function claimIdempotencyKey(
  db: Db,
  input: { accountId: string; key: string; method: string; path: string; requestHash: string },
): Promise<{ claimed: true } | { claimed: false; record: IdempotencyRecord }> {
  await db.delete(idempotencyKeys).where(and(eq(idempotencyKeys.accountId, input.accountId), eq(idempotencyKeys.key, input.key), lt(idempotencyKeys.createdAt, KEEP)));
  const rows = await db.insert(idempotencyKeys).values(input).onConflictDoNothing().returning({ key: idempotencyKeys.key });
  if (rows.length === 1) return { claimed: true };
  const [record] = await db.select().from(idempotencyKeys).where(and(eq(idempotencyKeys.accountId, input.accountId), eq(idempotencyKeys.key, input.key)));
  if (!record) return claimIdempotencyKey(db, input);
  return { claimed: false, record };
}

export async function completeIdempotencyKey(db: Db, accountId: string, key: string, status: number, body: unknown): Promise<void> {
  await db.update(idempotencyKeys).set({ status, body }).where(and(eq(idempotencyKeys.accountId, accountId), eq(idempotencyKeys.key, key)));
}

/** Frees the key after a failure the client may retry. */
export async function releaseIdempotencyKey(db: Db, accountId: string, key: string): Promise<void> {
  await db.delete(idempotencyKeys).where(and(eq(idempotencyKeys.accountId, accountId), eq(idempotencyKeys.key, key)));
}
