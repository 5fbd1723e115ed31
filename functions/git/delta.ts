// Git's delta format: base size, result size (both varints), then copy (from base) and insert ops.

function readSize(delta: Uint8Array, pos: { i: number }): number {
  let size = 0;
  let shift = 0;
  for (;;) {
    if (pos.i >= delta.length) throw new Error('Cannot apply a delta: it ends inside a size');
    const b = delta[pos.i++]!;
    size += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if (!(b & 0x80)) return size;
    if (shift > 49) throw new Error('Cannot apply a delta: a size is too large');
  }
}

/** The object the delta makes from base. Throws on any op that reads or writes out of bounds. */
export function applyDelta(base: Uint8Array, delta: Uint8Array, maxResultBytes = Number.MAX_SAFE_INTEGER): Uint8Array {
  const pos = { i: 0 };
  const baseSize = readSize(delta, pos);
  if (baseSize !== base.length) throw new Error(`Cannot apply a delta: it expects a base of ${baseSize} bytes, the base has ${base.length}`);
  const resultSize = readSize(delta, pos);
  if (resultSize > maxResultBytes) throw new Error(`Cannot apply a delta: its ${resultSize}-byte result is over the ${maxResultBytes}-byte object limit`);
  const out = new Uint8Array(resultSize);
  let o = 0;
  while (pos.i < delta.length) {
    const op = delta[pos.i++]!;
    if (op & 0x80) {
      let offset = 0;
      let size = 0;
      for (let k = 0; k < 4; k++) if (op & (1 << k)) offset |= delta[pos.i++]! << (8 * k);
      for (let k = 0; k < 3; k++) if (op & (0x10 << k)) size |= delta[pos.i++]! << (8 * k);
      offset >>>= 0;
      if (size === 0) size = 0x10000;
      if (pos.i > delta.length || offset + size > base.length || o + size > resultSize) throw new Error('Cannot apply a delta: a copy is out of bounds');
      out.set(base.subarray(offset, offset + size), o);
      o += size;
    } else if (op > 0) {
      if (pos.i + op > delta.length || o + op > resultSize) throw new Error('Cannot apply a delta: an insert is out of bounds');
      out.set(delta.subarray(pos.i, pos.i + op), o);
      pos.i += op;
      o += op;
    } else {
      throw new Error('Cannot apply a delta: opcode 0 is reserved');
    }
  }
  if (o !== resultSize) throw new Error(`Cannot apply a delta: it produced ${o} bytes, not ${resultSize}`);
  return out;
}
