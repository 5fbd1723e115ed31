// A streaming tar reader: ustar, PAX ('x' and 'g', xattrs kept as raw bytes) and GNU long names
// ('L', 'K'), base-256 numbers. Ours rather than tar-stream's because a layer's xattrs
// (security.capability) are binary and must come through byte for byte.
import type { TarEntryType } from './tar-header';

export interface TarReadHeader {
  name: string;
  type: TarEntryType | 'other';
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname: string;
  devmajor: number;
  devminor: number;
  xattrs: Record<string, Uint8Array>;
}

export interface TarReadEntry {
  header: TarReadHeader;
  /** The entry's bytes; must be consumed (or skipped by reading on) before the next entry. */
  body: AsyncGenerator<Buffer>;
}

export class TarFormatError extends Error {
  override name = 'TarFormatError';
}

class ByteReader {
  private buf = Buffer.alloc(0);
  private readonly it: AsyncIterator<Uint8Array>;
  constructor(source: AsyncIterable<Uint8Array>) {
    this.it = source[Symbol.asyncIterator]();
  }
  private async fill(n: number): Promise<boolean> {
    while (this.buf.length < n) {
      const r = await this.it.next();
      if (r.done) return false;
      this.buf = this.buf.length ? Buffer.concat([this.buf, r.value]) : Buffer.from(r.value);
    }
    return true;
  }
  async exact(n: number): Promise<Buffer | undefined> {
    if (!(await this.fill(n))) return undefined;
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }
  async *chunks(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.buf.length === 0 && !(await this.fill(1))) throw new TarFormatError('Cannot read tar: the archive ends inside an entry');
      const take = Math.min(left, this.buf.length);
      const out = this.buf.subarray(0, take);
      this.buf = this.buf.subarray(take);
      left -= take;
      yield out;
    }
  }
  /** Reads to the end of the source: trailing blocks still count toward a layer's diff_id. */
  async drain(): Promise<void> {
    this.buf = Buffer.alloc(0);
    for (;;) if ((await this.it.next()).done) return;
  }
  async skip(n: number): Promise<void> {
    for await (const _ of this.chunks(n)) void _;
  }
}

function str(b: Buffer, off: number, len: number): string {
  const s = b.subarray(off, off + len);
  const z = s.indexOf(0);
  return (z < 0 ? s : s.subarray(0, z)).toString('utf8');
}

function num(b: Buffer, off: number, len: number): number {
  const f = b.subarray(off, off + len);
  if (f[0]! & 0x80) {
    let v = 0;
    for (let i = 1; i < f.length; i++) v = v * 256 + f[i]!;
    return v;
  }
  const s = str(b, off, len).trim();
  return s ? parseInt(s, 8) : 0;
}

function parsePax(data: Buffer, into: Record<string, Buffer>): void {
  let i = 0;
  while (i < data.length) {
    const sp = data.indexOf(0x20, i);
    if (sp < 0) break;
    const len = parseInt(data.subarray(i, sp).toString('ascii'), 10);
    if (!len || i + len > data.length) throw new TarFormatError('Cannot read tar: a PAX record has a bad length');
    const rec = data.subarray(sp + 1, i + len - 1);
    const eq = rec.indexOf(0x3d);
    if (eq > 0) into[rec.subarray(0, eq).toString('utf8')] = rec.subarray(eq + 1);
    i += len;
  }
}

const TYPES: Record<string, TarEntryType> = { '0': 'file', '\0': 'file', '7': 'file', '1': 'hardlink', '2': 'symlink', '3': 'char', '4': 'block', '5': 'directory', '6': 'fifo' };

const pad = (n: number) => (512 - (n % 512)) % 512;

/** Reads entries one by one; each body must be drained before asking for the next. */
export async function* readTar(source: AsyncIterable<Uint8Array>): AsyncGenerator<TarReadEntry> {
  const r = new ByteReader(source);
  let global: Record<string, Buffer> = {};
  let pax: Record<string, Buffer> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  for (;;) {
    const h = await r.exact(512);
    if (!h) return; // some writers omit the end blocks
    if (h.every((b) => b === 0)) return r.drain();
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
    if (sum !== num(h, 148, 8)) throw new TarFormatError('Cannot read tar: a header checksum does not match (not a tar archive, or corrupt)');
    const flag = String.fromCharCode(h[156]!);
    const size = num(h, 124, 12);
    if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
      if (size > 1 << 20) throw new TarFormatError(`Cannot read tar: an extended header of ${size} bytes is too large`);
      const data = size ? await r.exact(size + pad(size)) : Buffer.alloc(0);
      if (!data) throw new TarFormatError('Cannot read tar: the archive ends inside an extended header');
      const body = data.subarray(0, size);
      if (flag === 'x') parsePax(body, pax);
      else if (flag === 'g') parsePax(body, (global = { ...global }));
      else if (flag === 'L') longName = str(body, 0, body.length);
      else longLink = str(body, 0, body.length);
      continue;
    }
    const ext = { ...global, ...pax };
    const prefix = h.subarray(257, 263).toString('latin1').startsWith('ustar') ? str(h, 345, 155) : '';
    let name = ext.path?.toString('utf8') ?? longName ?? (prefix ? `${prefix}/${str(h, 0, 100)}` : str(h, 0, 100));
    const xattrs: Record<string, Uint8Array> = {};
    for (const [k, v] of Object.entries(ext)) if (k.startsWith('SCHILY.xattr.')) xattrs[k.slice(13)] = v;
    const type = TYPES[flag] ?? 'other';
    if (type === 'directory' || name.endsWith('/')) name = name.replace(/\/+$/, '');
    const header: TarReadHeader = {
      name,
      type: name && h[156] === 0x30 && str(h, 0, 100).endsWith('/') ? 'directory' : type,
      mode: num(h, 100, 8),
      uid: ext.uid ? Number(ext.uid.toString()) : num(h, 108, 8),
      gid: ext.gid ? Number(ext.gid.toString()) : num(h, 116, 8),
      size: ext.size ? Number(ext.size.toString()) : size,
      mtime: ext.mtime ? Math.floor(Number(ext.mtime.toString())) : num(h, 136, 12),
      linkname: ext.linkpath?.toString('utf8') ?? longLink ?? str(h, 157, 100),
      devmajor: num(h, 329, 8),
      devminor: num(h, 337, 8),
      xattrs,
    };
    pax = {};
    longName = longLink = undefined;
    const dataSize = header.type === 'file' || header.type === 'other' ? header.size : 0;
    let consumed = false;
    const body = (async function* () {
      consumed = true;
      yield* r.chunks(dataSize);
    })();
    yield { header, body };
    if (!consumed) await r.skip(dataSize);
    else for await (const _ of body) void _; // drain what the consumer left
    await r.skip(pad(dataSize));
  }
}
