// Images in Berth's own registry: bytes in S3 at blobs/sha256/<hex>, the repository, manifest and
// tag rows in Postgres. The builder writes here exactly what a `docker push` would, so the registry
// serves a built image with no copy.
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { Db } from '../../db/client';
import { ensureRepository, findRepository, linkBlob, putManifest, recordBlob, resolveManifest, setTag } from '../../db/queries/registry';
import { computeDigest, type Digest } from '../../functions/core/oci/digest';
import { DOCKER_MANIFEST, OCI_CONFIG, OCI_LAYER_GZIP, OCI_MANIFEST, isIndexMediaType } from '../../functions/core/oci/media-types';
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest } from '../../functions/core/oci/types';
import { blobKey, type BlobStore } from '../../functions/storage/blob-store';

/** A layer as a build knows it: both digests, and the gzip file when this runner wrote it. */
export interface BuiltLayer {
  digest: string;
  diffId: string;
  size: number;
  path?: string;
}

/** An image read back from the registry. */
export interface StoredImage {
  manifestDigest: string;
  manifest: ImageManifest;
  configDigest: string;
  config: ImageConfig;
  /** Layers bottom first, with their diff_ids from the config. */
  layers: BuiltLayer[];
}

/** Uploads a blob unless S3 already holds it; records it either way. Returns whether bytes moved. */
export async function uploadBlob(
  db: Db,
  blobs: BlobStore,
  b: { digest: string; size: number; mediaType: string; diffId?: string; path?: string; bytes?: Uint8Array },
): Promise<boolean> {
  const key = blobKey(b.digest);
  let uploaded = false;
  if (!(await blobs.stat(key))) {
    if (b.bytes) await blobs.put(key, b.bytes, b.size, b.mediaType);
    else if (b.path) await blobs.put(key, Readable.toWeb(createReadStream(b.path)) as ReadableStream<Uint8Array>, b.size, b.mediaType);
    else throw new Error(`Cannot upload blob ${b.digest}: neither bytes nor a file were given`);
    uploaded = true;
  }
  await recordBlob(db, { digest: b.digest, size: b.size, mediaType: b.mediaType, diffId: b.diffId ?? null });
  return uploaded;
}

/** JSON bytes for a document; key order is the object's, so the same build gives the same digest. */
export function encodeDocument(doc: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(doc));
}

export interface PublishInput {
  accountId: string;
  /** Repository within Berth's registry, e.g. `admin/web`. */
  repository: string;
  tags: string[];
  config: ImageConfig;
  /** Already uploaded (uploadBlob); bottom first. */
  layers: BuiltLayer[];
  annotations?: Record<string, string>;
}

export interface Published {
  manifestDigest: Digest;
  configDigest: Digest;
  manifestSize: number;
  /** Blobs this call uploaded (config, manifest); layers are uploaded before. */
  uploaded: number;
}

/** Stores the config and an OCI manifest as blobs and points the tags at it, in the account's repository. */
export async function publishImage(db: Db, blobs: BlobStore, p: PublishInput): Promise<Published> {
  const configBytes = encodeDocument(p.config);
  const configDigest = await computeDigest(configBytes);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_CONFIG, digest: configDigest, size: configBytes.length },
    layers: p.layers.map((l) => ({ mediaType: OCI_LAYER_GZIP, digest: l.digest, size: l.size })),
    ...(p.annotations && Object.keys(p.annotations).length ? { annotations: p.annotations } : {}),
  };
  const manifestBytes = encodeDocument(manifest);
  const manifestDigest = await computeDigest(manifestBytes);
  let uploaded = 0;
  if (await uploadBlob(db, blobs, { digest: configDigest, size: configBytes.length, mediaType: OCI_CONFIG, bytes: configBytes })) uploaded++;
  if (await uploadBlob(db, blobs, { digest: manifestDigest, size: manifestBytes.length, mediaType: OCI_MANIFEST, bytes: manifestBytes })) uploaded++;
  const repo = await ensureRepository(db, p.accountId, p.repository);
  await db.transaction(async (tx) => {
    const t = tx as unknown as Db;
    // Sorted and deduplicated: each link takes a per-digest advisory lock, and two builds taking
    // overlapping locks in different orders could deadlock.
    for (const d of [...new Set([configDigest, ...p.layers.map((l) => l.digest)])].sort()) await linkBlob(t, repo.id, d);
    await putManifest(t, {
      repositoryId: repo.id,
      digest: manifestDigest,
      mediaType: OCI_MANIFEST,
      size: manifestBytes.length,
      references: [{ digest: configDigest, kind: 'config' }, ...p.layers.map((l) => ({ digest: l.digest, kind: 'layer' as const }))],
    });
    for (const tag of p.tags) await setTag(t, repo.id, tag, manifestDigest);
  });
  return { manifestDigest, configDigest, manifestSize: manifestBytes.length, uploaded };
}

async function readJson<T>(blobs: BlobStore, digest: string): Promise<T> {
  const bytes = await blobs.getBytes(blobKey(digest));
  if (!bytes) throw new Error(`Cannot read blob ${digest}: it is missing from storage`);
  const got = await computeDigest(bytes);
  if (got !== digest) throw new Error(`Cannot read blob ${digest}: its content has digest ${got}`);
  return JSON.parse(new TextDecoder().decode(bytes)) as T;
}

/** From an index, the linux/amd64 image (the runner's platform). */
export function pickPlatform(index: ImageIndex, arch = 'amd64'): Descriptor | undefined {
  return index.manifests.find((m) => m.platform?.os === 'linux' && m.platform.architecture === arch) ?? (index.manifests.length === 1 ? index.manifests[0] : undefined);
}

/** Reads an image by manifest digest from S3 (manifest, then config). */
export async function readImageByDigest(blobs: BlobStore, manifestDigest: string): Promise<StoredImage> {
  let digest = manifestDigest;
  let doc = await readJson<ImageManifest | ImageIndex>(blobs, digest);
  if ('manifests' in doc || (doc.mediaType && isIndexMediaType(doc.mediaType))) {
    const picked = pickPlatform(doc as ImageIndex);
    if (!picked) throw new Error(`Cannot use image ${manifestDigest}: it has no linux/amd64 variant`);
    digest = picked.digest;
    doc = await readJson<ImageManifest>(blobs, digest);
  }
  const manifest = doc as ImageManifest;
  if (manifest.mediaType && manifest.mediaType !== OCI_MANIFEST && manifest.mediaType !== DOCKER_MANIFEST) {
    throw new Error(`Cannot use image ${manifestDigest}: manifest type "${manifest.mediaType}" is not an image manifest`);
  }
  const config = await readJson<ImageConfig>(blobs, manifest.config.digest);
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== manifest.layers.length) {
    throw new Error(`Cannot use image ${manifestDigest}: ${manifest.layers.length} layers but ${diffIds.length} diff_ids`);
  }
  return {
    manifestDigest: digest,
    manifest,
    configDigest: manifest.config.digest,
    config,
    layers: manifest.layers.map((l, i) => ({ digest: l.digest, size: l.size, diffId: diffIds[i]! })),
  };
}

/** The image a tag or digest names in one of Berth's repositories, or undefined. */
export async function readRegistryImage(db: Db, blobs: BlobStore, repository: string, tagOrDigest: string): Promise<StoredImage | undefined> {
  const repo = await findRepository(db, repository);
  if (!repo) return undefined;
  const m = await resolveManifest(db, repo.id, tagOrDigest);
  if (!m) return undefined;
  return readImageByDigest(blobs, m.digest);
}
