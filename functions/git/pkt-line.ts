// git's pkt-line framing: four hex digits of length (including themselves), then the payload.
// 0000 flush, 0001 delimiter (protocol v2), 0002 response end.
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The largest pkt-line git sends or accepts: 65520 bytes including the length. */
export const MAX_PKT_LENGTH = 65520;

export const FLUSH_PKT = encoder.encode('0000');
export const DELIM_PKT = encoder.encode('0001');

export type PktLine = { kind: 'data'; data: Uint8Array } | { kind: 'flush' } | { kind: 'delim' } | { kind: 'response-end' };

export function encodePktLine(payload: string | Uint8Array): Uint8Array<ArrayBuffer> {
  const data = typeof payload === 'string' ? encoder.encode(payload) : payload;
  const length = data.length + 4;
  if (length > MAX_PKT_LENGTH) throw new Error(`Cannot frame a pkt-line of ${data.length} bytes: the limit is ${MAX_PKT_LENGTH - 4}`);
  const out = new Uint8Array(length);
  out.set(encoder.encode(length.toString(16).padStart(4, '0')));
  out.set(data, 4);
  return out;
}

/** Reads pkt-lines from a buffer; `offset` is where the next one (or raw data such as a pack) starts. */
export class PktReader {
  offset: number;

  constructor(
    readonly buf: Uint8Array,
    offset = 0,
  ) {
    this.offset = offset;
  }

  /** The next pkt-line, or undefined at the end of the buffer. Throws on a malformed length. */
  next(): PktLine | undefined {
    if (this.offset >= this.buf.length) return undefined;
    if (this.offset + 4 > this.buf.length) throw new Error('Cannot read a pkt-line: the request ends inside a length prefix');
    const head = decoder.decode(this.buf.subarray(this.offset, this.offset + 4));
    if (!/^[0-9a-f]{4}$/i.test(head)) throw new Error(`Cannot read a pkt-line: "${head}" is not a hexadecimal length`);
    const length = parseInt(head, 16);
    if (length === 0 || length === 1 || length === 2) {
      this.offset += 4;
      return { kind: length === 0 ? 'flush' : length === 1 ? 'delim' : 'response-end' };
    }
    if (length < 4) throw new Error(`Cannot read a pkt-line: length ${length} is invalid`);
    if (this.offset + length > this.buf.length) throw new Error('Cannot read a pkt-line: the request ends inside a line');
    const data = this.buf.subarray(this.offset + 4, this.offset + length);
    this.offset += length;
    return { kind: 'data', data };
  }

  /** The text lines up to the next flush (or delimiter), without their trailing newline. */
  readSection(): { lines: string[]; end: 'flush' | 'delim' | 'response-end' | 'eof' } {
    const lines: string[] = [];
    for (;;) {
      const pkt = this.next();
      if (!pkt) return { lines, end: 'eof' };
      if (pkt.kind !== 'data') return { lines, end: pkt.kind };
      lines.push(decodePktText(pkt.data));
    }
  }
}

export function decodePktText(data: Uint8Array): string {
  const text = decoder.decode(data);
  return text.endsWith('\n') ? text.slice(0, -1) : text;
}

/** Side-band-64k: a band byte (1 data, 2 progress, 3 fatal) before each payload, in pieces that fit. */
export function encodeSideband(band: 1 | 2 | 3, payload: string | Uint8Array): Uint8Array[] {
  const data = typeof payload === 'string' ? encoder.encode(payload) : payload;
  const max = MAX_PKT_LENGTH - 5;
  const out: Uint8Array[] = [];
  for (let i = 0; i < data.length || (i === 0 && data.length === 0); i += max) {
    const piece = data.subarray(i, i + max);
    const framed = new Uint8Array(piece.length + 1);
    framed[0] = band;
    framed.set(piece, 1);
    out.push(encodePktLine(framed));
    if (data.length === 0) break;
  }
  return out;
}

export function concatBytes(parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
