// Blob reads: HEAD and GET, whole or by Range, streamed from S3.
import { linkBlob } from '../../db/queries/registry';
import { findRepositoryBlob } from '../../db/queries/registry-reads';
import { tryParseDigest } from '../core/oci/digest';
import { blobKey } from '../storage/blob-store';
import { presignGetUrl } from '../storage/presign';
import { authorizeRepository } from './auth';
import { blobRedirectFor } from './blob-redirect';
import type { RegistryContext } from './context';
import { registryError } from './errors';
import { LINK_REFRESH_MS } from './gc';
import { unknownRepository } from './repositories';

/** `bytes=a-b`, `bytes=a-` or `bytes=-n` against a blob of `size` → inclusive bounds, or 'invalid'. */
export function parseRange(header: string, size: number): { start: number; end: number } | 'invalid' | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return header.trim().startsWith('bytes=') ? 'invalid' : undefined;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0 || size === 0) return 'invalid';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return 'invalid';
  return { start, end };
}

export async function readBlob(rc: RegistryContext, rawName: string, rawDigest: string, head: boolean): Promise<Response> {
  const name = await authorizeRepository(rc.platform, rc.caller, rawName, ['pull'], rc.origin);
  const digest = tryParseDigest(rawDigest);
  if (!digest) throw registryError(400, 'DIGEST_INVALID', `Invalid digest "${rawDigest.slice(0, 200)}": expected sha256:<64 hex> or sha512:<128 hex>`);
  const found = await findRepositoryBlob(rc.platform.db, name, digest, LINK_REFRESH_MS);
  if (!found) throw unknownRepository(name);
  const blob = found.blob;
  if (!blob) throw registryError(404, 'BLOB_UNKNOWN', `Blob "${digest}" is not known to repository "${name}"`, { digest });
  const headers: Record<string, string> = {
    'Docker-Content-Digest': digest,
    'Content-Type': 'application/octet-stream',
    'Accept-Ranges': 'bytes',
    ETag: `"${digest}"`,
    'Cache-Control': 'max-age=31536000',
  };
  const rangeHeader = rc.c.req.header('range');
  const range = rangeHeader ? parseRange(rangeHeader, blob.size) : undefined;
  if (range === 'invalid') {
    throw registryError(416, 'RANGE_INVALID', `Range "${rangeHeader!.slice(0, 80)}" is not satisfiable for a blob of ${blob.size} bytes`, undefined, {
      'Content-Range': `bytes */${blob.size}`,
    });
  }
  if (head) {
    // A push asks before it references: refreshing the link keeps the blob from the sweeper meanwhile.
    // Only a link older than LINK_REFRESH_MS is written (gc.ts says why that is enough), so the HEADs
    // of a repeated push cost no write.
    if (blob.linkStale) await linkBlob(rc.platform.db, found.repositoryId, digest);
    const length = range ? range.end - range.start + 1 : blob.size;
    if (range) headers['Content-Range'] = `bytes ${range.start}-${range.end}/${blob.size}`;
    return new Response(null, { status: range ? 206 : 200, headers: { ...headers, 'Content-Length': String(length) } });
  }
  const redirect = blobRedirectFor(rc, blob.size);
  if (redirect) {
    // The client fetches from S3 itself (sending its Range there); the bytes skip the functions.
    const url = await presignGetUrl({ config: redirect.s3, key: blobKey(digest), expiresInSeconds: redirect.expiresInSeconds });
    return new Response(null, { status: 307, headers: { Location: url, 'Docker-Content-Digest': digest, 'Content-Length': '0' } });
  }
  const status = range ? 206 : 200;
  if (range) headers['Content-Range'] = `bytes ${range.start}-${range.end}/${blob.size}`;
  const direct = rc.platform.directObjectIo;
  if (direct) {
    const sent = await direct.download(rc.c, blobKey(digest), range, status, headers);
    if (sent) return sent;
    throw registryError(404, 'BLOB_UNKNOWN', `Blob "${digest}" is missing from storage`, { digest });
  }
  const obj = await rc.store.get(blobKey(digest), range);
  if (!obj) throw registryError(404, 'BLOB_UNKNOWN', `Blob "${digest}" is missing from storage`, { digest });
  headers['Content-Length'] = String(obj.contentLength);
  return new Response(obj.body, { status, headers });
}
