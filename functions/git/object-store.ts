// An app's git objects as Berth keeps them: the packs pushes sent, in S3 at
// git/<app id>/packs/<sha256 hex>.pack, indexed in Postgres (git_objects) by entry byte range.
import { findGitObject, findGitObjectAt, listGitPacks, type ObjectLocation } from '../../db/queries/git';
import type { Platform } from '../platform';
import { BlobStore } from '../storage/blob-store';
import { applyDelta } from './delta';
import type { ObjectType } from './object-id';
import { OFS_DELTA, PACK_TYPES, REF_DELTA, readPackEntry } from './pack-entry';
import { DEFAULT_MAX_OBJECT_BYTES, readPack, type GitObject } from './pack-reader';

export function packKey(appId: string, sha256Hex: string): string {
  return `git/${appId}/packs/${sha256Hex}.pack`;
}

function storeOf(platform: Platform): BlobStore {
  return new BlobStore(platform.s3, platform.bucket);
}

/** One stored object, read with ranged GETs of its entry and of its delta bases. */
export async function readStoredObject(platform: Platform, appId: string, sha: string, depth = 0): Promise<GitObject | undefined> {
  const loc = await findGitObject(platform.db, appId, sha);
  return loc ? readAt(platform, appId, loc, depth) : undefined;
}

async function readAt(platform: Platform, appId: string, loc: ObjectLocation, depth: number): Promise<GitObject> {
  if (depth > 100) throw new Error(`Cannot read object ${loc.sha}: its delta chain is deeper than 100`);
  const body = await storeOf(platform).get(packKey(appId, loc.digest.replace(/^sha256:/, '')), { start: loc.offset, end: loc.end - 1 });
  if (!body) throw new Error(`Cannot read object ${loc.sha}: its pack is missing from storage`);
  const bytes = new Uint8Array(await new Response(body.body).arrayBuffer());
  const entry = readPackEntry(bytes, 0, loc.offset, DEFAULT_MAX_OBJECT_BYTES);
  const plain = PACK_TYPES[entry.typeCode];
  if (plain) return { id: loc.sha, type: plain, data: entry.payload };
  let base: GitObject | undefined;
  if (entry.typeCode === OFS_DELTA) {
    const at = await findGitObjectAt(platform.db, loc.packId, entry.baseOffset!);
    if (!at) throw new Error(`Cannot read object ${loc.sha}: its delta base at offset ${entry.baseOffset} is not indexed`);
    base = await readAt(platform, appId, at, depth + 1);
  } else if (entry.typeCode === REF_DELTA) {
    base = await readStoredObject(platform, appId, entry.baseId!, depth + 1);
  }
  if (!base) throw new Error(`Cannot read object ${loc.sha}: its delta base is missing`);
  return { id: loc.sha, type: base.type as ObjectType, data: applyDelta(base.data, entry.payload, DEFAULT_MAX_OBJECT_BYTES) };
}

/** Every object of the app, by id: each pack read once, in push order (a thin pack's bases come first). */
export async function loadAllObjects(platform: Platform, appId: string): Promise<Map<string, GitObject>> {
  const all = new Map<string, GitObject>();
  for (const pack of await listGitPacks(platform.db, appId)) {
    const bytes = await storeOf(platform).getBytes(packKey(appId, pack.digest.replace(/^sha256:/, '')));
    if (!bytes) throw new Error(`Cannot read pack ${pack.digest}: it is missing from storage`);
    const objects = await readPack(bytes, { lookup: async (id) => all.get(id) });
    for (const o of objects) if (!all.has(o.id)) all.set(o.id, { id: o.id, type: o.type, data: o.data });
  }
  return all;
}
