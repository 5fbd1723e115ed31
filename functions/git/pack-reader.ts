// Reads a whole packfile: verifies its framing and checksum, resolves every delta (against objects
// in the same pack or, for thin packs, objects an earlier push stored) and names every object.
import { applyDelta } from './delta';
import { hashObject, sha1Hex, type ObjectType } from './object-id';
import { OFS_DELTA, PACK_TYPES, REF_DELTA, readPackEntry, type PackEntry } from './pack-entry';

export interface GitObject {
  id: string;
  type: ObjectType;
  data: Uint8Array;
}

export interface PackedObject extends GitObject {
  offset: number;
  end: number;
}

/** Finds an object outside the pack (a thin pack's delta base); undefined when unknown. */
export type ObjectLookup = (id: string) => Promise<GitObject | undefined>;

export interface PackReadOptions {
  lookup?: ObjectLookup;
  maxObjects?: number;
  /** Largest object (or delta result) accepted, inflated. */
  maxObjectBytes?: number;
  /** Largest sum of inflated entries: a small pack must not inflate into all of memory. */
  maxInflatedBytes?: number;
}

export const DEFAULT_MAX_OBJECT_BYTES = 128 * 1024 * 1024;
export const DEFAULT_MAX_INFLATED_BYTES = 1024 * 1024 * 1024;

export function readPackHeader(buf: Uint8Array): { version: number; count: number } {
  if (buf.length < 32) throw new Error(`Cannot read the pack: ${buf.length} bytes is too short for a packfile`);
  if (buf[0] !== 0x50 || buf[1] !== 0x41 || buf[2] !== 0x43 || buf[3] !== 0x4b) throw new Error('Cannot read the pack: it does not start with "PACK"');
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const version = view.getUint32(4);
  if (version !== 2 && version !== 3) throw new Error(`Cannot read the pack: version ${version} is not supported`);
  return { version, count: view.getUint32(8) };
}

export async function readPack(buf: Uint8Array, options: PackReadOptions = {}): Promise<PackedObject[]> {
  const { count } = readPackHeader(buf);
  const maxObjects = options.maxObjects ?? 1_000_000;
  if (count > maxObjects) throw new Error(`Cannot read the pack: ${count} objects is over the limit of ${maxObjects}`);
  const body = buf.subarray(0, buf.length - 20);
  const trailer = buf.subarray(buf.length - 20);
  const sum = await sha1Hex(body);
  let trailerHex = '';
  for (const b of trailer) trailerHex += b.toString(16).padStart(2, '0');
  if (sum !== trailerHex) throw new Error('Cannot read the pack: its SHA-1 trailer does not match its contents (corrupt or truncated)');

  const maxObjectBytes = options.maxObjectBytes ?? DEFAULT_MAX_OBJECT_BYTES;
  const maxInflated = options.maxInflatedBytes ?? DEFAULT_MAX_INFLATED_BYTES;
  const entries: PackEntry[] = [];
  let at = 12;
  let inflated = 0;
  for (let n = 0; n < count; n++) {
    const entry = readPackEntry(body, at, 0, maxObjectBytes);
    inflated += entry.payload.length;
    if (inflated > maxInflated) throw new Error(`Cannot read the pack: its objects inflate to more than ${maxInflated} bytes`);
    entries.push(entry);
    at = entry.end;
  }
  if (at !== body.length) throw new Error(`Cannot read the pack: ${body.length - at} bytes follow its last object`);
  return resolveEntries(entries, options.lookup, maxObjectBytes, maxInflated);
}

async function resolveEntries(entries: PackEntry[], lookup: ObjectLookup | undefined, maxObjectBytes: number, maxResolved: number): Promise<PackedObject[]> {
  // Deltas are small and their results need not be: bound what resolving them may hold.
  let resolved = 0;
  const byOffset = new Map<number, PackedObject>();
  const byId = new Map<string, GitObject>();
  const external = new Map<string, GitObject>();
  const done = (e: PackEntry, type: ObjectType, data: Uint8Array, id: string) => {
    resolved += data.length;
    if (resolved > maxResolved) throw new Error(`Cannot read the pack: its objects resolve to more than ${maxResolved} bytes`);
    const obj = { id, type, data, offset: e.offset, end: e.end };
    byOffset.set(e.offset, obj);
    byId.set(id, obj);
  };
  let pending = entries;
  while (pending.length > 0) {
    const next: PackEntry[] = [];
    for (const e of pending) {
      const plain = PACK_TYPES[e.typeCode];
      if (plain) {
        done(e, plain, e.payload, await hashObject(plain, e.payload));
        continue;
      }
      const base = e.typeCode === OFS_DELTA ? byOffset.get(e.baseOffset!) : e.typeCode === REF_DELTA ? (byId.get(e.baseId!) ?? external.get(e.baseId!)) : undefined;
      if (!base) {
        next.push(e);
        continue;
      }
      let data: Uint8Array;
      try {
        data = applyDelta(base.data, e.payload, maxObjectBytes);
      } catch (err) {
        throw new Error(`Cannot read the pack entry at offset ${e.offset}: ${(err as Error).message}`);
      }
      done(e, base.type, data, await hashObject(base.type, data));
    }
    if (next.length === pending.length) {
      // No progress: the first missing base must come from outside the pack.
      const missing = next.find((e) => e.typeCode === REF_DELTA && !byId.has(e.baseId!) && !external.has(e.baseId!));
      if (!missing) throw new Error('Cannot read the pack: a delta refers to a base offset that holds no object');
      const found = lookup ? await lookup(missing.baseId!) : undefined;
      if (!found) throw new Error(`Cannot read the pack: delta base ${missing.baseId} is neither in the pack nor in the repository`);
      external.set(missing.baseId!, found);
    }
    pending = next;
  }
  return entries.map((e) => byOffset.get(e.offset)!);
}
