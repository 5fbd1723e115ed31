// Receiving an upload's bytes: one request's body streamed into S3 after the upload's held-back
// tail, or a whole first chunk streamed into one object. Neither touches the uploads row; the
// handlers commit with a guarded advance.
import { advanceUpload, type Upload } from '../../db/queries/registry-uploads';
import { readBody, tooLarge } from './blob-writer';
import type { RegistryContext } from './context';
import { registryError } from './errors';
import { S3_MIN_PART } from './options';
import { PartSink } from './part-sink';
import type { StreamHash } from './upload-hasher';

export function uploadHeaders(name: string, id: string, offset: number): Record<string, string> {
  return {
    Location: `/v2/${name}/blobs/uploads/${id}`,
    Range: `0-${offset > 0 ? offset - 1 : 0}`,
    'Docker-Upload-UUID': id,
    'OCI-Chunk-Min-Length': String(S3_MIN_PART),
    'Content-Length': '0',
  };
}

export /** Content-Length when given: a bound the body must meet exactly. */
function declaredLength(rc: RegistryContext): number | undefined {
  const v = rc.c.req.header('content-length');
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw registryError(400, 'BLOB_UPLOAD_INVALID', `Invalid Content-Length "${v.slice(0, 40)}"`);
  return Number(v);
}

/** `Content-Range: <start>-<end>` (optionally `bytes ` and `/total`) → the chunk's bounds. */
export function parseContentRange(v: string): { start: number; end: number } {
  const m = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(v.trim());
  if (!m || Number(m[2]) < Number(m[1])) throw registryError(416, 'RANGE_INVALID', `Invalid Content-Range "${v.slice(0, 80)}": expected <start>-<end>`);
  return { start: Number(m[1]), end: Number(m[2]) };
}

export interface Received {
  sink: PartSink;
  hash: StreamHash | undefined;
  offset: number;
}

/** Streams one request's body into the upload after its held-back tail; does not touch the row. */
export async function receive(rc: RegistryContext, name: string, u: Upload, final: boolean): Promise<Received> {
  const range = rc.c.req.header('content-range');
  const declared = declaredLength(rc);
  let expected = declared;
  if (range !== undefined) {
    const r = parseContentRange(range);
    if (r.start !== u.offset) {
      throw registryError(416, 'RANGE_INVALID', `Chunk refused: it starts at byte ${r.start}, the upload is at ${u.offset}`, { offset: u.offset }, uploadHeaders(name, u.id, u.offset));
    }
    const len = r.end - r.start + 1;
    if (declared !== undefined && declared !== len) {
      throw registryError(400, 'BLOB_UPLOAD_INVALID', `Chunk refused: Content-Range covers ${len} bytes, Content-Length says ${declared}`);
    }
    expected = len;
  }
  if (expected !== undefined && u.offset + expected > rc.options.maxBlobBytes) tooLarge(rc, 'the upload');

  const hash = u.hashState === null ? (u.offset === 0 ? rc.hasher.start(u.id) : undefined) : rc.hasher.resume(u.id, u.hashState);
  const sink = new PartSink(rc.store.s3, rc.store.bucket, u.s3Key, u.s3UploadId, (u.parts ?? []) as never, rc.options.partSize, rc.options.partConcurrency);
  try {
    if (u.pendingKey) {
      const pending = await rc.store.get(u.pendingKey);
      if (!pending) throw registryError(404, 'BLOB_UPLOAD_UNKNOWN', `Upload "${u.id}" lost its held-back bytes; start again`);
      await readBody(pending.body, (chunk) => sink.write(chunk));
    }
    let offset = u.offset;
    const { received, broken } = await readBody(rc.c.req.raw.body, async (chunk) => {
      offset += chunk.length;
      if (offset > rc.options.maxBlobBytes) tooLarge(rc, 'the upload');
      hash?.update(chunk);
      await sink.write(chunk);
    });
    if (broken || (expected !== undefined && received !== expected)) {
      throw registryError(400, 'BLOB_UPLOAD_INVALID', `Chunk refused: received ${received} bytes, expected ${expected ?? 'more'}; the upload stays at byte ${u.offset}`, {
        offset: u.offset,
      });
    }
    if (!final) {
      // A tail of at least S3's minimum is a part of its own; a shorter one waits in S3 for the next chunk.
      if (sink.bufferedBytes >= S3_MIN_PART) await sink.sendPart(sink.take());
      await sink.drain();
    }
    return { sink, hash, offset };
  } catch (err) {
    if (sink.createdHere) await sink.abort();
    throw err;
  }
}

/**
 * A first chunk of declared length (what docker, skopeo and podman send: the whole blob in one
 * PATCH) streams into one S3 object, hashed on the way; finishing then costs one server-side copy
 * instead of assembling parts and copying.
 */
export async function receiveFirstChunk(rc: RegistryContext, name: string, u: Upload, length: number): Promise<Response> {
  if (length > rc.options.maxBlobBytes) tooLarge(rc, 'the chunk');
  const hash = rc.hasher.start(u.id);
  const key = `uploads/${u.id}/pending-${length}`;
  let received = 0;
  try {
    const direct = rc.platform.directObjectIo?.upload(rc.c, key, length, (chunk) => {
      received += chunk.length;
      hash.update(chunk);
    });
    if (direct) await direct;
    else {
      const body = (rc.c.req.raw.body ?? new ReadableStream({ start: (c) => c.close() })).pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, out) {
            received += chunk.length;
            hash.update(chunk);
            out.enqueue(chunk);
          },
        }),
      );
      await rc.store.put(key, body, length);
    }
  } catch {
    await rc.store.delete(key).catch(() => {});
    throw registryError(400, 'BLOB_UPLOAD_INVALID', `Chunk refused: received ${received} of the ${length} bytes declared; the upload stays at byte 0`, { offset: 0 });
  }
  if (received !== length) {
    await rc.store.delete(key).catch(() => {});
    throw registryError(400, 'BLOB_UPLOAD_INVALID', `Chunk refused: received ${received} bytes, Content-Length said ${length}`, { offset: 0 });
  }
  const ok = await advanceUpload(rc.platform.db, u.id, 0, { offset: length, parts: [], hashState: rc.hasher.save(u.id, hash), pendingKey: key, s3UploadId: null });
  if (!ok) {
    await rc.store.delete(key).catch(() => {});
    throw registryError(416, 'RANGE_INVALID', `Chunk refused: another chunk for upload "${u.id}" arrived at byte 0 first`);
  }
  return new Response(null, { status: 202, headers: uploadHeaders(name, u.id, length) });
}
