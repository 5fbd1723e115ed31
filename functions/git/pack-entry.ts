// One entry of a packfile: its header (type, size, delta base) and its inflated payload.
import { inflateZlibAt } from './zlib-inflate';
import type { ObjectType } from './object-id';

export const PACK_TYPES: Record<number, ObjectType> = { 1: 'commit', 2: 'tree', 3: 'blob', 4: 'tag' };
export const OFS_DELTA = 6;
export const REF_DELTA = 7;

export interface PackEntry {
  offset: number;
  /** Where the next entry starts. */
  end: number;
  typeCode: number;
  /** The object (or, for a delta, the delta) as inflated. */
  payload: Uint8Array;
  /** OFS_DELTA: the base's offset in the same pack. */
  baseOffset?: number;
  /** REF_DELTA: the base's object id. */
  baseId?: string;
}

/** Reads the entry at `offset`; offsets in the returned entry are relative to `packOffset` + buf. */
export function readPackEntry(buf: Uint8Array, at: number, packOffset = 0, maxObjectBytes = 512 * 1024 * 1024): PackEntry {
  let i = at;
  const byte = () => {
    if (i >= buf.length) throw new Error(`Cannot read the pack entry at offset ${packOffset + at}: the pack is truncated`);
    return buf[i++]!;
  };
  let c = byte();
  const typeCode = (c >> 4) & 7;
  let size = c & 0x0f;
  let shift = 4;
  while (c & 0x80) {
    c = byte();
    size += (c & 0x7f) * 2 ** shift;
    shift += 7;
    if (shift > 53) throw new Error(`Cannot read the pack entry at offset ${packOffset + at}: its size is too large`);
  }
  if (size > maxObjectBytes) throw new Error(`Cannot read the pack entry at offset ${packOffset + at}: ${size} bytes is over the ${maxObjectBytes}-byte object limit`);
  const entry: Omit<PackEntry, 'payload' | 'end'> = { offset: packOffset + at, typeCode };
  if (typeCode === OFS_DELTA) {
    c = byte();
    let rel = c & 0x7f;
    while (c & 0x80) {
      c = byte();
      rel = (rel + 1) * 128 + (c & 0x7f);
    }
    entry.baseOffset = packOffset + at - rel;
    if (rel <= 0 || entry.baseOffset < 12) throw new Error(`Cannot read the pack entry at offset ${packOffset + at}: its delta base offset is out of range`);
  } else if (typeCode === REF_DELTA) {
    if (i + 20 > buf.length) throw new Error(`Cannot read the pack entry at offset ${packOffset + at}: the pack is truncated`);
    let hex = '';
    for (const b of buf.subarray(i, i + 20)) hex += b.toString(16).padStart(2, '0');
    entry.baseId = hex;
    i += 20;
  } else if (!PACK_TYPES[typeCode]) {
    throw new Error(`Cannot read the pack entry at offset ${packOffset + at}: type ${typeCode} is unknown`);
  }
  const { data, end } = inflateZlibAt(buf, i, size);
  return { ...entry, payload: data, end: packOffset + end };
}
