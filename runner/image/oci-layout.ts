// Exports an image from S3 into an OCI image layout directory (oci-layout, index.json, blobs/), the
// form umoci, skopeo and buildah read.
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { pipeline } from 'node:stream/promises';
import { OCI_INDEX, OCI_MANIFEST } from '../../functions/core/oci/media-types';
import { blobKey, type BlobStore } from '../../functions/storage/blob-store';
import type { StoredImage } from './registry-images';

async function copyBlob(blobs: BlobStore, digest: string, dir: string): Promise<number> {
  const b = await blobs.get(blobKey(digest));
  if (!b) throw new Error(`Cannot export blob ${digest}: it is missing from storage`);
  const [alg, hex] = digest.split(':') as [string, string];
  await mkdir(join(dir, 'blobs', alg), { recursive: true });
  await pipeline(Readable.fromWeb(b.body as NodeReadableStream<Uint8Array>), createWriteStream(join(dir, 'blobs', alg, hex)));
  return b.size;
}

export async function exportOciLayout(blobs: BlobStore, image: StoredImage, dir: string, refName: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const size = await copyBlob(blobs, image.manifestDigest, dir);
  await copyBlob(blobs, image.configDigest, dir);
  for (const l of image.layers) await copyBlob(blobs, l.digest, dir);
  const index = {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [{ mediaType: OCI_MANIFEST, digest: image.manifestDigest, size, annotations: { 'org.opencontainers.image.ref.name': refName } }],
  };
  await writeFile(join(dir, 'index.json'), JSON.stringify(index));
}
