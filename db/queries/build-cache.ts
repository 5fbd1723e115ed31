// The build cache every runner shares: instruction key → the layer it produced and the config after it.
import { inArray, sql } from 'drizzle-orm';
import type { Db } from '../client';
import { buildCache } from '../schema';

export type CacheEntry = typeof buildCache.$inferSelect;

/** The entries for these keys, in one query. */
export async function findCacheEntries(db: Db, keys: string[]): Promise<Map<string, CacheEntry>> {
  if (keys.length === 0) return new Map();
  const rows = await db.select().from(buildCache).where(inArray(buildCache.key, keys));
  return new Map(rows.map((r) => [r.key, r]));
}

/** Records (or refreshes) an entry; returns when the key was first recorded. */
export async function recordCacheEntry(
  db: Db,
  e: { key: string; layerDigest: string | null; diffId: string | null; layerSize: number | null; config: unknown },
): Promise<Date> {
  const [row] = await db
    .insert(buildCache)
    .values(e)
    .onConflictDoUpdate({ target: buildCache.key, set: { layerDigest: e.layerDigest, diffId: e.diffId, layerSize: e.layerSize, config: e.config, lastUsedAt: sql`now()` } })
    .returning({ createdAt: buildCache.createdAt });
  return row!.createdAt;
}

/** Marks hits as used (eviction of the cache table goes by last use). */
export async function touchCacheEntries(db: Db, keys: string[]): Promise<void> {
  if (keys.length === 0) return;
  await db.update(buildCache).set({ lastUsedAt: sql`now()` }).where(inArray(buildCache.key, keys));
}
