// Unpacks a tar into an empty directory, refusing what a hostile archive would use to escape it:
// `..` components, writes through a symlink, hard links to outside, device nodes. Two flavours:
// 'layer' keeps owners (shifted into the runner's user-namespace range) and turns OCI whiteouts into
// overlayfs ones, so the directory serves as an overlay lower dir; 'context' keeps only contents and
// modes. Symlinks may point anywhere, as in Docker's contexts: whoever reads the tree resolves them
// inside it (root-path.ts), never on the host.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { chmod, lchown, link, lutimes, mkdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { toHostId, type IdMap } from '../sandbox/idmap';
import type { TarReadEntry } from './tar-reader';

export class UnsafeArchiveError extends Error {
  override name = 'UnsafeArchiveError';
}

export interface ExtractOptions {
  flavour: 'layer' | 'context';
  /** Layer flavour: owners become host ids in this range. Omit to keep them as written. */
  idmap?: IdMap;
  /** Refuse archives whose files add up to more bytes than this. */
  maxBytes?: number;
  maxEntries?: number;
  /** What the archive is, for error messages ("layer sha256:…", "build context"). */
  what?: string;
}

export interface ExtractResult {
  bytes: number;
  entries: number;
}

/** Files up to this size are read whole and written while the next entries are read. */
const SMALL_FILE = 1024 * 1024;
const FILES_IN_FLIGHT = 16;

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.on('error', reject);
    c.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} failed: ${err.trim()}`))));
  });
}

/** `./a//b/` → `a/b`; throws on `..`. Absolute names are refused for contexts, re-rooted for layers. */
export function normaliseEntryName(name: string, flavour: ExtractOptions['flavour'], what: string): string {
  if (flavour === 'context' && name.startsWith('/')) throw new UnsafeArchiveError(`Cannot unpack ${what}: entry "${name}" has an absolute path`);
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new UnsafeArchiveError(`Cannot unpack ${what}: entry "${name}" points outside the archive with ".."`);
  return parts.join('/');
}

export async function extractTar(entries: AsyncIterable<TarReadEntry>, dest: string, o: ExtractOptions): Promise<ExtractResult> {
  const what = o.what ?? (o.flavour === 'layer' ? 'layer' : 'build context');
  const kinds = new Map<string, 'directory' | 'file' | 'symlink' | 'other'>([['', 'directory']]);
  const dirs: { abs: string; mode: number; mtime: number }[] = [];
  const owner = (id: number) => (o.flavour === 'layer' && o.idmap ? toHostId(o.idmap, Math.min(id, o.idmap.size - 1)) : o.flavour === 'layer' ? id : 0);
  let bytes = 0;
  let count = 0;
  // Small files are written while the archive reads on: the kernel's work per file dominates an
  // unpack, and a few files in flight keep both the thread pool and the cores busy. Anything that
  // depends on earlier entries (links, replacements, whiteouts, large files) waits for them.
  const inFlight = new Set<Promise<void>>();
  let failed: unknown;
  const settle = async () => {
    await Promise.all(inFlight);
    if (failed !== undefined) throw failed;
  };
  const launch = async (task: () => Promise<void>) => {
    if (inFlight.size >= FILES_IN_FLIGHT) await Promise.race(inFlight);
    if (failed !== undefined) throw failed;
    const p: Promise<void> = task()
      .catch((e: unknown) => {
        failed ??= e;
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  };
  const finishEntry = async (abs: string, h: TarReadEntry['header']) => {
    if (o.flavour === 'layer') {
      await lchown(abs, owner(h.uid), owner(h.gid));
      for (const [k, v] of Object.entries(h.xattrs)) {
        if (k.startsWith('trusted.') || !(k.startsWith('security.') || k.startsWith('user.'))) continue;
        await run('setfattr', ['-h', '-n', k, '-v', `0x${Buffer.from(v).toString('hex')}`, abs]);
      }
    }
    if (h.type === 'file' || h.type === 'fifo') {
      await chmod(abs, h.mode & 0o7777);
      await utimes(abs, h.mtime, h.mtime);
    } else if (h.type === 'symlink') {
      await lutimes(abs, h.mtime, h.mtime).catch(() => {});
    }
  };

  async function ensureParents(rel: string): Promise<void> {
    const parts = rel.split('/');
    let cur = '';
    for (let i = 0; i < parts.length - 1; i++) {
      cur = cur ? `${cur}/${parts[i]}` : parts[i]!;
      const k = kinds.get(cur);
      if (k === 'directory') continue;
      if (k !== undefined) throw new UnsafeArchiveError(`Cannot unpack ${what}: entry "${rel}" would be written through "${cur}", which is not a directory`);
      await mkdir(join(dest, cur));
      if (o.flavour === 'layer') await lchown(join(dest, cur), owner(0), owner(0));
      kinds.set(cur, 'directory');
    }
  }

  for await (const { header: h, body } of entries) {
    count++;
    if (o.maxEntries !== undefined && count > o.maxEntries) throw new UnsafeArchiveError(`Cannot unpack ${what}: more than ${o.maxEntries} entries`);
    const rel = normaliseEntryName(h.name, o.flavour, what);
    if (rel === '') {
      if (h.type === 'directory') continue;
      throw new UnsafeArchiveError(`Cannot unpack ${what}: entry "${h.name}" names the root as a ${h.type}`);
    }
    await ensureParents(rel);
    const abs = join(dest, rel);
    const base = posix.basename(rel);
    const parent = posix.dirname(rel) === '.' ? '' : posix.dirname(rel);
    const existing = kinds.get(rel);

    // OCI whiteouts → overlayfs whiteouts, so the unpacked layer stacks as a lower dir.
    if (o.flavour === 'layer' && base.startsWith('.wh.')) {
      await settle();
      if (base === '.wh..wh..opq') {
        await run('setfattr', ['-h', '-n', 'trusted.overlay.opaque', '-v', 'y', join(dest, parent)]);
      } else {
        const target = parent ? `${parent}/${base.slice(4)}` : base.slice(4);
        if (kinds.has(target)) await rm(join(dest, target), { recursive: true, force: true });
        await run('mknod', [join(dest, target), 'c', '0', '0']);
        await lchown(join(dest, target), owner(0), owner(0));
        kinds.set(target, 'other');
      }
      continue;
    }

    if (existing !== undefined && !(existing === 'directory' && h.type === 'directory')) {
      await settle();
      await rm(abs, { recursive: true, force: true });
      for (const k of [...kinds.keys()]) if (k.startsWith(`${rel}/`)) kinds.delete(k);
      kinds.delete(rel);
    }

    switch (h.type) {
      case 'directory':
        if (existing !== 'directory') await mkdir(abs);
        kinds.set(rel, 'directory');
        dirs.push({ abs, mode: h.mode & 0o7777, mtime: h.mtime });
        break;
      case 'file': {
        bytes += h.size;
        if (o.maxBytes !== undefined && bytes > o.maxBytes) throw new UnsafeArchiveError(`Cannot unpack ${what}: its files exceed ${o.maxBytes} bytes`);
        kinds.set(rel, 'file');
        if (h.size <= SMALL_FILE) {
          const chunks: Buffer[] = [];
          for await (const c of body) chunks.push(c);
          const data = Buffer.concat(chunks);
          await launch(async () => {
            await writeFile(abs, data, { flag: 'wx', mode: 0o600 });
            await finishEntry(abs, h);
          });
          continue;
        }
        await settle();
        await pipeline(Readable.from(body), createWriteStream(abs, { flags: 'wx', mode: 0o600 }));
        break;
      }
      case 'hardlink': {
        const target = normaliseEntryName(h.linkname, o.flavour, what);
        if (kinds.get(target) !== 'file') throw new UnsafeArchiveError(`Cannot unpack ${what}: hard link "${rel}" points at "${h.linkname}", which is not a file earlier in the archive`);
        await settle();
        await link(join(dest, target), abs);
        kinds.set(rel, 'file');
        continue; // shares the target's metadata
      }
      case 'symlink':
        await symlink(h.linkname, abs);
        kinds.set(rel, 'symlink');
        break;
      case 'fifo':
        if (o.flavour === 'context') throw new UnsafeArchiveError(`Cannot unpack ${what}: entry "${rel}" is a FIFO`);
        await run('mkfifo', [abs]);
        kinds.set(rel, 'other');
        break;
      default:
        throw new UnsafeArchiveError(`Cannot unpack ${what}: entry "${rel}" is a ${h.type === 'other' ? 'special file' : `${h.type} device`}, which is not allowed`);
    }

    await finishEntry(abs, h);
  }
  await settle();

  // Directories last, deepest first: a read-only directory must not stop its children being written.
  for (const d of dirs.reverse()) {
    await chmod(d.abs, d.mode);
    await utimes(d.abs, d.mtime, d.mtime);
  }
  return { bytes, entries: count };
}
