// Inflating one zlib stream inside a larger buffer (a pack entry) and learning where it ends.
// Web DecompressionStream cannot say how many input bytes a stream used, so this drives fflate's
// streaming Inflate and reads its pending input afterwards (fflate 0.8: `p` holds unread bytes,
// `s.p` the bit position inside p[0], `s.f`/`s.l` final-block and mid-block state). The test in
// test/functions/git/zlib-inflate.test.ts pins that behaviour.
import { Inflate } from 'fflate';

interface InflateInternals {
  p: Uint8Array;
  s: { p?: number; f?: number; l?: unknown };
}

/** Inflates the zlib stream at buf[start…]; `expectedSize` bounds the work (a pack header gives it). */
export function inflateZlibAt(buf: Uint8Array, start: number, expectedSize: number): { data: Uint8Array; end: number } {
  if (start + 2 > buf.length) throw new Error('Cannot inflate: the data ends before the zlib header');
  const cmf = buf[start]!;
  const flg = buf[start + 1]!;
  if ((cmf & 0x0f) !== 8 || (cmf * 256 + flg) % 31 !== 0 || flg & 0x20) throw new Error('Cannot inflate: not a zlib stream');
  // Deflate never grows data by more than ~5 bytes per 16 KiB stored block: a longer window is junk.
  const windowEnd = Math.min(buf.length, start + 2 + expectedSize + Math.ceil(expectedSize / 1024) + 64);
  const input = buf.subarray(start + 2, windowEnd);
  const parts: Uint8Array[] = [];
  let total = 0;
  const inflater = new Inflate((chunk) => {
    total += chunk.length;
    if (total > expectedSize) throw new Error(`Cannot inflate: the stream holds more than the ${expectedSize} bytes declared`);
    parts.push(chunk);
  });
  try {
    inflater.push(input, false);
  } catch (err) {
    throw new Error(`Cannot inflate: ${(err as Error).message}`);
  }
  const state = inflater as unknown as InflateInternals;
  if (!state.s.f || state.s.l) throw new Error('Cannot inflate: the zlib stream is truncated');
  const used = input.length - state.p.length + (state.s.p ? 1 : 0);
  const end = start + 2 + used + 4; // Adler-32 trailer
  if (end > buf.length) throw new Error('Cannot inflate: the zlib stream is truncated');
  if (total !== expectedSize) throw new Error(`Cannot inflate: the stream holds ${total} bytes, ${expectedSize} were declared`);
  const data = parts.length === 1 ? parts[0]! : new Uint8Array(total);
  if (parts.length !== 1) {
    let o = 0;
    for (const p of parts) {
      data.set(p, o);
      o += p.length;
    }
  }
  return { data, end };
}
