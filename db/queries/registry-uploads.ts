// Blob uploads in progress. The row is the upload's whole state (S3 multipart id, parts, running
// hash, bytes held back), so any function instance can take the next chunk. Every advance is one
// UPDATE guarded by the offset it started from: two chunks racing for the same offset cannot both win.
import { and, eq, lt, sql } from 'drizzle-orm';
import type { Db } from '../client';
import { uploads } from '../schema';

export type Upload = typeof uploads.$inferSelect;

export interface UploadPart {
  partNumber: number;
  etag: string;
  size: number;
}

export async function createUpload(db: Db, u: { id: string; repositoryId: string; s3Key: string }): Promise<Upload> {
  const [row] = await db.insert(uploads).values({ id: u.id, repositoryId: u.repositoryId, s3Key: u.s3Key }).returning();
  return row!;
}

export async function findUpload(db: Db, id: string): Promise<Upload | undefined> {
  const [row] = await db.select().from(uploads).where(eq(uploads.id, id));
  return row;
}

/** Records a chunk; false when another request moved the upload from `fromOffset` first. */
export async function advanceUpload(
  db: Db,
  id: string,
  fromOffset: number,
  next: { offset: number; parts: UploadPart[]; hashState: string | null; pendingKey: string | null; s3UploadId: string | null },
): Promise<boolean> {
  const rows = await db
    .update(uploads)
    .set({ ...next, updatedAt: sql`now()` })
    .where(and(eq(uploads.id, id), eq(uploads.offset, fromOffset)))
    .returning({ id: uploads.id });
  return rows.length > 0;
}

/** Removes the row; false when it was already gone (a finished or cancelled upload). */
export async function deleteUpload(db: Db, id: string): Promise<boolean> {
  const rows = await db.delete(uploads).where(eq(uploads.id, id)).returning({ id: uploads.id });
  return rows.length > 0;
}

/** Uploads untouched for longer than `olderThanMs`: abandoned, for the garbage collector. */
export async function listStaleUploads(db: Db, olderThanMs: number, limit = 1000): Promise<Upload[]> {
  return db
    .select()
    .from(uploads)
    .where(lt(uploads.updatedAt, sql`now() - make_interval(secs => ${olderThanMs / 1000})`))
    .limit(limit);
}
