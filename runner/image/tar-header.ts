// Tar headers written byte for byte by us, so a layer's bytes depend only on its content: ustar
// headers, a PAX extended header only when a field does not fit (long names, xattrs, big ids or
// sizes), no uname/gname, no atime/ctime. Two builds of the same files give the same digest.

export type TarEntryType = 'file' | 'hardlink' | 'symlink' | 'char' | 'block' | 'directory' | 'fifo';

export interface TarEntry {
  /** Relative path without a leading `./` or `/`; directories without a trailing slash. */
  name: string;
  type: TarEntryType;
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch (integer). */
  mtime: number;
  size?: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** Extended attributes, raw values (e.g. security.capability). */
  xattrs?: Record<string, Uint8Array>;
}

const TYPEFLAG: Record<TarEntryType, string> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  char: '3',
  block: '4',
  directory: '5',
  fifo: '6',
};

export const BLOCK = 512;
const enc = new TextEncoder();

function octal(value: number, width: number): string | undefined {
  const s = Math.trunc(value).toString(8);
  if (s.length > width - 1) return undefined;
  return s.padStart(width - 1, '0');
}

/** Splits a long name into ustar prefix/name at a slash, or undefined when it cannot. */
function splitName(name: Uint8Array): { prefix: Uint8Array; name: Uint8Array } | undefined {
  if (name.length <= 100) return { prefix: new Uint8Array(0), name };
  for (let i = Math.min(name.length - 1, 155); i > 0; i--) {
    if (name[i] !== 0x2f) continue;
    const rest = name.length - i - 1;
    if (rest > 0 && rest <= 100) return { prefix: name.subarray(0, i), name: name.subarray(i + 1) };
    if (rest > 100) return undefined;
  }
  return undefined;
}

function paxRecord(key: string, value: Uint8Array): Uint8Array {
  const body = enc.encode(` ${key}=`);
  const base = body.length + value.length + 1;
  let len = base + String(base).length;
  if (String(len).length !== String(base).length) len = base + String(len).length;
  const head = enc.encode(`${len}`);
  const out = new Uint8Array(len);
  out.set(head, 0);
  out.set(body, head.length);
  out.set(value, head.length + body.length);
  out[len - 1] = 0x0a;
  return out;
}

function writeField(buf: Uint8Array, offset: number, width: number, bytes: Uint8Array): void {
  buf.set(bytes.subarray(0, width), offset);
}

function rawHeader(
  name: Uint8Array,
  prefix: Uint8Array,
  typeflag: string,
  fields: { mode: number; uid: number; gid: number; size: number; mtime: number; linkname: Uint8Array; devmajor: number; devminor: number },
): Uint8Array {
  const h = new Uint8Array(BLOCK);
  writeField(h, 0, 100, name);
  writeField(h, 100, 8, enc.encode(octal(fields.mode & 0o7777, 8)!));
  writeField(h, 108, 8, enc.encode(octal(fields.uid, 8) ?? '0000000'));
  writeField(h, 116, 8, enc.encode(octal(fields.gid, 8) ?? '0000000'));
  writeField(h, 124, 12, enc.encode(octal(fields.size, 12) ?? '00000000000'));
  writeField(h, 136, 12, enc.encode(octal(fields.mtime, 12) ?? '00000000000'));
  h.fill(0x20, 148, 156);
  h[156] = typeflag.charCodeAt(0);
  writeField(h, 157, 100, fields.linkname);
  writeField(h, 257, 6, enc.encode('ustar\0'));
  writeField(h, 263, 2, enc.encode('00'));
  writeField(h, 329, 8, enc.encode(octal(fields.devmajor, 8) ?? '0000000'));
  writeField(h, 337, 8, enc.encode(octal(fields.devminor, 8) ?? '0000000'));
  writeField(h, 345, 155, prefix);
  let sum = 0;
  for (const b of h) sum += b;
  writeField(h, 148, 8, enc.encode(`${sum.toString(8).padStart(6, '0')}\0 `));
  return h;
}

export function paddingFor(size: number): number {
  const r = size % BLOCK;
  return r === 0 ? 0 : BLOCK - r;
}

/** The header block(s) for an entry: a PAX 'x' header first when some field needs it. */
export function encodeTarHeader(e: TarEntry): Uint8Array {
  const isDir = e.type === 'directory';
  const nameBytes = enc.encode(isDir ? `${e.name}/` : e.name);
  const linkBytes = enc.encode(e.linkname ?? '');
  const size = e.type === 'file' ? (e.size ?? 0) : 0;
  const pax: [string, Uint8Array][] = [];
  let split = splitName(nameBytes);
  if (!split) {
    pax.push(['path', nameBytes]);
    split = { prefix: new Uint8Array(0), name: nameBytes.subarray(0, 100) };
  }
  if (linkBytes.length > 100) pax.push(['linkpath', linkBytes]);
  if (octal(e.uid, 8) === undefined) pax.push(['uid', enc.encode(String(e.uid))]);
  if (octal(e.gid, 8) === undefined) pax.push(['gid', enc.encode(String(e.gid))]);
  if (octal(size, 12) === undefined) pax.push(['size', enc.encode(String(size))]);
  for (const key of Object.keys(e.xattrs ?? {}).sort()) pax.push([`SCHILY.xattr.${key}`, e.xattrs![key]!]);
  const main = rawHeader(split.name, split.prefix, TYPEFLAG[e.type], {
    mode: e.mode,
    uid: e.uid,
    gid: e.gid,
    size,
    mtime: Math.max(0, e.mtime),
    linkname: linkBytes,
    devmajor: e.devmajor ?? 0,
    devminor: e.devminor ?? 0,
  });
  if (pax.length === 0) return main;
  const records = pax.map(([k, v]) => paxRecord(k, v));
  const paxSize = records.reduce((n, r) => n + r.length, 0);
  const paxName = enc.encode(`PaxHeaders/${e.name}`).subarray(0, 100);
  const paxHeader = rawHeader(paxName, new Uint8Array(0), 'x', {
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: paxSize,
    mtime: Math.max(0, e.mtime),
    linkname: new Uint8Array(0),
    devmajor: 0,
    devminor: 0,
  });
  const out = new Uint8Array(BLOCK + paxSize + paddingFor(paxSize) + BLOCK);
  out.set(paxHeader, 0);
  let o = BLOCK;
  for (const r of records) {
    out.set(r, o);
    o += r.length;
  }
  out.set(main, BLOCK + paxSize + paddingFor(paxSize));
  return out;
}

/** Two zero blocks end an archive. */
export const TAR_END = new Uint8Array(BLOCK * 2);
