// Content digests as the OCI image spec defines them: `<algorithm>:<encoded>`.
import { toHex } from '../hash';

declare const digestBrand: unique symbol;
/** A validated digest string. Produced only by parseDigest, tryParseDigest and computeDigest. */
export type Digest = string & { readonly [digestBrand]: true };

export type DigestAlgorithm = 'sha256' | 'sha512';

const ENCODED: Record<DigestAlgorithm, RegExp> = {
  sha256: /^[a-f0-9]{64}$/,
  sha512: /^[a-f0-9]{128}$/,
};

export class DigestError extends Error {
  override name = 'DigestError';
}

export function tryParseDigest(value: string): Digest | undefined {
  const i = value.indexOf(':');
  if (i <= 0) return undefined;
  const alg = value.slice(0, i) as DigestAlgorithm;
  const re = ENCODED[alg];
  if (!re || !re.test(value.slice(i + 1))) return undefined;
  return value as Digest;
}

export function parseDigest(value: string): Digest {
  const d = tryParseDigest(value);
  if (!d) {
    throw new DigestError(`Invalid digest "${value}": expected sha256:<64 hex> or sha512:<128 hex>`);
  }
  return d;
}

export function digestAlgorithm(d: Digest): DigestAlgorithm {
  return d.slice(0, d.indexOf(':')) as DigestAlgorithm;
}

export function digestHex(d: Digest): string {
  return d.slice(d.indexOf(':') + 1);
}

export async function computeDigest(data: Uint8Array | string, algorithm: DigestAlgorithm = 'sha256'): Promise<Digest> {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  const name = algorithm === 'sha256' ? 'SHA-256' : 'SHA-512';
  return `${algorithm}:${toHex(await crypto.subtle.digest(name, bytes as Uint8Array<ArrayBuffer>))}` as Digest;
}

/** For hex a hasher computed (e.g. node:crypto on the runner): the one other way to make a Digest. */
export function digestFromHex(algorithm: DigestAlgorithm, hex: string): Digest {
  return parseDigest(`${algorithm}:${hex}`);
}
