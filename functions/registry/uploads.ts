// Blob uploads: monolithic (POST ?digest=), POST then PUT, chunked PATCH, status, cancel, and
// cross-repository mounts. State lives in the uploads row; bytes go to S3 as multipart parts, and a
// tail too short to be a part waits in a pending object until the next chunk or the end.
import { findLinkedBlob, linkBlob, storeBlob } from '../../db/queries/registry';
import { advanceUpload, createUpload, deleteUpload, findUpload, type Upload } from '../../db/queries/registry-uploads';
import { tryParseDigest, type Digest } from '../core/oci/digest';
import { blobKey } from '../storage/blob-store';
import { authorizeRepository } from './auth';
import { digestFromHash, digestOf, promotion, tooLarge, writeBlobWithDigest } from './blob-writer';
import { afterResponse, type RegistryContext } from './context';
import { registryError } from './errors';
import { abortMultipart } from './part-sink';
import { ensurePushRepository, repositoryOr404 } from './repositories';
import { hashStream } from './upload-hasher';
import { declaredLength, parseContentRange, receive, receiveFirstChunk, uploadHeaders } from './upload-chunks';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function blobCreated(name: string, digest: string): Response {
  return new Response(null, { status: 201, headers: { Location: `/v2/${name}/blobs/${digest}`, 'Docker-Content-Digest': digest, 'Content-Length': '0' } });
}

function parseDigestParam(value: string): Digest {
  const d = tryParseDigest(value);
  if (!d) throw registryError(400, 'DIGEST_INVALID', `Invalid digest "${value.slice(0, 200)}": expected sha256:<64 hex> or sha512:<128 hex>`);
  return d;
}

/** Records and links a blob once S3 holds it, under the blob's lock (see registry-gc). */
async function completeBlob(rc: RegistryContext, repositoryId: string, digest: Digest, size: number, ensureObject?: () => Promise<void>): Promise<void> {
  await storeBlob(rc.platform.db, repositoryId, { digest, size }, ensureObject ?? (() => requireObject(rc, digest)));
}

/** The object written before the lock was taken must still be there (a sweep of an old copy may race). */
async function requireObject(rc: RegistryContext, digest: Digest): Promise<void> {
  if (!(await rc.store.stat(blobKey(digest)))) {
    throw registryError(409, 'BLOB_UPLOAD_INVALID', `Blob "${digest}" was garbage collected while it was uploaded; upload it again`);
  }
}

/** POST /v2/<name>/blobs/uploads/ */
export async function startUpload(rc: RegistryContext, rawName: string): Promise<Response> {
  const name = await authorizeRepository(rc.platform, rc.caller, rawName, ['pull', 'push'], rc.origin);
  const q = rc.c.req.query();
  const repo = await ensurePushRepository(rc, name);
  if (q.mount !== undefined) {
    const digest = tryParseDigest(q.mount);
    if (digest && q.from && (await canPull(rc, q.from))) {
      const fromRepo = await repositoryOr404(rc, q.from).catch(() => undefined);
      const blob = fromRepo && (await findLinkedBlob(rc.platform.db, fromRepo.id, digest));
      if (blob) {
        await linkBlob(rc.platform.db, repo.id, digest);
        return blobCreated(name, digest);
      }
    }
    // Anything else falls back to a plain upload session, as the spec allows.
  } else if (q.digest !== undefined) {
    const digest = parseDigestParam(q.digest);
    const max = declaredLength(rc);
    if (max !== undefined && max > rc.options.maxBlobBytes) tooLarge(rc, 'the declared Content-Length');
    const { size } = await writeBlobWithDigest(rc, rc.c.req.raw.body, digest);
    if (max !== undefined && size !== max) throw registryError(400, 'BLOB_UPLOAD_INVALID', `Blob upload failed: received ${size} bytes, Content-Length said ${max}`);
    await completeBlob(rc, repo.id, digest, size);
    return blobCreated(name, digest);
  }
  const id = crypto.randomUUID();
  await createUpload(rc.platform.db, { id, repositoryId: repo.id, s3Key: `uploads/${id}/data` });
  return new Response(null, { status: 202, headers: uploadHeaders(name, id, 0) });
}

async function canPull(rc: RegistryContext, from: string): Promise<boolean> {
  try {
    await authorizeRepository(rc.platform, rc.caller, from, ['pull'], rc.origin);
    return true;
  } catch {
    return false;
  }
}

async function loadUpload(rc: RegistryContext, name: string, id: string): Promise<Upload> {
  const repo = await repositoryOr404(rc, name);
  const u = UUID.test(id) ? await findUpload(rc.platform.db, id) : undefined;
  if (!u || u.repositoryId !== repo.id) throw registryError(404, 'BLOB_UPLOAD_UNKNOWN', `Upload "${id.slice(0, 80)}" is not known to repository "${name}"`);
  return u;
}

/** PATCH /v2/<name>/blobs/uploads/<id> */
export async function patchUpload(rc: RegistryContext, rawName: string, id: string): Promise<Response> {
  const name = await authorizeRepository(rc.platform, rc.caller, rawName, ['push'], rc.origin);
  const u = await loadUpload(rc, name, id);
  const declared = declaredLength(rc);
  const range = rc.c.req.header('content-range');
  // A first chunk of known length (what docker, skopeo and podman send: the whole blob) streams
  // into one object whatever its size; a later chunk joins it as S3 parts or a held-back tail.
  if (u.offset === 0 && !u.pendingKey && !u.s3UploadId && declared && (range === undefined || parseContentRange(range).start === 0)) {
    if (range !== undefined && parseContentRange(range).end + 1 !== declared) {
      throw registryError(400, 'BLOB_UPLOAD_INVALID', `Chunk refused: Content-Range "${range}" disagrees with Content-Length ${declared}`);
    }
    return receiveFirstChunk(rc, name, u, declared);
  }
  const { sink, hash, offset } = await receive(rc, name, u, false);
  let pendingKey: string | null = null;
  if (sink.bufferedBytes > 0) {
    pendingKey = `uploads/${u.id}/pending-${offset}`;
    const tail = sink.take();
    await rc.store.put(pendingKey, tail, tail.length);
  }
  const ok = await advanceUpload(rc.platform.db, u.id, u.offset, {
    offset,
    parts: sink.parts,
    hashState: hash ? rc.hasher.save(u.id, hash) : null,
    pendingKey,
    s3UploadId: sink.s3UploadId,
  });
  if (!ok) {
    if (sink.createdHere) await sink.abort();
    throw registryError(416, 'RANGE_INVALID', `Chunk refused: another chunk for upload "${u.id}" arrived at byte ${u.offset} first`);
  }
  if (u.pendingKey && u.pendingKey !== pendingKey) await rc.store.delete(u.pendingKey).catch(() => {});
  return new Response(null, { status: 202, headers: uploadHeaders(name, u.id, offset) });
}

/** PUT /v2/<name>/blobs/uploads/<id>?digest= — the last chunk (maybe empty) and the digest. */
export async function finishUpload(rc: RegistryContext, rawName: string, id: string): Promise<Response> {
  const name = await authorizeRepository(rc.platform, rc.caller, rawName, ['push'], rc.origin);
  const u = await loadUpload(rc, name, id);
  const q = rc.c.req.query('digest');
  if (!q) throw registryError(400, 'DIGEST_INVALID', 'Upload not finished: the digest query parameter is missing');
  const digest = parseDigestParam(q);
  // Nothing received yet: the body is the whole blob and may go straight to its key.
  if (u.offset === 0 && !u.pendingKey && !u.s3UploadId) {
    if (rc.c.req.header('content-range')) parseContentRange(rc.c.req.header('content-range')!);
    const { size } = await writeBlobWithDigest(rc, rc.c.req.raw.body, digest);
    return finish(rc, name, u, digest, size);
  }
  if (u.pendingKey && !u.s3UploadId && (declaredLength(rc) ?? 0) === 0 && !rc.c.req.header('transfer-encoding')) {
    // The blob is the one held-back object: check its digest and copy it to its key.
    const pendingKey = u.pendingKey;
    const hash = u.hashState ? rc.hasher.resume(u.id, u.hashState) : undefined;
    const actual = digestFromHash(hash, u.offset, digest) ?? (await rehash(rc, pendingKey, digest));
    if (actual !== digest) {
      await dropUpload(rc, u);
      throw digestMismatch(digest, actual);
    }
    return finish(rc, name, u, digest, u.offset, await promotion(rc, pendingKey, digest, u.offset));
  }
  const { sink, hash, offset } = await receive(rc, name, u, true);
  try {
    if (sink.s3UploadId === null) {
      // Everything is still in memory (under one part): check it and put it at its key.
      const bytes = sink.take();
      const actual = await digestOf(bytes, digest);
      if (actual !== digest) throw digestMismatch(digest, actual);
      return await finish(rc, name, u, digest, offset, async () => {
        if (!(await rc.store.stat(blobKey(digest)))) await rc.store.put(blobKey(digest), bytes, bytes.length);
      });
    }
    const rest = sink.take();
    if (rest.length > 0) await sink.sendPart(rest);
    await sink.complete();
    const actual = digestFromHash(hash, offset, digest) ?? (await rehash(rc, u.s3Key, digest));
    if (actual !== digest) {
      await rc.store.delete(u.s3Key).catch(() => {});
      await dropUpload(rc, u);
      throw digestMismatch(digest, actual);
    }
    return await finish(rc, name, u, digest, offset, await promotion(rc, u.s3Key, digest, offset), [u.s3Key]);
  } catch (err) {
    if (sink.createdHere) await sink.abort();
    throw err;
  }
}

function digestMismatch(expected: Digest, actual: Digest) {
  return registryError(400, 'DIGEST_INVALID', `Upload refused: the content's digest is "${actual}", not "${expected}"`, { expected, actual });
}

async function rehash(rc: RegistryContext, key: string, expected: Digest): Promise<Digest> {
  const obj = await rc.store.get(key);
  if (!obj) throw new Error(`Cannot rehash upload object "${key}": it is missing`);
  return hashStream(rc.hasher, expected.startsWith('sha512:') ? 'sha512' : 'sha256', obj.body);
}

/** Records the blob, then drops the upload; `leftovers` are objects the upload wrote besides its pending one. */
async function finish(rc: RegistryContext, name: string, u: Upload, digest: Digest, size: number, ensureObject?: () => Promise<void>, leftovers: string[] = []): Promise<Response> {
  await completeBlob(rc, u.repositoryId, digest, size, ensureObject);
  await dropUpload(rc, u, leftovers);
  return blobCreated(name, digest);
}

/**
 * Forgets the upload. Its objects are deleted after the response: the row is gone, so nothing reads
 * them, and a delete that fails leaves only bytes under uploads/ (the row's removal already happened).
 */
async function dropUpload(rc: RegistryContext, u: Upload, leftovers: string[] = []): Promise<void> {
  rc.hasher.forget(u.id);
  await deleteUpload(rc.platform.db, u.id);
  const keys = [...(u.pendingKey ? [u.pendingKey] : []), ...leftovers];
  if (keys.length) afterResponse(rc, Promise.all(keys.map((k) => rc.store.delete(k))));
}

/** GET /v2/<name>/blobs/uploads/<id> */
export async function uploadStatus(rc: RegistryContext, rawName: string, id: string): Promise<Response> {
  const name = await authorizeRepository(rc.platform, rc.caller, rawName, ['push'], rc.origin);
  const u = await loadUpload(rc, name, id);
  return new Response(null, { status: 204, headers: uploadHeaders(name, u.id, u.offset) });
}

/** DELETE /v2/<name>/blobs/uploads/<id> */
export async function cancelUpload(rc: RegistryContext, rawName: string, id: string): Promise<Response> {
  const name = await authorizeRepository(rc.platform, rc.caller, rawName, ['push'], rc.origin);
  const u = await loadUpload(rc, name, id);
  await dropUpload(rc, u);
  if (u.s3UploadId) await abortMultipart(rc.store.s3, rc.store.bucket, u.s3Key, u.s3UploadId);
  return new Response(null, { status: 204, headers: { 'Content-Length': '0' } });
}

