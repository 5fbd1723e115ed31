// Extended attributes of a whole tree in one process: Node has no xattr API, and one `getfattr -R`
// costs less than a process per file. Paths come back absolute; values as bytes.
import { spawn } from 'node:child_process';

export type XattrMap = Map<string, Record<string, Uint8Array>>;

/** getfattr escapes unprintable bytes in names as \ooo and a backslash as \\. */
function unescapeName(s: string): string {
  if (!s.includes('\\')) return s;
  const bytes: number[] = [];
  const raw = Buffer.from(s, 'utf8');
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === 0x5c && i + 3 < raw.length + 0 && /^[0-7]{3}$/.test(raw.subarray(i + 1, i + 4).toString('latin1'))) {
      bytes.push(parseInt(raw.subarray(i + 1, i + 4).toString('latin1'), 8));
      i += 3;
    } else if (raw[i] === 0x5c && raw[i + 1] === 0x5c) {
      bytes.push(0x5c);
      i += 1;
    } else bytes.push(raw[i]!);
  }
  return Buffer.from(bytes).toString('utf8');
}

function decodeValue(v: string): Uint8Array {
  if (v.startsWith('0x')) return Buffer.from(v.slice(2), 'hex');
  if (v.startsWith('0s')) return Buffer.from(v.slice(2), 'base64');
  if (v.startsWith('"') && v.endsWith('"')) return Buffer.from(v.slice(1, -1), 'utf8');
  return Buffer.from(v, 'utf8');
}

/** Parses `getfattr -d -e hex` output. */
export function parseGetfattrOutput(text: string): XattrMap {
  const out: XattrMap = new Map();
  let current: Record<string, Uint8Array> | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('# file: ')) {
      current = {};
      out.set(unescapeName(line.slice(8)), current);
    } else if (current && line.length > 0 && !line.startsWith('#')) {
      const eq = line.indexOf('=');
      const key = eq < 0 ? line : line.slice(0, eq);
      current[key] = eq < 0 ? new Uint8Array(0) : decodeValue(line.slice(eq + 1));
    }
  }
  return out;
}

/** Every xattr under dir (not following symlinks), keyed by absolute path. */
export async function readTreeXattrs(dir: string): Promise<XattrMap> {
  const child = spawn('getfattr', ['-R', '-P', '-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const chunks: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => chunks.push(c));
  child.stderr.resume();
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  // Exit 1 means some file had none readable (e.g. a dangling symlink); the rest is still valid.
  if (code !== 0 && code !== 1) throw new Error(`Cannot read extended attributes of "${dir}": getfattr exited ${code}`);
  return parseGetfattrOutput(Buffer.concat(chunks).toString('utf8'));
}
