// Berth's S3 server (the process the test stack started) driven by the real AWS SDK and by plain
// fetch: every call the codebase makes, and the errors S3 clients expect.
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { Readable } from 'node:stream';
import { SignatureV4 } from '@smithy/signature-v4';
import { NodeSha256 } from '../support/node-sha256';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { presignGetUrl, presignUrl } from '../../functions/storage/presign';
import { createS3Client, readS3Config, type S3Config } from '../../functions/storage/s3';

let config: S3Config;
let s3: S3Client;
let prefix: string;
const key = (k: string) => `${prefix}/${k}`;

beforeAll(() => {
  config = readS3Config(inject('stack').env);
  s3 = createS3Client(config);
  prefix = `s3-server-test-${randomBytes(4).toString('hex')}`;
});

async function bytesOf(k: string, range?: string): Promise<Buffer> {
  const r = await s3.send(new GetObjectCommand({ Bucket: config.bucket, Key: k, Range: range }));
  return Buffer.from(await r.Body!.transformToByteArray());
}

async function failure(p: Promise<unknown>): Promise<{ name: string; status?: number; message: string }> {
  try {
    await p;
  } catch (err) {
    const e = err as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode, message: e.message };
  }
  throw new Error('expected the call to fail');
}

describe('S3 server', () => {
  it('puts, heads, gets and deletes objects, keeping their content type and metadata', async () => {
    const body = randomBytes(100_000);
    await s3.send(new HeadBucketCommand({ Bucket: config.bucket }));
    await s3.send(new PutObjectCommand({ Bucket: config.bucket, Key: key('a b/c+d'), Body: body, ContentType: 'application/x-test', Metadata: { origin: 'test' } }));
    const head = await s3.send(new HeadObjectCommand({ Bucket: config.bucket, Key: key('a b/c+d') }));
    expect(head.ContentLength).toBe(body.length);
    expect(head.ContentType).toBe('application/x-test');
    expect(head.Metadata).toEqual({ origin: 'test' });
    expect((await bytesOf(key('a b/c+d'))).equals(body)).toBe(true);
    await s3.send(new DeleteObjectCommand({ Bucket: config.bucket, Key: key('a b/c+d') }));
    expect(await failure(s3.send(new GetObjectCommand({ Bucket: config.bucket, Key: key('a b/c+d') })))).toMatchObject({ name: 'NoSuchKey', status: 404 });
    expect(await failure(s3.send(new HeadObjectCommand({ Bucket: config.bucket, Key: key('a b/c+d') })))).toMatchObject({ name: 'NotFound', status: 404 });
  });

  it('streams a body of unknown content (web stream) and takes aws-chunked uploads with a trailing checksum', async () => {
    const body = randomBytes(3 << 20);
    await s3.send(new PutObjectCommand({ Bucket: config.bucket, Key: key('streamed'), Body: new Response(body).body!, ContentLength: body.length }));
    expect((await bytesOf(key('streamed'))).equals(body)).toBe(true);
    // The SDK's defaults: a Node stream body goes aws-chunked with a CRC32 trailer.
    const defaults = new S3Client({ endpoint: config.endpoint, region: config.region, forcePathStyle: true, credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey } });
    await defaults.send(new PutObjectCommand({ Bucket: config.bucket, Key: key('chunked'), Body: Readable.from([body.subarray(0, 1 << 20), body.subarray(1 << 20)]), ContentLength: body.length }));
    expect((await bytesOf(key('chunked'))).equals(body)).toBe(true);
  });

  it('serves byte ranges and refuses unsatisfiable ones with InvalidRange', async () => {
    const body = randomBytes(10_000);
    await s3.send(new PutObjectCommand({ Bucket: config.bucket, Key: key('ranged'), Body: body }));
    expect((await bytesOf(key('ranged'), 'bytes=100-199')).equals(body.subarray(100, 200))).toBe(true);
    expect((await bytesOf(key('ranged'), 'bytes=9990-')).equals(body.subarray(9990))).toBe(true);
    expect((await bytesOf(key('ranged'), 'bytes=-10')).equals(body.subarray(9990))).toBe(true);
    const r = await s3.send(new GetObjectCommand({ Bucket: config.bucket, Key: key('ranged'), Range: 'bytes=0-0' }));
    expect(r.ContentRange).toBe('bytes 0-0/10000');
    await r.Body!.transformToByteArray();
    expect(await failure(s3.send(new GetObjectCommand({ Bucket: config.bucket, Key: key('ranged'), Range: 'bytes=10000-' })))).toMatchObject({ name: 'InvalidRange', status: 416 });
  });

  it('answers presigned URLs fetched with plain fetch, and refuses them tampered or expired', async () => {
    const body = randomBytes(2000);
    const put = await fetch(await presignUrl('PUT', { config, key: key('presigned'), expiresInSeconds: 60 }), { method: 'PUT', body });
    expect(put.status).toBe(200);
    const url = await presignGetUrl({ config, key: key('presigned'), expiresInSeconds: 60 });
    const got = await fetch(url, { headers: { range: 'bytes=10-19' } });
    expect(got.status).toBe(206);
    expect(Buffer.from(await got.arrayBuffer()).equals(body.subarray(10, 20))).toBe(true);
    const tampered = await fetch(url.replace('presigned', 'presigneX'));
    expect(tampered.status).toBe(403);
    expect(await tampered.text()).toContain('<Code>SignatureDoesNotMatch</Code>');
    const expired = await fetch(await presignGetUrl({ config, key: key('presigned'), expiresInSeconds: 1, now: new Date(Date.now() - 10_000) }));
    expect(expired.status).toBe(403);
    expect(await expired.text()).toContain('expired');
    // A registry client following a blob redirect may bring its own credentials along: the query decides.
    const withBearer = await fetch(url, { headers: { authorization: 'Bearer registry-token' } });
    expect(withBearer.status).toBe(200);
    expect(Buffer.from(await withBearer.arrayBuffer()).equals(body)).toBe(true);
    const tamperedWithBearer = await fetch(url.replace('presigned', 'presigneX'), { headers: { authorization: 'Bearer registry-token' } });
    expect(tamperedWithBearer.status).toBe(403);
    // Without a presigned query, only SigV4 headers are taken.
    const bearerOnly = await fetch(`${config.endpoint}/${config.bucket}/${key('presigned')}`, { headers: { authorization: 'Bearer registry-token' } });
    expect(bearerOnly.status).toBe(400);
  });

  it('assembles a multipart upload of 5 MiB parts, lists its parts, and refuses bad part lists', async () => {
    const parts = [randomBytes(5 << 20), randomBytes(5 << 20), randomBytes(1234)];
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: config.bucket, Key: key('multi') }));
    const etags: string[] = [];
    // Out of order, as concurrent part uploads arrive.
    for (const i of [2, 0, 1]) {
      const r = await s3.send(new UploadPartCommand({ Bucket: config.bucket, Key: key('multi'), UploadId, PartNumber: i + 1, Body: parts[i], ContentLength: parts[i]!.length }));
      etags[i] = r.ETag!;
    }
    const listed = await s3.send(new ListPartsCommand({ Bucket: config.bucket, Key: key('multi'), UploadId }));
    expect(listed.Parts?.map((p) => [p.PartNumber, p.Size])).toEqual([
      [1, 5 << 20],
      [2, 5 << 20],
      [3, 1234],
    ]);
    const list = (ns: number[]) => ({ Parts: ns.map((n) => ({ PartNumber: n, ETag: etags[n - 1] })) });
    const complete = (ns: number[]) => s3.send(new CompleteMultipartUploadCommand({ Bucket: config.bucket, Key: key('multi'), UploadId, MultipartUpload: list(ns) }));
    expect(await failure(complete([2, 1, 3]))).toMatchObject({ name: 'InvalidPartOrder' });
    expect(await failure(s3.send(new CompleteMultipartUploadCommand({ Bucket: config.bucket, Key: key('multi'), UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: '"0000"' }] } })))).toMatchObject({
      name: 'InvalidPart',
    });
    await complete([1, 2, 3]);
    const whole = await bytesOf(key('multi'));
    expect(createHash('sha256').update(whole).digest('hex')).toBe(createHash('sha256').update(Buffer.concat(parts)).digest('hex'));
    expect(await failure(s3.send(new ListPartsCommand({ Bucket: config.bucket, Key: key('multi'), UploadId })))).toMatchObject({ name: 'NoSuchUpload', status: 404 });
  });

  it('refuses a part under 5 MiB that is not the last, and aborts an upload', async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: config.bucket, Key: key('small-parts') }));
    const a = await s3.send(new UploadPartCommand({ Bucket: config.bucket, Key: key('small-parts'), UploadId, PartNumber: 1, Body: randomBytes(1000) }));
    const b = await s3.send(new UploadPartCommand({ Bucket: config.bucket, Key: key('small-parts'), UploadId, PartNumber: 2, Body: randomBytes(1000) }));
    const parts = [
      { PartNumber: 1, ETag: a.ETag },
      { PartNumber: 2, ETag: b.ETag },
    ];
    expect(await failure(s3.send(new CompleteMultipartUploadCommand({ Bucket: config.bucket, Key: key('small-parts'), UploadId, MultipartUpload: { Parts: parts } })))).toMatchObject({
      name: 'EntityTooSmall',
    });
    await s3.send(new AbortMultipartUploadCommand({ Bucket: config.bucket, Key: key('small-parts'), UploadId }));
    expect(await failure(s3.send(new UploadPartCommand({ Bucket: config.bucket, Key: key('small-parts'), UploadId, PartNumber: 3, Body: randomBytes(10) })))).toMatchObject({
      name: 'NoSuchUpload',
    });
    expect(await failure(s3.send(new AbortMultipartUploadCommand({ Bucket: config.bucket, Key: key('small-parts'), UploadId })))).toMatchObject({ name: 'NoSuchUpload' });
    expect(await failure(s3.send(new HeadObjectCommand({ Bucket: config.bucket, Key: key('small-parts') })))).toMatchObject({ status: 404 });
  });

  it('lists with prefix, delimiter and continuation tokens, and deletes many at once', async () => {
    const keys = ['d/1', 'd/2', 'd/sub/x', 'd/sub/y', 'd/t/z', 'd/3', 'e/1'].map(key);
    for (const k of keys) await s3.send(new PutObjectCommand({ Bucket: config.bucket, Key: k, Body: k }));
    const seen: string[] = [];
    const prefixes: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const r = await s3.send(new ListObjectsV2Command({ Bucket: config.bucket, Prefix: key('d/'), Delimiter: '/', MaxKeys: 2, ContinuationToken: token }));
      pages++;
      seen.push(...(r.Contents ?? []).map((c) => c.Key!));
      prefixes.push(...(r.CommonPrefixes ?? []).map((p) => p.Prefix!));
      expect(r.KeyCount).toBeLessThanOrEqual(2);
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    expect(seen).toEqual(['d/1', 'd/2', 'd/3'].map(key));
    expect(prefixes).toEqual(['d/sub/', 'd/t/'].map(key));
    expect(pages).toBe(3);
    const flat = await s3.send(new ListObjectsV2Command({ Bucket: config.bucket, Prefix: key('d/sub'), StartAfter: key('d/sub/x') }));
    expect(flat.Contents?.map((c) => [c.Key, c.Size])).toEqual([[key('d/sub/y'), key('d/sub/y').length]]);
    const del = await s3.send(new DeleteObjectsCommand({ Bucket: config.bucket, Delete: { Objects: keys.map((Key) => ({ Key })) } }));
    expect(del.Deleted?.length).toBe(keys.length);
    expect((await s3.send(new ListObjectsV2Command({ Bucket: config.bucket, Prefix: key('d/') }))).KeyCount).toBe(0);
  });

  it('copies an object, leaving the source, and refuses a missing source', async () => {
    const body = randomBytes(6 << 20);
    await s3.send(new PutObjectCommand({ Bucket: config.bucket, Key: key('src'), Body: body }));
    await s3.send(new CopyObjectCommand({ Bucket: config.bucket, Key: key('dst'), CopySource: `${config.bucket}/${key('src')}` }));
    await s3.send(new DeleteObjectCommand({ Bucket: config.bucket, Key: key('src') }));
    expect((await bytesOf(key('dst'))).equals(body)).toBe(true);
    expect(await failure(s3.send(new CopyObjectCommand({ Bucket: config.bucket, Key: key('dst2'), CopySource: `${config.bucket}/${key('src')}` })))).toMatchObject({ name: 'NoSuchKey' });
    // A source outside the buckets is no bucket at all.
    expect(await failure(s3.send(new CopyObjectCommand({ Bucket: config.bucket, Key: key('dst3'), CopySource: `../${config.bucket}/${key('dst')}` })))).toMatchObject({ name: 'NoSuchBucket' });
  });

  it('refuses a wrong secret, an unknown key and an unsigned request', async () => {
    const client = (accessKeyId: string, secretAccessKey: string) => createS3Client({ ...config, accessKeyId, secretAccessKey });
    expect(await failure(client(config.accessKeyId, 'not-the-secret').send(new PutObjectCommand({ Bucket: config.bucket, Key: key('x'), Body: 'x' })))).toMatchObject({
      name: 'SignatureDoesNotMatch',
      status: 403,
    });
    expect(await failure(client('nobody', config.secretAccessKey).send(new GetObjectCommand({ Bucket: config.bucket, Key: key('x') })))).toMatchObject({
      name: 'InvalidAccessKeyId',
      status: 403,
    });
    const anonymous = await fetch(`${config.endpoint}/${config.bucket}/${key('x')}`, { method: 'PUT', body: 'x' });
    expect(anonymous.status).toBe(403);
    expect(await anonymous.text()).toMatch(/<Code>AccessDenied<\/Code>[\s\S]*<RequestId>/);
    expect(await failure(s3.send(new HeadObjectCommand({ Bucket: config.bucket, Key: key('x') })))).toMatchObject({ status: 404 });
  });

  it('refuses a body that does not match its Content-MD5, storing nothing', async () => {
    const res = await fetch(await presignUrl('PUT', { config, key: key('short'), expiresInSeconds: 60 }), {
      method: 'PUT',
      body: 'abc',
      headers: { 'content-md5': createHash('md5').update('abd').digest('base64') },
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('<Code>BadDigest</Code>');
    expect(await failure(s3.send(new HeadObjectCommand({ Bucket: config.bucket, Key: key('short') })))).toMatchObject({ status: 404 });
  });

  it('refuses a chunked body whose signed Content-Length was dropped (as Workers fetch sends a plain stream) with 411, as S3 does', async () => {
    const endpoint = new URL(config.endpoint!);
    const body = randomBytes(300_000);
    const send = async (signedLength: number) => {
      const signer = new SignatureV4({ credentials: config, region: config.region, service: 's3', sha256: NodeSha256, uriEscapePath: false });
      const path = `/${config.bucket}/${key('chunked-transfer')}`;
      const signed = await signer.sign({
        method: 'PUT',
        protocol: 'http:',
        hostname: endpoint.hostname,
        port: Number(endpoint.port),
        path,
        query: {},
        headers: { host: endpoint.host, 'content-length': String(signedLength), 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
      });
      const { 'content-length': _, ...headers } = signed.headers;
      return new Promise<number>((resolve, reject) => {
        const req = request({ host: endpoint.hostname, port: endpoint.port, method: 'PUT', path, headers: { ...headers, 'transfer-encoding': 'chunked' } }, (res) => {
          res.resume();
          resolve(res.statusCode!);
        });
        req.on('error', reject);
        req.write(body.subarray(0, 100_000));
        req.end(body.subarray(100_000));
      });
    };
    expect(await send(body.length)).toBe(411);
    expect(await send(body.length + 1)).toBe(411);
    expect(await failure(s3.send(new HeadObjectCommand({ Bucket: config.bucket, Key: key('chunked-transfer') })))).toMatchObject({ status: 404 });
  });
});
