import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { S3Error } from '../../../infra/s3/errors';
import { canonicalPath, chunkSignature, EMPTY_SHA256, sha256Hex, verifyRequest } from '../../../infra/s3/sigv4';
import { presignGetUrl } from '../../../functions/storage/presign';
import { NodeSha256 } from '../../support/node-sha256';

// The AWS documentation's example credentials and time (SigV4 chunked upload example).
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
const lookup = (id: string) => (id === KEY_ID ? SECRET : undefined);
const EXAMPLE_TIME = Date.UTC(2013, 4, 24);

function rawHeaders(h: Record<string, string>): string[] {
  return Object.entries(h).flat();
}

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (err) {
    return err instanceof S3Error ? err.code : `not an S3Error: ${String(err)}`;
  }
  return undefined;
}

describe('verifyRequest', () => {
  const exampleHeaders = {
    Host: 's3.amazonaws.com',
    'x-amz-date': '20130524T000000Z',
    'x-amz-storage-class': 'REDUCED_REDUNDANCY',
    Authorization:
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9',
    'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
    'Content-Encoding': 'aws-chunked',
    'x-amz-decoded-content-length': '66560',
    'Content-Length': '66824',
  };

  it("accepts the AWS documentation's chunked-upload request and chains its chunk signatures as documented", () => {
    const auth = verifyRequest({ method: 'PUT', url: '/examplebucket/chunkObject.txt', rawHeaders: rawHeaders(exampleHeaders) }, lookup, EXAMPLE_TIME);
    expect(auth.signature).toBe('4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9');
    const first = chunkSignature(auth, auth.signature, sha256Hex(Buffer.alloc(65536, 'a')));
    expect(first).toBe('ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648');
    const second = chunkSignature(auth, first, sha256Hex(Buffer.alloc(1024, 'a')));
    expect(second).toBe('0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497');
    expect(chunkSignature(auth, second, EMPTY_SHA256)).toBe('b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9');
  });

  it('refuses a changed header, a wrong secret, an unknown key and a request far from the clock', () => {
    const req = (h: Record<string, string>) => ({ method: 'PUT', url: '/examplebucket/chunkObject.txt', rawHeaders: rawHeaders(h) });
    expect(codeOf(() => verifyRequest(req({ ...exampleHeaders, 'x-amz-storage-class': 'STANDARD' }), lookup, EXAMPLE_TIME))).toBe('SignatureDoesNotMatch');
    expect(codeOf(() => verifyRequest(req(exampleHeaders), () => 'another secret', EXAMPLE_TIME))).toBe('SignatureDoesNotMatch');
    expect(codeOf(() => verifyRequest(req(exampleHeaders), () => undefined, EXAMPLE_TIME))).toBe('InvalidAccessKeyId');
    expect(codeOf(() => verifyRequest(req(exampleHeaders), lookup, EXAMPLE_TIME + 16 * 60_000))).toBe('RequestTimeTooSkewed');
    const { Authorization: _, ...unsigned } = exampleHeaders;
    expect(codeOf(() => verifyRequest(req(unsigned), lookup, EXAMPLE_TIME))).toBe('AccessDenied');
    expect(codeOf(() => verifyRequest(req({ ...exampleHeaders, Authorization: 'AWS AKIAIOSFODNN7EXAMPLE:abc' }), lookup, EXAMPLE_TIME))).toBe('InvalidRequest');
  });

  it('accepts what the SDK signer signs, whatever the key needs escaped', async () => {
    const signer = new SignatureV4({ credentials: { accessKeyId: KEY_ID, secretAccessKey: SECRET }, region: 'eu-west-1', service: 's3', sha256: NodeSha256, uriEscapePath: false, applyChecksum: false });
    const path = `/bkt/${encodeURIComponent("a b/c+d!'()*é").replace(/%2F/g, '/').replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`;
    const signed = await signer.sign({
      method: 'GET',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: 9000,
      path,
      query: { prefix: 'x y', 'list-type': '2' },
      headers: { host: '127.0.0.1:9000', 'x-amz-content-sha256': EMPTY_SHA256 },
    });
    const url = `${path}?prefix=x%20y&list-type=2`;
    const auth = verifyRequest({ method: 'GET', url, rawHeaders: rawHeaders(signed.headers as Record<string, string>) }, lookup);
    expect(auth.accessKeyId).toBe(KEY_ID);
    expect(auth.scope).toMatch(/\/eu-west-1\/s3\/aws4_request$/);
  });

  it("accepts Berth's presigned URLs until they expire", async () => {
    const now = new Date();
    const href = await presignGetUrl({
      config: { endpoint: 'http://127.0.0.1:9000', region: 'us-east-1', bucket: 'bkt', accessKeyId: KEY_ID, secretAccessKey: SECRET, forcePathStyle: true },
      key: 'blobs/sha256/ab',
      expiresInSeconds: 60,
      now,
    });
    const u = new URL(href);
    const req = { method: 'GET', url: u.pathname + u.search, rawHeaders: ['Host', u.host] };
    expect(verifyRequest(req, lookup, now.getTime() + 1000).payloadHash).toBe('UNSIGNED-PAYLOAD');
    expect(codeOf(() => verifyRequest(req, lookup, now.getTime() + 61_000))).toBe('AccessDenied');
    expect(codeOf(() => verifyRequest({ ...req, url: req.url.replace('blobs/sha256/ab', 'blobs/sha256/cd') }, lookup, now.getTime()))).toBe('SignatureDoesNotMatch');
    expect(codeOf(() => verifyRequest({ ...req, method: 'PUT' }, lookup, now.getTime()))).toBe('SignatureDoesNotMatch');
  });
});

describe('canonicalPath', () => {
  it('encodes each segment once, the way SigV4 wants it, whatever encoding arrived', () => {
    expect(canonicalPath('/bkt/a%20b/c')).toBe('/bkt/a%20b/c');
    expect(canonicalPath('/bkt/a b/(x)')).toBe('/bkt/a%20b/%28x%29');
    expect(canonicalPath('/bkt/%7Euser/%E2%82%AC')).toBe('/bkt/~user/%E2%82%AC');
  });
});
