// Object operations: PutObject, CopyObject, GetObject (whole or a Range), HeadObject, DeleteObject.
import { receiveToFile } from './body';
import { header, httpDate, isoDate, metadataFromRequest, send, sendXml, type S3Call } from './call';
import { S3Error } from './errors';
import { sendFileRange } from './send-file';
import type { OpenObject } from './object-store';
import { s3Document, xmlElement } from './xml';

export async function putObject(call: S3Call): Promise<void> {
  await call.objects.requireBucket(call.bucket);
  call.objects.dataPath(call.bucket, call.key);
  const temp = call.objects.tempPath();
  await receiveToFile(call, temp);
  const info = await call.objects.commit(temp, call.bucket, call.key, metadataFromRequest(call));
  send(call, 200, { ETag: `"${info.etag}"` });
}

/** `x-amz-copy-source: [/]bucket/key[?versionId=…]`, percent-encoded. */
export function parseCopySource(value: string): { bucket: string; key: string } {
  const path = value.replace(/\?versionId=.*$/, '');
  let decoded: string;
  try {
    decoded = decodeURIComponent(path).replace(/^\//, '');
  } catch {
    throw new S3Error('InvalidArgument', `Copy Source "${value.slice(0, 200)}" is not valid percent-encoding`);
  }
  const i = decoded.indexOf('/');
  if (i <= 0 || i === decoded.length - 1) throw new S3Error('InvalidArgument', `Copy Source "${value.slice(0, 200)}" must be bucket/key`);
  return { bucket: decoded.slice(0, i), key: decoded.slice(i + 1) };
}

export async function copyObject(call: S3Call): Promise<void> {
  const from = parseCopySource(header(call, 'x-amz-copy-source')!);
  await call.objects.requireBucket(from.bucket);
  await call.objects.requireBucket(call.bucket);
  const directive = (header(call, 'x-amz-metadata-directive') ?? 'COPY').toUpperCase();
  if (directive !== 'COPY' && directive !== 'REPLACE') throw new S3Error('InvalidArgument', `Unknown metadata directive "${directive.slice(0, 40)}": expected COPY or REPLACE`);
  const info = await call.objects.copy(from, { bucket: call.bucket, key: call.key }, directive === 'REPLACE' ? metadataFromRequest(call) : undefined);
  sendXml(call, s3Document('CopyObjectResult', [xmlElement('ETag', `"${info.etag}"`), xmlElement('LastModified', isoDate(info.lastModified))]));
}

/** `bytes=a-b`, `bytes=a-`, `bytes=-n` → inclusive bounds; undefined when absent or unparseable (S3 then ignores it). */
export function parseRange(value: string | undefined, size: number): { start: number; end: number } | undefined {
  const m = value && /^bytes=(\d*)-(\d*)$/.exec(value.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) throw invalidRange(size);
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) return undefined;
  }
  if (start >= size) throw invalidRange(size);
  return { start, end };
}

function invalidRange(size: number): S3Error {
  return new S3Error('InvalidRange', 'The requested range is not satisfiable', { ActualObjectSize: String(size) }, { 'Content-Range': `bytes */${size}` });
}

const RESPONSE_OVERRIDES: Record<string, string> = {
  'response-content-type': 'Content-Type',
  'response-content-disposition': 'Content-Disposition',
  'response-content-encoding': 'Content-Encoding',
  'response-content-language': 'Content-Language',
  'response-cache-control': 'Cache-Control',
  'response-expires': 'Expires',
};

function objectHeaders(call: S3Call, obj: OpenObject): Record<string, string | number> {
  const h: Record<string, string | number> = {
    ETag: `"${obj.etag}"`,
    'Last-Modified': httpDate(obj.lastModified),
    'Accept-Ranges': 'bytes',
    'Content-Type': 'binary/octet-stream',
  };
  for (const [name, v] of Object.entries(obj.metadata)) h[name] = v;
  for (const [param, name] of Object.entries(RESPONSE_OVERRIDES)) {
    const v = call.query.get(param);
    if (v !== null) h[name] = v;
  }
  return h;
}

/** 304/412 for If-None-Match/If-Match, as S3 answers them; undefined to go on. */
function preconditions(call: S3Call, obj: OpenObject): number | undefined {
  const etag = `"${obj.etag}"`;
  const matches = (v: string) => v.split(',').some((t) => t.trim() === '*' || t.trim() === etag || t.trim() === obj.etag);
  const ifMatch = header(call, 'if-match');
  if (ifMatch !== undefined && !matches(ifMatch)) return 412;
  const ifNoneMatch = header(call, 'if-none-match');
  if (ifNoneMatch !== undefined && matches(ifNoneMatch)) return 304;
  return undefined;
}

export async function getObject(call: S3Call, head: boolean): Promise<void> {
  await call.objects.requireBucket(call.bucket);
  const obj = await call.objects.open(call.bucket, call.key);
  if (!obj) throw new S3Error('NoSuchKey', 'The specified key does not exist.', { Key: call.key });
  try {
    const headers = objectHeaders(call, obj);
    const failed = preconditions(call, obj);
    if (failed === 412) throw new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: 'If-Match' });
    if (failed === 304) return send(call, 304, { ETag: headers.ETag!, 'Last-Modified': headers['Last-Modified']! });
    const range = parseRange(header(call, 'range'), obj.size);
    const start = range?.start ?? 0;
    const end = range?.end ?? obj.size - 1;
    if (range) headers['Content-Range'] = `bytes ${start}-${end}/${obj.size}`;
    headers['Content-Length'] = end - start + 1;
    call.res.writeHead(range ? 206 : 200, headers);
    if (head || end < start) {
      call.res.end();
      return;
    }
    // A client that goes away mid-body is not an error of ours; a read that fails ends the socket.
    if (await sendFileRange(obj.file, start, end, call.res).catch(() => (call.res.destroy(), false))) call.res.end();
  } finally {
    await obj.file.close().catch(() => {});
  }
}

export async function deleteObject(call: S3Call): Promise<void> {
  await call.objects.requireBucket(call.bucket);
  await call.objects.delete(call.bucket, call.key);
  send(call, 204, {});
}
