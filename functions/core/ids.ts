// Identifiers: a short prefix naming the kind, then random base32. Containers use 64 hex, as Docker.
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

export function newId(prefix: string, length = 20): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  let out = '';
  for (const b of bytes) out += ALPHABET[b & 31];
  return `${prefix}_${out}`;
}

export function newHexId(bytes = 32): string {
  return [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');
}
