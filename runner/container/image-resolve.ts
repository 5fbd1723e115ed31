// From a container's image reference to what the supervisor needs: the image config, the unpacked
// layer dirs (bottom first) from the runner's layer store, and the image's /etc/passwd and
// /etc/group for USER names. Manifests and configs are small blobs read from S3 by digest; layers are
// pulled only when the store lacks them, so an image already on the runner touches S3 for its
// manifest and config only — and not at all once they are cached here too.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { parseReference } from '../../functions/core/oci/reference';
import type { ImageConfig, ImageIndex, ImageManifest } from '../../functions/core/oci/types';
import { blobKey, type BlobStore } from '../../functions/storage/blob-store';
import type { Db } from '../../db/client';
import { findRepository, resolveManifest } from '../../db/queries/registry';
import type { LayerStore } from '../image/layer-store';

export interface ResolvedImage {
  manifestDigest: string;
  config: ImageConfig;
  lowerDirs: string[];
  diffIds: string[];
  files: { passwd?: string; group?: string };
}

const documents = new Map<string, unknown>();

async function readJson<T>(blobs: BlobStore, digest: string): Promise<T> {
  const cached = documents.get(digest);
  if (cached) return cached as T;
  const bytes = await blobs.getBytes(blobKey(digest));
  if (!bytes) throw new Error(`Cannot read image document "${digest}": the blob is missing from storage`);
  const hex = createHash('sha256').update(bytes).digest('hex');
  if (`sha256:${hex}` !== digest) throw new Error(`Cannot read image document "${digest}": its content does not match the digest`);
  const parsed = JSON.parse(new TextDecoder().decode(bytes)) as T;
  documents.set(digest, parsed);
  return parsed;
}

/** The manifest digest a reference names in Berth's registry (a digest pins; a tag is looked up). */
export async function resolveImageDigest(db: Db, imageRef: string, pinned: string | null): Promise<string> {
  if (pinned) return pinned;
  const ref = parseReference(imageRef);
  if (ref.digest) return ref.digest;
  const repo = await findRepository(db, ref.repository);
  if (!repo) throw new Error(`Cannot run image "${imageRef}": no repository "${ref.repository}" in Berth's registry`);
  const m = await resolveManifest(db, repo.id, ref.tag ?? 'latest');
  if (!m) throw new Error(`Cannot run image "${imageRef}": no tag "${ref.tag ?? 'latest'}" in "${ref.repository}"`);
  return m.digest;
}

/** Reads a file from the top-most layer that has it; a whiteout above hides it. */
export function readImageFile(lowerDirs: string[], path: string): string | undefined {
  const rel = path.replace(/^\/+/, '');
  for (const dir of [...lowerDirs].reverse()) {
    const p = join(dir, rel);
    if (!existsSync(p)) continue;
    const st = lstatSync(p);
    if (st.isCharacterDevice() && st.rdev === 0) return undefined; // overlay whiteout
    if (!st.isFile()) return undefined;
    return readFileSync(p, 'utf8');
  }
  return undefined;
}

export async function resolveImage(o: { db: Db; blobs: BlobStore; layers: LayerStore }, imageRef: string, pinned: string | null): Promise<ResolvedImage> {
  let digest = await resolveImageDigest(o.db, imageRef, pinned);
  let manifest = await readJson<ImageManifest & Partial<ImageIndex>>(o.blobs, digest);
  if (Array.isArray(manifest.manifests)) {
    const pick = manifest.manifests.find((d) => d.platform?.os === 'linux' && d.platform.architecture === 'amd64') ?? manifest.manifests[0];
    if (!pick) throw new Error(`Cannot run image "${imageRef}": its index lists no manifest`);
    digest = pick.digest;
    manifest = await readJson<ImageManifest>(o.blobs, digest);
  }
  if (!manifest.config || !Array.isArray(manifest.layers)) throw new Error(`Cannot run image "${imageRef}": "${digest}" is not an image manifest`);
  const config = await readJson<ImageConfig>(o.blobs, manifest.config.digest);
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== manifest.layers.length) {
    throw new Error(`Cannot run image "${imageRef}": the config lists ${diffIds.length} layers, the manifest ${manifest.layers.length}`);
  }
  const lowerDirs: string[] = [];
  for (const [i, layer] of manifest.layers.entries()) lowerDirs.push(await o.layers.ensure({ digest: layer.digest, diffId: diffIds[i]! }));
  const files = { passwd: readImageFile(lowerDirs, '/etc/passwd'), group: readImageFile(lowerDirs, '/etc/group') };
  return { manifestDigest: digest, config, lowerDirs, diffIds, files };
}
