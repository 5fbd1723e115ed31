// An image's manifest and config as stored in S3 (blobs/sha256/<hex>, manifests included), for the
// calls that show more than a tag row: `docker image inspect` and `docker history`. An index resolves
// to its linux/amd64 manifest (the only platform a Berth runner runs), else its first.
import { isIndexMediaType } from '../core/oci/media-types';
import type { ImageConfig, ImageIndex, ImageManifest } from '../core/oci/types';
import type { Platform } from '../platform';
import { BlobStore, blobKey } from '../storage/blob-store';
import { dockerError } from './engine-errors';

const MAX_DOCUMENT_BYTES = 4 * 1024 * 1024;

export interface StoredImage {
  manifest: ImageManifest;
  config: ImageConfig;
  configDigest: string;
}

async function readDocument<T>(store: BlobStore, digest: string, what: string): Promise<T> {
  if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw dockerError(404, `No such image: its ${what} digest "${digest}" is not a sha256 digest`);
  const found = await store.stat(blobKey(digest));
  if (!found) throw dockerError(404, `No such image: its ${what} ${digest} is missing from storage`);
  if (found.size > MAX_DOCUMENT_BYTES) throw dockerError(422, `Cannot read the image's ${what} ${digest}: it is larger than 4 MiB`);
  const bytes = await store.getBytes(blobKey(digest));
  if (!bytes) throw dockerError(404, `No such image: its ${what} ${digest} is missing from storage`);
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as T;
  } catch {
    throw dockerError(422, `Cannot read the image's ${what} ${digest}: it is not JSON`);
  }
}

export async function readStoredImage(platform: Platform, manifestDigest: string): Promise<StoredImage> {
  const store = new BlobStore(platform.s3, platform.bucket);
  let doc = await readDocument<ImageManifest | ImageIndex>(store, manifestDigest, 'manifest');
  if ('manifests' in doc || isIndexMediaType(doc.mediaType ?? '')) {
    const list = (doc as ImageIndex).manifests ?? [];
    const pick = list.find((m) => m.platform?.os === 'linux' && m.platform.architecture === 'amd64') ?? list[0];
    if (!pick) throw dockerError(404, `No such image: the index ${manifestDigest} lists no manifest`);
    doc = await readDocument<ImageManifest>(store, pick.digest, 'manifest');
  }
  const manifest = doc as ImageManifest;
  if (!manifest.config?.digest) throw dockerError(422, `Cannot read the image ${manifestDigest}: its manifest names no config`);
  const config = await readDocument<ImageConfig>(store, manifest.config.digest, 'config');
  return { manifest, config, configDigest: manifest.config.digest };
}

export interface HistoryEntry {
  Id: string;
  Created: number;
  CreatedBy: string;
  Tags: string[] | null;
  Size: number;
  Comment: string;
}

/**
 * Docker's history, newest first: one entry per history record; a record that made a layer takes
 * that layer's size (compressed, as stored). The newest carries the image ID and its tags; older
 * ones are "<missing>", as images that came from a registry show them.
 */
export function renderHistory(image: StoredImage, id: string, tags: string[]): HistoryEntry[] {
  const layers = image.manifest.layers ?? [];
  const records = image.config.history?.length ? image.config.history : layers.map(() => ({}) as NonNullable<ImageConfig['history']>[number]);
  let layer = 0;
  const out = records.map((h) => {
    const size = h.empty_layer ? 0 : (layers[layer++]?.size ?? 0);
    const created = h.created ? Math.floor(Date.parse(h.created) / 1000) : 0;
    return { Id: '<missing>', Created: Number.isFinite(created) ? created : 0, CreatedBy: h.created_by ?? '', Tags: null as string[] | null, Size: size, Comment: h.comment ?? '' };
  });
  out.reverse();
  if (out[0]) Object.assign(out[0], { Id: id, Tags: tags.length ? tags : null });
  return out;
}
