// Service and bucket operations: ListBuckets, CreateBucket, HeadBucket, DeleteBucket, ListObjects
// (V2 and V1) and DeleteObjects.
import { rmdir } from 'node:fs/promises';
import { receiveSmall } from './body';
import { header, isoDate, send, sendXml, type S3Call } from './call';
import { S3Error } from './errors';
import { readElements, readText, requireRoot, s3Document, xmlElement } from './xml';

export async function listBuckets(call: S3Call): Promise<void> {
  const buckets = await call.objects.listBuckets();
  sendXml(
    call,
    s3Document('ListAllMyBucketsResult', [
      xmlElement('Owner', [xmlElement('ID', 'berth'), xmlElement('DisplayName', 'berth')]),
      xmlElement(
        'Buckets',
        buckets.map((b) => xmlElement('Bucket', [xmlElement('Name', b.name), xmlElement('CreationDate', isoDate(b.created))])),
      ),
    ]),
  );
}

export async function createBucket(call: S3Call): Promise<void> {
  await call.objects.createBucket(call.bucket);
  send(call, 200, { Location: `/${call.bucket}` });
}

export async function headBucket(call: S3Call): Promise<void> {
  await call.objects.requireBucket(call.bucket);
  send(call, 200, { 'x-amz-bucket-region': 'us-east-1' });
}

export async function deleteBucket(call: S3Call): Promise<void> {
  await call.objects.requireBucket(call.bucket);
  try {
    await rmdir(call.objects.bucketDir(call.bucket));
  } catch {
    throw new S3Error('BucketNotEmpty', 'The bucket you tried to delete is not empty', { BucketName: call.bucket });
  }
  send(call, 204, {});
}

interface Page {
  contents: string[];
  prefixes: string[];
  truncated: boolean;
  /** The last key or common prefix returned, to continue after. */
  last?: { value: string; isPrefix: boolean };
}

function byteGreater(a: string, b: string): boolean {
  return Buffer.compare(Buffer.from(a), Buffer.from(b)) > 0;
}

/** One page of keys under `prefix`, grouped by `delimiter`, after `after` (a key or a common prefix). */
export function paginate(keys: string[], prefix: string, delimiter: string, maxKeys: number, after: { value: string; isPrefix: boolean } | undefined): Page {
  const page: Page = { contents: [], prefixes: [], truncated: false };
  for (const key of keys) {
    if (after && !byteGreater(key, after.value)) continue;
    if (after?.isPrefix && key.startsWith(after.value)) continue;
    const rest = key.slice(prefix.length);
    const i = delimiter ? rest.indexOf(delimiter) : -1;
    const item = i >= 0 ? { value: prefix + rest.slice(0, i + delimiter.length), isPrefix: true } : { value: key, isPrefix: false };
    if (item.isPrefix && page.last?.isPrefix && page.last.value === item.value) continue;
    if (page.contents.length + page.prefixes.length >= maxKeys) {
      page.truncated = true;
      break;
    }
    (item.isPrefix ? page.prefixes : page.contents).push(item.value);
    page.last = item;
  }
  return page;
}

function parseMaxKeys(v: string | null): number {
  if (v === null) return 1000;
  if (!/^\d+$/.test(v)) throw new S3Error('InvalidArgument', `max-keys "${v.slice(0, 20)}" is not a non-negative integer`);
  return Math.min(1000, Number(v));
}

function encodeToken(last: { value: string; isPrefix: boolean }): string {
  return Buffer.from(JSON.stringify(last)).toString('base64url');
}

function decodeToken(token: string): { value: string; isPrefix: boolean } {
  try {
    const t = JSON.parse(Buffer.from(token, 'base64url').toString()) as { value: unknown; isPrefix: unknown };
    if (typeof t.value === 'string' && typeof t.isPrefix === 'boolean') return { value: t.value, isPrefix: t.isPrefix };
  } catch {
    // falls through to the error
  }
  throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect');
}

export async function listObjects(call: S3Call, v2: boolean): Promise<void> {
  await call.objects.requireBucket(call.bucket);
  const q = call.query;
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const maxKeys = parseMaxKeys(q.get('max-keys'));
  const encodingType = q.get('encoding-type');
  if (encodingType !== null && encodingType !== 'url') throw new S3Error('InvalidArgument', `Invalid Encoding Method "${encodingType.slice(0, 20)}": only url is supported`);
  const enc = (s: string) => (encodingType === 'url' ? encodeURIComponent(s).replace(/%2F/g, '/') : s);
  const token = v2 ? q.get('continuation-token') : null;
  const startAfter = v2 ? q.get('start-after') : q.get('marker');
  const after = token !== null ? decodeToken(token) : startAfter ? { value: startAfter, isPrefix: false } : undefined;
  const page = paginate(await call.objects.listKeys(call.bucket, prefix), prefix, delimiter, maxKeys, after);
  const contents: string[] = [];
  for (const key of page.contents) {
    const info = await call.objects.stat(call.bucket, key);
    if (!info) continue; // deleted while listing
    contents.push(
      xmlElement('Contents', [
        xmlElement('Key', enc(key)),
        xmlElement('LastModified', isoDate(info.lastModified)),
        xmlElement('ETag', `"${info.etag}"`),
        xmlElement('Size', info.size),
        xmlElement('StorageClass', 'STANDARD'),
      ]),
    );
  }
  const fields = [
    xmlElement('Name', call.bucket),
    xmlElement('Prefix', enc(prefix)),
    ...(delimiter ? [xmlElement('Delimiter', enc(delimiter))] : []),
    xmlElement('MaxKeys', maxKeys),
    ...(encodingType ? [xmlElement('EncodingType', encodingType)] : []),
    xmlElement('IsTruncated', page.truncated),
  ];
  if (v2) {
    fields.push(xmlElement('KeyCount', contents.length + page.prefixes.length));
    if (token !== null) fields.push(xmlElement('ContinuationToken', token));
    if (startAfter) fields.push(xmlElement('StartAfter', enc(startAfter)));
    if (page.truncated && page.last) fields.push(xmlElement('NextContinuationToken', encodeToken(page.last)));
  } else {
    fields.push(xmlElement('Marker', enc(startAfter ?? '')));
    if (page.truncated && page.last) fields.push(xmlElement('NextMarker', enc(page.last.value)));
  }
  sendXml(call, s3Document('ListBucketResult', [...fields, ...contents, ...page.prefixes.map((p) => xmlElement('CommonPrefixes', [xmlElement('Prefix', enc(p))]))]));
}

export async function deleteObjects(call: S3Call): Promise<void> {
  await call.objects.requireBucket(call.bucket);
  const hasIntegrity = header(call, 'content-md5') !== undefined || Object.keys(call.req.headers).some((h) => h.startsWith('x-amz-checksum-') && h !== 'x-amz-checksum-algorithm');
  if (!hasIntegrity && !/^[0-9a-f]{64}$/.test(call.auth.payloadHash)) {
    throw new S3Error('InvalidRequest', 'Missing required header for this request: Content-MD5 or x-amz-checksum-*');
  }
  const xml = (await receiveSmall(call, 2 << 20)).toString('utf8');
  requireRoot(xml, 'Delete');
  const quiet = readText(xml, 'Quiet') === 'true';
  const objects = readElements(xml, 'Object');
  if (objects.length > 1000) throw new S3Error('MalformedXML', 'The XML you provided was not well-formed or did not validate: more than 1000 objects');
  const results: string[] = [];
  for (const o of objects) {
    const key = readText(o, 'Key');
    if (key === undefined) throw new S3Error('MalformedXML', 'The XML you provided was not well-formed or did not validate: an <Object> has no <Key>');
    try {
      await call.objects.delete(call.bucket, key);
      if (!quiet) results.push(xmlElement('Deleted', [xmlElement('Key', key)]));
    } catch (err) {
      const e = err instanceof S3Error ? err : new S3Error('InternalError', 'We encountered an internal error. Please try again.');
      results.push(xmlElement('Error', [xmlElement('Key', key), xmlElement('Code', e.code), xmlElement('Message', e.message)]));
    }
  }
  sendXml(call, s3Document('DeleteResult', results));
}
