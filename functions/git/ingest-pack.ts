// Storing a pushed pack: parse it whole (resolving thin deltas against stored objects), then put it
// in S3 as sent and index its objects and commits in Postgres. The runner feeds the same bytes to
// `git index-pack --fix-thin`, so what Berth keeps is exactly what the client sent.
import { recordGitPack } from '../../db/queries/git';
import { sha256Hex } from '../core/hash';
import type { Platform } from '../platform';
import { BlobStore } from '../storage/blob-store';
import { parseCommit } from './objects';
import { packKey, readStoredObject } from './object-store';
import { readPack, readPackHeader } from './pack-reader';

export interface IngestedPack {
  /** Object id → type, for every object the pack holds. */
  types: Map<string, string>;
  packId?: number;
}

export async function ingestPack(platform: Platform, appId: string, pack: Uint8Array): Promise<IngestedPack> {
  if (readPackHeader(pack).count === 0) return { types: new Map() };
  const objects = await readPack(pack, { lookup: (id) => readStoredObject(platform, appId, id) });
  const commits = objects.filter((o) => o.type === 'commit').map((o) => ({ sha: o.id, ...parseCommit(o.data) }));
  const hex = await sha256Hex(pack);
  await new BlobStore(platform.s3, platform.bucket).put(packKey(appId, hex), pack, pack.length, 'application/x-git-packed-objects');
  const row = await recordGitPack(
    platform.db,
    appId,
    { digest: `sha256:${hex}`, size: pack.length },
    objects.map((o) => ({ sha: o.id, type: o.type, offset: o.offset, end: o.end })),
    commits,
  );
  return { types: new Map(objects.map((o) => [o.id, o.type])), packId: row.id };
}
