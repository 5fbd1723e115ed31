// Presigned S3 URLs (AWS Signature Version 4, query-string form) with WebCrypto, so blob reads can
// redirect a client to S3 instead of streaming through the functions, and the Node entry can stream
// bytes to and from S3 over plain HTTP without signing each request's headers.
import { toHex } from '../core/hash';
import type { S3Config } from './s3';

const enc = new TextEncoder();

async function hmac(key: Uint8Array | string, data: string): Promise<Uint8Array> {
  const raw = typeof key === 'string' ? enc.encode(key) : key;
  const k = await crypto.subtle.importKey('raw', raw as Uint8Array<ArrayBuffer>, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return new Uint8Array(await crypto.subtle.sign('HMAC', k, enc.encode(data)));
}

// The signing key depends only on the secret, the day and the region: derived once a day, not for
// every URL (that was four of the six HMACs a presigned blob redirect cost).
const signingKeys = new Map<string, Promise<CryptoKey>>();

async function deriveSigningKey(secret: string, day: string, region: string): Promise<CryptoKey> {
  let key = await hmac(`AWS4${secret}`, day);
  for (const part of [region, 's3', 'aws4_request']) key = await hmac(key, part);
  return crypto.subtle.importKey('raw', key as Uint8Array<ArrayBuffer>, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
}

function signingKey(secret: string, day: string, region: string): Promise<CryptoKey> {
  const id = `${day}/${region}/${secret}`;
  let key = signingKeys.get(id);
  if (!key) {
    // Bounded: yesterday's keys go once a few days' worth piled up.
    if (signingKeys.size >= 8) signingKeys.clear();
    key = deriveSigningKey(secret, day, region);
    key.catch(() => signingKeys.delete(id));
    signingKeys.set(id, key);
  }
  return key;
}

async function sha256Hex(data: string): Promise<string> {
  return toHex(await crypto.subtle.digest('SHA-256', enc.encode(data)));
}

/** RFC 3986 encoding as SigV4 wants it; slashes kept in paths. */
function uriEncode(s: string, keepSlash: boolean): string {
  return [...enc.encode(s)]
    .map((b) => {
      const c = String.fromCharCode(b);
      if (/[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === '/')) return c;
      return `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
    })
    .join('');
}

export interface PresignInput {
  config: Pick<S3Config, 'endpoint' | 'region' | 'bucket' | 'accessKeyId' | 'secretAccessKey' | 'forcePathStyle'>;
  key: string;
  expiresInSeconds: number;
  now?: Date;
}

/** A URL that GETs `key` without other credentials until it expires. */
export function presignGetUrl(p: PresignInput): Promise<string> {
  return presignUrl('GET', p);
}

/** A URL for `method` on `key` (a PUT's body is unsigned: its length and digest are checked apart). */
export async function presignUrl(method: 'GET' | 'PUT', p: PresignInput): Promise<string> {
  const { config } = p;
  const base = new URL(config.endpoint ?? `https://s3.${config.region}.amazonaws.com`);
  let host = base.host;
  let path = `/${uriEncode(p.key, true)}`;
  if (config.forcePathStyle) path = `${base.pathname.replace(/\/$/, '')}/${uriEncode(config.bucket, false)}${path}`;
  else host = `${config.bucket}.${host}`;
  const now = p.now ?? new Date();
  const amzDate = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const scope = `${day}/${config.region}/s3/aws4_request`;
  const query: [string, string][] = [
    ['X-Amz-Algorithm', 'AWS4-HMAC-SHA256'],
    ['X-Amz-Credential', `${config.accessKeyId}/${scope}`],
    ['X-Amz-Date', amzDate],
    ['X-Amz-Expires', String(p.expiresInSeconds)],
    ['X-Amz-SignedHeaders', 'host'],
  ];
  const canonicalQuery = query
    .map(([k, v]) => [uriEncode(k, false), uriEncode(v, false)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const canonicalRequest = [method, path, canonicalQuery, `host:${host}\n`, 'host', 'UNSIGNED-PAYLOAD'].join('\n');
  const [requestHash, key] = await Promise.all([sha256Hex(canonicalRequest), signingKey(config.secretAccessKey, day, config.region)]);
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, requestHash].join('\n');
  const signature = toHex(new Uint8Array(await crypto.subtle.sign('HMAC', key, enc.encode(stringToSign))));
  return `${base.protocol}//${host}${path}?${canonicalQuery}&X-Amz-Signature=${signature}`;
}
