// Writes a packfile of whole (undeltified) objects. Git accepts any pack that holds what it asked
// for; deltas would only make it smaller.
import { zlibSync } from 'fflate';
import { sha1Hex } from './object-id';
import { concatBytes } from './pkt-line';
import type { GitObject } from './pack-reader';

const TYPE_CODES = { commit: 1, tree: 2, blob: 3, tag: 4 } as const;

function entryHeader(typeCode: number, size: number): Uint8Array {
  const bytes: number[] = [];
  let c = (typeCode << 4) | (size & 0x0f);
  let rest = Math.floor(size / 16);
  while (rest > 0) {
    bytes.push(c | 0x80);
    c = rest & 0x7f;
    rest = Math.floor(rest / 128);
  }
  bytes.push(c);
  return new Uint8Array(bytes);
}

export async function writePack(objects: GitObject[]): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const head = new Uint8Array(12);
  head.set([0x50, 0x41, 0x43, 0x4b]);
  const view = new DataView(head.buffer);
  view.setUint32(4, 2);
  view.setUint32(8, objects.length);
  parts.push(head);
  for (const o of objects) {
    parts.push(entryHeader(TYPE_CODES[o.type], o.data.length));
    parts.push(zlibSync(o.data, { level: 1 }));
  }
  // Room for the trailing SHA-1 of everything before it.
  const out = concatBytes([...parts, new Uint8Array(20)]);
  const n = out.length;
  out.set(hexToBytes(await sha1Hex(out.subarray(0, n - 20))), n - 20);
  return out;
}

function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}
