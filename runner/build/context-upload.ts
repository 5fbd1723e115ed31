// Stores a context archive at contexts/sha256/<hex>, once.
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { contextKey, type BlobStore } from '../../functions/storage/blob-store';

export async function uploadContextFile(blobs: BlobStore, digest: string, path: string, size: number): Promise<boolean> {
  const key = contextKey(digest);
  if (await blobs.stat(key)) return false;
  await blobs.put(key, Readable.toWeb(createReadStream(path)) as ReadableStream<Uint8Array>, size, 'application/x-tar+gzip');
  return true;
}
