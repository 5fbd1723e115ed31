// Writing blobs to S3 at blobs/<alg>/<hex> so that only verified bytes ever land there. A body whose
// digest is known up front streams straight to its final key through a multipart upload that is
// completed only once the hash matches; a chunked upload is assembled under uploads/<id>/ and copied
// to its key once its digest is checked.
import { CopyObjectCommand } from '@aws-sdk/client-s3';
import { findBlob } from '../../db/queries/registry';
import { computeDigest, digestAlgorithm, digestFromHex, type Digest } from '../core/oci/digest';
import { blobKey } from '../storage/blob-store';
import type { RegistryContext } from './context';
import { registryError } from './errors';
import { PartSink } from './part-sink';
import type { StreamHash } from './upload-hasher';

/** Reads a request body chunk by chunk; a broken stream reads as a short body. */
export async function readBody(body: ReadableStream<Uint8Array> | null, onChunk: (chunk: Uint8Array) => Promise<void> | void): Promise<{ received: number; broken: boolean }> {
  let received = 0;
  if (!body) return { received, broken: false };
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      received += value.length;
      await onChunk(value);
    }
  } catch (err) {
    if (err instanceof Error && err.name === 'RegistryError') throw err;
    return { received, broken: true };
  }
  return { received, broken: false };
}

export function tooLarge(rc: RegistryContext, what: string): never {
  throw registryError(413, 'SIZE_INVALID', `Blob upload refused: ${what} exceeds the registry's limit of ${rc.options.maxBlobBytes} bytes`);
}

/**
 * Streams a body whose digest the client named to the blob's final key, verifying as it goes.
 * Small bodies are buffered and put at once; larger ones complete their multipart upload only after
 * the digest matched, so a wrong body never overwrites or creates the object.
 */
export async function writeBlobWithDigest(
  rc: RegistryContext,
  body: ReadableStream<Uint8Array> | null,
  expected: Digest,
  prefix?: Uint8Array,
): Promise<{ size: number }> {
  const alg = digestAlgorithm(expected);
  const hash = rc.hasher.create(alg);
  const key = blobKey(expected);
  const sink = new PartSink(rc.store.s3, rc.store.bucket, key, null, [], rc.options.partSize, rc.options.partConcurrency);
  let size = 0;
  const onChunk = async (chunk: Uint8Array) => {
    size += chunk.length;
    if (size > rc.options.maxBlobBytes) tooLarge(rc, 'the body');
    hash.update(chunk);
    await sink.write(chunk);
  };
  try {
    if (prefix?.length) await onChunk(prefix);
    const { broken } = await readBody(body, onChunk);
    if (broken) throw registryError(400, 'BLOB_UPLOAD_INVALID', 'Blob upload failed: the request body ended early');
    const actual = digestFromHex(alg, hash.digestHex());
    if (actual !== expected) {
      throw registryError(400, 'DIGEST_INVALID', `Blob upload refused: the content's digest is "${actual}", not "${expected}"`, { expected, actual });
    }
    if (sink.s3UploadId === null && sink.parts.length === 0) {
      await rc.store.put(key, sink.take(), size);
    } else {
      const rest = sink.take();
      if (rest.length > 0) await sink.sendPart(rest);
      await sink.complete();
    }
    return { size };
  } catch (err) {
    await sink.abort();
    throw err;
  }
}

/** Below this size a blob is copied without asking S3 first whether it holds it: one call, not two. */
const COPY_WITHOUT_ASKING_BYTES = 8 << 20;

/**
 * How to put a finished, verified upload object at its blob key, to run under the blob's lock: a
 * copy, skipped when S3 already holds the blob; the caller deletes `from`. S3 is asked only about a
 * large blob Postgres knows (looked up now, before the lock's transaction takes the connection a
 * Worker has): without its row an object at the key could only be an orphan, and the copy rewrites
 * the same bytes.
 */
export async function promotion(rc: RegistryContext, from: string, digest: Digest, size: number): Promise<() => Promise<void>> {
  const key = blobKey(digest);
  const mayExist = size >= COPY_WITHOUT_ASKING_BYTES && (await findBlob(rc.platform.db, digest)) !== undefined;
  return async () => {
    if (!mayExist || !(await rc.store.stat(key))) {
      await rc.store.s3.send(new CopyObjectCommand({ Bucket: rc.store.bucket, Key: key, CopySource: `${rc.store.bucket}/${from}` }));
    }
  };
}

/** The digest of bytes in memory, in the algorithm the client named (WebCrypto: one shot). */
export async function digestOf(bytes: Uint8Array, expected: Digest): Promise<Digest> {
  return computeDigest(bytes, digestAlgorithm(expected));
}

/** The hash's digest when it covers exactly `length` bytes in the wanted algorithm. */
export function digestFromHash(hash: StreamHash | undefined, length: number, expected: Digest): Digest | undefined {
  if (!hash || hash.length !== length || digestAlgorithm(expected) !== 'sha256') return undefined;
  return digestFromHex('sha256', hash.digestHex());
}
