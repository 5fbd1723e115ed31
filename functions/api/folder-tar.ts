// Packs the files of a folder upload into a tar (POSIX ustar, with a PAX record for long or non-ASCII
// paths), so the builder receives one context format whether a folder or an archive was sent.
// Browsers send no modes or times: files are 0644, directories 0755, mtime 0, so the same folder
// gives the same context digest. A file that starts with `#!` is a script meant to run: it gets 0755,
// as it has in the user's folder (`ENTRYPOINT ["/start.sh"]` would otherwise be refused to exec).
import { badRequest } from '../core/errors';

const enc = new TextEncoder();
export const TAR_END = new Uint8Array(1024);

/** A folder file's relative path, normalised; a 400 for absolute, `..`, or empty segments. */
export function parseRelativePath(raw: string): string {
  const p = raw.replace(/^\.\//, '');
  const segments = p.split('/');
  if (p === '' || p.length > 4096 || p.startsWith('/') || p.includes('\\') || p.includes('\0') || segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw badRequest(`Invalid file path "${raw}": send paths relative to the context folder, with "/" between names and no "." or ".." segments`, 'invalid_path');
  }
  return p;
}

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

function header(name: string, size: number, typeflag: string, mode: number): Uint8Array {
  const h = new Uint8Array(512);
  const put = (s: string, off: number, len: number) => h.set(enc.encode(s).subarray(0, len), off);
  put(name, 0, 100);
  put(octal(mode, 8), 100, 8);
  put(octal(0, 8), 108, 8);
  put(octal(0, 8), 116, 8);
  put(octal(size, 12), 124, 12);
  put(octal(0, 12), 136, 12);
  put('        ', 148, 8);
  put(typeflag, 156, 1);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  let sum = 0;
  for (const b of h) sum += b;
  put(octal(sum, 7) + ' ', 148, 8);
  return h;
}

function paxRecord(key: string, value: string): Uint8Array {
  const body = ` ${key}=${value}\n`;
  let len = enc.encode(body).length;
  len += String(len).length;
  if (String(len).length !== String(len - String(len).length).length) len++;
  return enc.encode(`${len}${body}`);
}

/** The header blocks for an entry: a PAX header first when the path does not fit ustar's 100 bytes. */
export function entryHeader(path: string, size: number, kind: 'file' | 'directory' | 'executable'): Uint8Array {
  const name = kind === 'directory' ? `${path}/` : path;
  const typeflag = kind === 'directory' ? '5' : '0';
  const mode = kind === 'file' ? 0o644 : 0o755;
  if (enc.encode(name).length <= 100 && /^[\x20-\x7e]*$/.test(name)) return header(name, size, typeflag, mode);
  const record = paxRecord('path', name);
  const out = new Uint8Array(512 + record.length + padding(record.length).length + 512);
  out.set(header('PaxHeader', record.length, 'x', 0o644), 0);
  out.set(record, 512);
  out.set(header(name.slice(0, 99), size, typeflag, mode), out.length - 512);
  return out;
}

export function padding(size: number): Uint8Array {
  return new Uint8Array((512 - (size % 512)) % 512);
}

/** Directory entries a new file needs before it, given those already written. */
export function parentDirectories(path: string, written: Set<string>): string[] {
  const parts = path.split('/');
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) {
    const dir = parts.slice(0, i).join('/');
    if (!written.has(dir)) {
      written.add(dir);
      out.push(dir);
    }
  }
  return out;
}

/** A folder file's kind for its mode: a script (`#!` first) is executable. */
export function fileKind(bytes: Uint8Array): 'file' | 'executable' {
  return bytes.length >= 2 && bytes[0] === 0x23 && bytes[1] === 0x21 ? 'executable' : 'file';
}
