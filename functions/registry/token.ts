// The registry's bearer tokens: a JWT (HS256 via WebCrypto) naming the subject and, per repository
// the client asked about, the actions granted. Short-lived; the key comes from the environment or is
// generated once and kept in Postgres so every function instance agrees.
import { ensureSetting } from '../../db/queries/settings';
import type { Db } from '../../db/client';
import { newHexId } from '../core/ids';

export type RegistryAction = 'pull' | 'push' | 'delete';

export interface AccessEntry {
  type: 'repository' | 'registry';
  name: string;
  /** Granted actions; an entry with none records that the client asked and got nothing. */
  actions: string[];
}

export interface RegistryClaims {
  iss: 'berth';
  aud: string;
  /** Account id, or '' for an anonymous token. */
  sub: string;
  /** Account name, for logs and the catalog. */
  name: string;
  iat: number;
  exp: number;
  access: AccessEntry[];
}

export const TOKEN_TTL_SECONDS = 900;

const keys = new Map<string, Promise<CryptoKey>>();

function importKey(secret: string): Promise<CryptoKey> {
  let k = keys.get(secret);
  if (!k) {
    k = crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
    keys.set(secret, k);
  }
  return k;
}

let storedSecret: string | undefined;

/** The configured secret, else the one this deployment generated and stored (read once per isolate). */
export async function loadTokenSecret(db: Db, configured: string | undefined): Promise<string> {
  if (configured) return configured;
  storedSecret ??= await ensureSetting(db, 'registry.token-secret', () => newHexId(32));
  return storedSecret;
}

function b64url(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromB64url(s: string): Uint8Array {
  const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(bin, (ch) => ch.charCodeAt(0));
}

const HEADER = b64url(new TextEncoder().encode(JSON.stringify({ alg: 'HS256', typ: 'JWT' })));

export async function signRegistryToken(secret: string, claims: RegistryClaims): Promise<string> {
  const body = `${HEADER}.${b64url(new TextEncoder().encode(JSON.stringify(claims)))}`;
  const sig = await crypto.subtle.sign('HMAC', await importKey(secret), new TextEncoder().encode(body));
  return `${body}.${b64url(new Uint8Array(sig))}`;
}

export function looksLikeRegistryToken(value: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(value);
}

// Tokens whose signature checked out, by their text: a pull presents the same token on every request
// and checking its HMAC again gives the same answer (WebCrypto's HMAC costs ~0.1 ms a request on
// Node). Expiry is still checked each time. Bounded: the oldest entry goes first.
const verified = new Map<string, { secret: string; claims: RegistryClaims }>();
const MAX_VERIFIED = 1024;

function unexpired(claims: RegistryClaims, now: number): RegistryClaims | undefined {
  return claims.exp * 1000 <= now ? undefined : claims;
}

/** The claims of a token this deployment signed and that has not expired; undefined otherwise. */
export async function verifyRegistryToken(secret: string, token: string, now = Date.now()): Promise<RegistryClaims | undefined> {
  const known = verified.get(token);
  if (known && known.secret === secret) return unexpired(known.claims, now);
  const claims = await checkRegistryToken(secret, token);
  if (!claims || !unexpired(claims, now)) return undefined;
  if (verified.size >= MAX_VERIFIED) verified.delete(verified.keys().next().value!);
  verified.set(token, { secret, claims });
  return claims;
}

/** The claims of a well-formed token with this deployment's signature, expired or not. */
async function checkRegistryToken(secret: string, token: string): Promise<RegistryClaims | undefined> {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== HEADER) return undefined;
  let ok = false;
  try {
    ok = await crypto.subtle.verify('HMAC', await importKey(secret), fromB64url(parts[2]!) as Uint8Array<ArrayBuffer>, new TextEncoder().encode(`${parts[0]}.${parts[1]}`));
  } catch {
    return undefined;
  }
  if (!ok) return undefined;
  let claims: RegistryClaims;
  try {
    claims = JSON.parse(new TextDecoder().decode(fromB64url(parts[1]!))) as RegistryClaims;
  } catch {
    return undefined;
  }
  if (claims.iss !== 'berth' || typeof claims.exp !== 'number' || !Array.isArray(claims.access)) return undefined;
  return claims;
}

/** `repository:admin/x:pull,push` → its parts; undefined for what is not a scope Berth knows. */
export function parseScope(scope: string): AccessEntry | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first <= 0 || last <= first) return undefined;
  const type = scope.slice(0, first);
  if (type !== 'repository' && type !== 'registry') return undefined;
  const actions = scope
    .slice(last + 1)
    .split(',')
    .filter(Boolean)
    .flatMap((a) => (a === '*' ? ['pull', 'push', 'delete'] : [a]));
  return { type, name: scope.slice(first + 1, last), actions };
}
