// Garbage collection for the registry's storage: abandoned uploads, stale links, then unreferenced
// blobs (rows and S3 objects), each step safe beside running pushes (see db/queries/registry-gc.ts).
// Called by the runner on a timer or through the admin endpoint POST /v2/_berth/gc.
import { deleteStaleLinks, listUnreferencedBlobs, sweepBlob } from '../../db/queries/registry-gc';
import { deleteUpload, listStaleUploads } from '../../db/queries/registry-uploads';
import type { Platform } from '../platform';
import { BlobStore, blobKey } from '../storage/blob-store';
import { abortMultipart } from './part-sink';

export interface GcOptions {
  /** Blobs and links younger than this are never touched: a push may be about to reference them. */
  graceMs: number;
  /** Uploads idle for this long are abandoned. */
  uploadTtlMs: number;
  /** Most blobs swept in one call (call again to continue). */
  limit: number;
}

export const DEFAULT_GC_OPTIONS: GcOptions = { graceMs: 24 * 3600_000, uploadTtlMs: 24 * 3600_000, limit: 10_000 };

/**
 * A blob HEAD refreshes its repository link only when the link is older than this. Why that is still
 * safe: the link's time is what keeps a blob a push has asked about (and will reference in its
 * manifest) from the collector, which drops links older than the grace and then sweeps blobs nothing
 * links. After a HEAD the link is at most LINK_REFRESH_MS old, so it outlives the HEAD by at least
 * grace − LINK_REFRESH_MS: 23 hours with the default grace, far longer than a push takes. A stale
 * link is refreshed as before (under the blob's lock), so the race with a running sweep is unchanged.
 * Only a collection run with a grace close to LINK_REFRESH_MS narrows the window, and a grace that
 * short already endangers pushes (their fresh uploads are as young as the grace).
 */
export const LINK_REFRESH_MS = 3600_000;

export interface GcReport {
  uploadsAbandoned: number;
  linksDropped: number;
  blobsSwept: string[];
}

export async function collectGarbage(platform: Platform, options: Partial<GcOptions> = {}): Promise<GcReport> {
  const o = { ...DEFAULT_GC_OPTIONS, ...options };
  const store = new BlobStore(platform.s3, platform.bucket);
  let uploadsAbandoned = 0;
  for (const u of await listStaleUploads(platform.db, o.uploadTtlMs)) {
    if (!(await deleteUpload(platform.db, u.id))) continue;
    if (u.s3UploadId) await abortMultipart(platform.s3, platform.bucket, u.s3Key, u.s3UploadId);
    if (u.pendingKey) await store.delete(u.pendingKey).catch(() => {});
    await store.delete(u.s3Key).catch(() => {});
    uploadsAbandoned++;
  }
  const linksDropped = await deleteStaleLinks(platform.db, o.graceMs);
  const blobsSwept: string[] = [];
  for (const digest of await listUnreferencedBlobs(platform.db, o.graceMs, o.limit)) {
    if (await sweepBlob(platform.db, digest, o.graceMs, () => store.delete(blobKey(digest)))) blobsSwept.push(digest);
  }
  return { uploadsAbandoned, linksDropped, blobsSwept };
}
