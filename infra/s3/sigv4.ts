// AWS Signature Version 4 as S3 checks it: the Authorization header form and the presigned query
// form. The canonical request is rebuilt from what arrived on the wire, so any client that signs
// per the spec (the AWS SDK, Berth's own presigner, curl --aws-sigv4) is accepted, and nothing else.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { S3Error } from './errors';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
/** Requests may be this far from the server's clock, as on S3. */
const MAX_SKEW_MS = 15 * 60_000;
const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

export interface SignedRequest {
  method: string;
  /** The request target as received: path and query, still percent-encoded. */
  url: string;
  /** Node's rawHeaders: name, value, name, value, … */
  rawHeaders: string[];
}

/** What a verified request was signed with: enough to check the chunk signatures of its body. */
export interface Authentication {
  accessKeyId: string;
  /** x-amz-content-sha256 (a hex hash, UNSIGNED-PAYLOAD or a STREAMING-… mode). */
  payloadHash: string;
  amzDate: string;
  scope: string;
  signingKey: Buffer;
  signature: string;
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

const keyCache = new Map<string, Buffer>();

/** The signing key of a day, region and service (cached: it changes once a day). */
export function deriveSigningKey(secret: string, day: string, region: string, service: string): Buffer {
  const id = `${secret}\n${day}\n${region}\n${service}`;
  let key = keyCache.get(id);
  if (!key) {
    key = hmac(hmac(hmac(hmac(`AWS4${secret}`, day), region), service), 'aws4_request');
    if (keyCache.size > 100) keyCache.clear();
    keyCache.set(id, key);
  }
  return key;
}

/** RFC 3986 encoding as SigV4 wants it: only unreserved characters stay; '/' too in paths. */
export function uriEncode(s: string, keepSlash: boolean): string {
  const encoded = encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return keepSlash ? encoded.replace(/%2F/g, '/') : encoded;
}

function decodeOrRaw(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The path with each segment decoded and re-encoded, so any valid encoding of a key canonicalises alike. */
export function canonicalPath(rawPath: string): string {
  return rawPath
    .split('/')
    .map((seg) => uriEncode(decodeOrRaw(seg), false))
    .join('/');
}

/** The query's pairs, decoded (a `+` is a plus sign, as S3 clients encode a space as %20). */
export function parseRawQuery(rawQuery: string): [string, string][] {
  if (!rawQuery) return [];
  return rawQuery
    .split('&')
    .filter((p) => p !== '')
    .map((p) => {
      const i = p.indexOf('=');
      return i < 0 ? [decodeOrRaw(p), ''] : [decodeOrRaw(p.slice(0, i)), decodeOrRaw(p.slice(i + 1))];
    });
}

function canonicalQuery(pairs: [string, string][]): string {
  return pairs
    .map(([k, v]) => [uriEncode(k, false), uriEncode(v, false)] as const)
    .sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

function headerValues(rawHeaders: string[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    const list = m.get(name) ?? [];
    list.push(rawHeaders[i + 1]!.trim().replace(/\s+/g, ' '));
    m.set(name, list);
  }
  return m;
}

function parseAmzDate(v: string | undefined, what: string): number {
  const m = v && /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(v);
  if (!m) throw new S3Error('AccessDenied', `Request refused: ${what} "${(v ?? '').slice(0, 40)}" is not a date of the form YYYYMMDDTHHMMSSZ`);
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
}

interface SignatureInput {
  accessKeyId: string;
  signedHeaders: string[];
  signature: string;
  amzDate: string;
  payloadHash: string;
  queryPairs: [string, string][];
}

function parseCredential(credential: string, amzDate: string, malformed: string): { accessKeyId: string; scope: string; day: string; region: string; service: string } {
  const parts = credential.split('/');
  if (parts.length !== 5 || parts[4] !== 'aws4_request' || parts[3] !== 's3') {
    throw new S3Error(malformed, `Request refused: the credential "${credential.slice(0, 200)}" is not <key>/<date>/<region>/s3/aws4_request`);
  }
  const [accessKeyId, day, region, service] = parts as [string, string, string, string];
  if (day !== amzDate.slice(0, 8)) {
    throw new S3Error(malformed, `Request refused: the credential's date "${day}" is not the request's date "${amzDate.slice(0, 8)}"`);
  }
  return { accessKeyId, scope: parts.slice(1).join('/'), day, region, service };
}

function check(req: SignedRequest, input: SignatureInput, lookup: (accessKeyId: string) => string | undefined, malformed: string): Authentication {
  const cred = parseCredential(input.accessKeyId, input.amzDate, malformed);
  const secret = lookup(cred.accessKeyId);
  if (secret === undefined) throw new S3Error('InvalidAccessKeyId', `Request refused: the access key "${cred.accessKeyId.slice(0, 100)}" is not known to this server`);
  const headers = headerValues(req.rawHeaders);
  if (!input.signedHeaders.includes('host')) throw new S3Error(malformed, 'Request refused: the host header must be signed');
  const canonicalHeaders = input.signedHeaders.map((h) => `${h}:${(headers.get(h) ?? []).join(',')}\n`).join('');
  const q = req.url.indexOf('?');
  const rawPath = q < 0 ? req.url : req.url.slice(0, q);
  const canonicalRequest = [req.method, canonicalPath(rawPath), canonicalQuery(input.queryPairs), canonicalHeaders, input.signedHeaders.join(';'), input.payloadHash].join('\n');
  const stringToSign = ['AWS4-HMAC-SHA256', input.amzDate, cred.scope, sha256Hex(canonicalRequest)].join('\n');
  const signingKey = deriveSigningKey(secret, cred.day, cred.region, cred.service);
  const expected = createHmac('sha256', signingKey).update(stringToSign).digest('hex');
  if (!safeEqual(expected, input.signature)) {
    throw new S3Error('SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.', {
      AWSAccessKeyId: cred.accessKeyId,
      StringToSign: stringToSign,
      CanonicalRequest: canonicalRequest,
    });
  }
  return { accessKeyId: cred.accessKeyId, payloadHash: input.payloadHash, amzDate: input.amzDate, scope: cred.scope, signingKey, signature: expected };
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Verifies a request signed in its Authorization header or in its query (presigned); throws the
 * S3 error a client expects when it is unsigned, malformed, expired or signed with another key.
 */
export function verifyRequest(req: SignedRequest, lookup: (accessKeyId: string) => string | undefined, now = Date.now()): Authentication {
  const headers = headerValues(req.rawHeaders);
  const authorization = headers.get('authorization')?.[0];
  const q = req.url.indexOf('?');
  const queryPairs = parseRawQuery(q < 0 ? '' : req.url.slice(q + 1));
  const param = (name: string) => queryPairs.find(([k]) => k === name)?.[1];
  const presigned = param('X-Amz-Signature') !== undefined || param('X-Amz-Algorithm') !== undefined;
  // A registry client following a blob redirect to a presigned URL on the same host may carry its
  // registry credentials along (Go clients forward Authorization to the same hostname). S3 itself
  // refuses two auth mechanisms; this server, the target of the local stack's redirects, lets the
  // presigned query decide when the header is not a SigV4 one.
  if (authorization !== undefined && !(presigned && !authorization.startsWith('AWS4-HMAC-SHA256 '))) {
    if (!authorization.startsWith('AWS4-HMAC-SHA256 ')) {
      throw new S3Error('InvalidRequest', 'Request refused: only AWS Signature Version 4 (AWS4-HMAC-SHA256) is supported');
    }
    const fields = Object.fromEntries(
      authorization
        .slice('AWS4-HMAC-SHA256 '.length)
        .split(',')
        .map((f) => f.trim().split('=', 2) as [string, string]),
    );
    if (!fields.Credential || !fields.SignedHeaders || !fields.Signature) {
      throw new S3Error('AuthorizationHeaderMalformed', 'Request refused: the Authorization header needs Credential, SignedHeaders and Signature');
    }
    const payloadHash = headers.get('x-amz-content-sha256')?.[0];
    if (!payloadHash) throw new S3Error('InvalidRequest', 'Request refused: the x-amz-content-sha256 header is missing');
    const amzDate = headers.get('x-amz-date')?.[0];
    const at = parseAmzDate(amzDate, 'x-amz-date');
    if (Math.abs(now - at) > MAX_SKEW_MS) {
      throw new S3Error('RequestTimeTooSkewed', `Request refused: its time ${amzDate} is more than 15 minutes from the server's ${new Date(now).toISOString()}`);
    }
    return check(
      req,
      { accessKeyId: fields.Credential, signedHeaders: fields.SignedHeaders.split(';'), signature: fields.Signature, amzDate: amzDate!, payloadHash, queryPairs },
      lookup,
      'AuthorizationHeaderMalformed',
    );
  }
  if (presigned) {
    const malformed = 'AuthorizationQueryParametersError';
    if (param('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256') throw new S3Error(malformed, 'Request refused: X-Amz-Algorithm must be AWS4-HMAC-SHA256');
    const credential = param('X-Amz-Credential');
    const signedHeaders = param('X-Amz-SignedHeaders');
    const signature = param('X-Amz-Signature');
    const expires = param('X-Amz-Expires');
    if (!credential || !signedHeaders || !signature || !expires) {
      throw new S3Error(malformed, 'Request refused: a presigned URL needs X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders and X-Amz-Signature');
    }
    if (!/^\d+$/.test(expires) || Number(expires) > MAX_PRESIGN_SECONDS) {
      throw new S3Error(malformed, `Request refused: X-Amz-Expires "${expires.slice(0, 20)}" must be a number of seconds up to ${MAX_PRESIGN_SECONDS}`);
    }
    const amzDate = param('X-Amz-Date');
    const at = parseAmzDate(amzDate, 'X-Amz-Date');
    if (now > at + Number(expires) * 1000) throw new S3Error('AccessDenied', `Request refused: the presigned URL expired at ${new Date(at + Number(expires) * 1000).toISOString()}`);
    if (at - now > MAX_SKEW_MS) throw new S3Error('AccessDenied', `Request refused: the presigned URL is not valid before ${new Date(at).toISOString()}`);
    const payloadHash = param('X-Amz-Content-Sha256') ?? headers.get('x-amz-content-sha256')?.[0] ?? UNSIGNED_PAYLOAD;
    return check(
      req,
      {
        accessKeyId: credential,
        signedHeaders: signedHeaders.split(';'),
        signature,
        amzDate: amzDate!,
        payloadHash,
        queryPairs: queryPairs.filter(([k]) => k !== 'X-Amz-Signature'),
      },
      lookup,
      malformed,
    );
  }
  throw new S3Error('AccessDenied', 'Request refused: it is not signed (anonymous access is not allowed)');
}

/** The signature of one aws-chunked chunk, chained from the previous one (the seed is the request's). */
export function chunkSignature(auth: Authentication, previous: string, chunkSha256Hex: string): string {
  const s = ['AWS4-HMAC-SHA256-PAYLOAD', auth.amzDate, auth.scope, previous, EMPTY_SHA256, chunkSha256Hex].join('\n');
  return createHmac('sha256', auth.signingKey).update(s).digest('hex');
}

/** The signature over an aws-chunked body's trailing headers. */
export function trailerSignature(auth: Authentication, previous: string, trailer: string): string {
  const s = ['AWS4-HMAC-SHA256-TRAILER', auth.amzDate, auth.scope, previous, sha256Hex(trailer)].join('\n');
  return createHmac('sha256', auth.signingKey).update(s).digest('hex');
}
