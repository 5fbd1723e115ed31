// A streaming multipart/form-data reader (RFC 7578) in web-standard code. Request.formData() holds
// the whole body in memory; this hands out each part's bytes as they arrive, so a build context
// flows on to S3 and a size limit can stop an upload at the byte that crosses it.
import { badRequest } from '../core/errors';

export interface PartHeaders {
  name: string;
  /** Present for file parts; browsers put a folder file's relative path here. */
  filename?: string;
  contentType?: string;
}

const MAX_HEADER_BYTES = 16 * 1024;
const CRLF = new Uint8Array([13, 10]);
const enc = new TextEncoder();

function indexOf(haystack: Uint8Array, needle: Uint8Array, from = 0): number {
  const first = needle[0]!;
  const last = haystack.length - needle.length;
  for (let i = haystack.indexOf(first, from); i !== -1 && i <= last; i = haystack.indexOf(first, i + 1)) {
    let j = 1;
    while (j < needle.length && haystack[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
  }
  return -1;
}

/** The boundary of a multipart/form-data Content-Type, or a 400 naming what is wrong. */
export function parseBoundary(contentType: string | undefined): string {
  const m = /^multipart\/form-data\s*;(?:.*;)?\s*boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(contentType ?? '');
  const boundary = m?.[1] ?? m?.[2];
  if (!boundary) throw badRequest(`Invalid Content-Type "${contentType ?? ''}": expected multipart/form-data with a boundary`, 'invalid_multipart');
  return boundary;
}

function parseDisposition(value: string): { name?: string; filename?: string } {
  const out: { name?: string; filename?: string } = {};
  for (const m of value.matchAll(/;\s*(name|filename\*?)=(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))/gi)) {
    const key = m[1]!.toLowerCase();
    // The HTML form encoder writes ", CR and LF in names as %22, %0D and %0A; older clients escape with \.
    const raw = (m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '')).replace(/%(22|0D|0A)/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
    if (key === 'name') out.name = raw;
    else if (key === 'filename*') {
      const star = /^utf-8''(.*)$/i.exec(raw);
      if (star) out.filename = decodeURIComponent(star[1]!);
    } else if (out.filename === undefined) out.filename = raw;
  }
  return out;
}

export class MultipartReader {
  private buf = new Uint8Array(0);
  private eof = false;
  private readonly delimiter: Uint8Array;
  private state: 'preamble' | 'headers' | 'body' | 'done' = 'preamble';
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;

  constructor(body: ReadableStream<Uint8Array>, boundary: string) {
    this.reader = body.getReader();
    this.delimiter = enc.encode(`\r\n--${boundary}`);
  }

  private async fill(): Promise<boolean> {
    if (this.eof) return false;
    const { done, value } = await this.reader.read();
    if (done) {
      this.eof = true;
      return false;
    }
    const next = new Uint8Array(this.buf.length + value.length);
    next.set(this.buf);
    next.set(value, this.buf.length);
    this.buf = next;
    return true;
  }

  private truncated(): never {
    throw badRequest('Invalid multipart body: it ended before its closing boundary', 'invalid_multipart');
  }

  /** Moves to the next part, skipping what is left of the current one; undefined after the last. */
  async nextPart(): Promise<PartHeaders | undefined> {
    while (this.state === 'body') await this.readChunk();
    if (this.state === 'preamble') {
      // The first delimiter may open the body without the CRLF before it.
      const opener = this.delimiter.subarray(2);
      let i: number;
      while ((i = indexOf(this.buf, opener)) === -1) {
        if (this.buf.length > MAX_HEADER_BYTES) throw badRequest('Invalid multipart body: no boundary in its first 16 KiB', 'invalid_multipart');
        if (!(await this.fill())) this.truncated();
      }
      this.buf = this.buf.subarray(i + opener.length);
      this.state = 'headers';
      if (!(await this.afterDelimiter())) return undefined;
    }
    if (this.state === 'done') return undefined;
    let end: number;
    while ((end = indexOf(this.buf, enc.encode('\r\n\r\n'))) === -1) {
      if (this.buf.length > MAX_HEADER_BYTES) throw badRequest('Invalid multipart body: a part’s headers exceed 16 KiB', 'invalid_multipart');
      if (!(await this.fill())) this.truncated();
    }
    const text = new TextDecoder().decode(this.buf.subarray(0, end));
    this.buf = this.buf.subarray(end + 4);
    this.state = 'body';
    const headers: Record<string, string> = {};
    for (const line of text.split('\r\n')) {
      const c = line.indexOf(':');
      if (c > 0) headers[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
    }
    const disp = parseDisposition(headers['content-disposition'] ?? '');
    if (!/^form-data\b/i.test(headers['content-disposition'] ?? '') || disp.name === undefined) {
      throw badRequest('Invalid multipart body: a part lacks Content-Disposition: form-data; name="…"', 'invalid_multipart');
    }
    return { name: disp.name, filename: disp.filename, contentType: headers['content-type'] };
  }

  /** After a delimiter: `--` closes the body, CRLF opens a part. */
  private async afterDelimiter(): Promise<boolean> {
    while (this.buf.length < 2) if (!(await this.fill())) this.truncated();
    if (this.buf[0] === 45 && this.buf[1] === 45) {
      this.state = 'done';
      return false;
    }
    // Transport padding (spaces, tabs) may precede the CRLF.
    let i = 0;
    while (true) {
      while (i + 2 > this.buf.length) if (!(await this.fill())) this.truncated();
      if (this.buf[i] === CRLF[0] && this.buf[i + 1] === CRLF[1]) break;
      if (this.buf[i] !== 32 && this.buf[i] !== 9) throw badRequest('Invalid multipart body: junk after a boundary', 'invalid_multipart');
      i++;
    }
    this.buf = this.buf.subarray(i + 2);
    this.state = 'headers';
    return true;
  }

  /** The current part's next bytes; undefined at its end. */
  async readChunk(): Promise<Uint8Array | undefined> {
    if (this.state !== 'body') return undefined;
    while (true) {
      const i = indexOf(this.buf, this.delimiter);
      if (i !== -1) {
        const chunk = this.buf.slice(0, i);
        this.buf = this.buf.subarray(i + this.delimiter.length);
        this.state = 'headers';
        await this.afterDelimiter();
        if (chunk.length > 0) return chunk;
        return undefined;
      }
      // Everything but a tail that could start the delimiter is the part's.
      const safe = this.buf.length - (this.delimiter.length - 1);
      if (safe > 0 && (this.buf.length >= 64 * 1024 || this.eof)) {
        const chunk = this.buf.slice(0, safe);
        this.buf = this.buf.subarray(safe);
        return chunk;
      }
      if (!(await this.fill())) {
        if (safe > 0) continue;
        this.truncated();
      }
    }
  }

  /** The current part as text, refused past maxBytes. */
  async readText(maxBytes: number, what: string): Promise<string> {
    const chunks: Uint8Array[] = [];
    let n = 0;
    for (let c = await this.readChunk(); c; c = await this.readChunk()) {
      n += c.length;
      if (n > maxBytes) throw badRequest(`Invalid ${what}: it exceeds ${maxBytes} bytes`, 'field_too_large');
      chunks.push(c);
    }
    return new TextDecoder().decode(concat(chunks, n));
  }

  /** The current part's bytes, refused past maxBytes. */
  async readBytes(maxBytes: number, onTooLarge: () => Error): Promise<Uint8Array> {
    const chunks: Uint8Array[] = [];
    let n = 0;
    for (let c = await this.readChunk(); c; c = await this.readChunk()) {
      n += c.length;
      if (n > maxBytes) throw onTooLarge();
      chunks.push(c);
    }
    return concat(chunks, n);
  }

  async cancel(reason?: unknown): Promise<void> {
    await this.reader.cancel(reason).catch(() => {});
  }
}

export function concat(chunks: Uint8Array[], total = chunks.reduce((n, c) => n + c.length, 0)): Uint8Array {
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}
