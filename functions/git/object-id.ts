// Git object ids (SHA-1, 40 hex) and the object format: "<type> <size>\0<content>".
import { toHex } from '../core/hash';

export const ZERO_ID = '0'.repeat(40);

export type ObjectType = 'commit' | 'tree' | 'blob' | 'tag';

export function isObjectId(value: string): boolean {
  return /^[0-9a-f]{40}$/.test(value);
}

export async function hashObject(type: ObjectType, data: Uint8Array): Promise<string> {
  const header = new TextEncoder().encode(`${type} ${data.length}\0`);
  const all = new Uint8Array(header.length + data.length);
  all.set(header);
  all.set(data, header.length);
  return toHex(await crypto.subtle.digest('SHA-1', all));
}

export async function sha1Hex(data: Uint8Array): Promise<string> {
  return toHex(await crypto.subtle.digest('SHA-1', data as Uint8Array<ArrayBuffer>));
}
