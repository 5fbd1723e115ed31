// Garbage collection of blobs, mark-and-sweep in SQL. A blob is live while a manifest references
// it, a repository links it recently (a push in progress links before it references), or the build
// cache names it. Only blobs and links older than the grace period are considered, and each blob is
// swept under the same per-digest lock writers take, so a push racing the sweep never loses bytes.
import { sql } from 'drizzle-orm';
import type { Db } from '../client';

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/** Serialises writers and the sweeper on one digest for the rest of the transaction. */
export async function lockBlob(tx: Tx | Db, digest: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`blob:${digest}`}, 0))`);
}

function graceInterval(graceMs: number) {
  return sql`make_interval(secs => ${graceMs / 1000})`;
}

/** Drops links older than the grace that no manifest of their repository references. */
export async function deleteStaleLinks(db: Db, graceMs: number): Promise<number> {
  const rows = await db.execute<{ digest: string }>(sql`
    delete from repository_blobs rb
    where rb.created_at < now() - ${graceInterval(graceMs)}
      and not exists (select 1 from manifests m where m.repository_id = rb.repository_id and m.digest = rb.digest)
      and not exists (select 1 from manifest_references r where r.repository_id = rb.repository_id and r.child_digest = rb.digest)
    returning rb.digest`);
  return rows.length;
}

const UNREFERENCED = (digest: ReturnType<typeof sql>) => sql`
      not exists (select 1 from repository_blobs rb where rb.digest = ${digest})
  and not exists (select 1 from manifests m where m.digest = ${digest})
  and not exists (select 1 from manifest_references r where r.child_digest = ${digest})
  and not exists (select 1 from build_cache c where c.layer_digest = ${digest})`;

/** Blobs past the grace that nothing marks. */
export async function listUnreferencedBlobs(db: Db, graceMs: number, limit: number): Promise<string[]> {
  const rows = await db.execute<{ digest: string }>(sql`
    select b.digest from blobs b
    where b.created_at < now() - ${graceInterval(graceMs)} and ${UNREFERENCED(sql`b.digest`)}
    order by b.created_at limit ${limit}`);
  return rows.map((r) => r.digest);
}

/**
 * Deletes one blob if it is still unreferenced, calling `deleteObject` (S3) before the row goes, under
 * the blob's lock; false when something references it again.
 */
export async function sweepBlob(db: Db, digest: string, graceMs: number, deleteObject: () => Promise<void>): Promise<boolean> {
  return db.transaction(async (tx) => {
    await lockBlob(tx, digest);
    const rows = await tx.execute<{ digest: string }>(sql`
      delete from blobs b where b.digest = ${digest}
        and b.created_at < now() - ${graceInterval(graceMs)} and ${UNREFERENCED(sql`b.digest`)}
      returning b.digest`);
    if (rows.length === 0) return false;
    await deleteObject();
    return true;
  });
}
