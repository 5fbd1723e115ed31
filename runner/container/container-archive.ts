// `docker cp CTR:/path -`: a path of a container's root filesystem (its overlay mount on this runner)
// as a tar stream, and its stat. The container may be running and hostile: it can swap a directory
// for a symlink at any moment. So nothing is opened by a path string under the root: every step opens
// one name relative to an already-open directory (through /proc/self/fd/<fd>/<name>, the openat of
// Node) with O_NOFOLLOW, and a symlink met on the way is resolved by hand against the container's root,
// never above it. Owners are shown as the container sees them (the user namespace's shift undone).
import { constants } from 'node:fs';
import { lstat, open, readdir, readlink, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pack as createPack, type Header } from 'tar-stream';
import { toContainerId, type IdMap } from '../sandbox/idmap';

const MAX_LINKS = 40;
const MODE_DIR = 2 ** 31;
const MODE_SYMLINK = 2 ** 27;

/** Docker's X-Docker-Container-Path-Stat: mode carries Go's os.FileMode type bits. */
export interface PathStat {
  name: string;
  size: number;
  mode: number;
  mtime: string;
  linkTarget: string;
}

export class PathNotFound extends Error {}

const at = (dir: FileHandle, name: string) => `/proc/self/fd/${dir.fd}/${name}`;

function openDir(path: string): Promise<FileHandle> {
  return open(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
}

/**
 * The open parent directory of a container path and the last name in it (symlinks before it
 * followed inside the root; the last one is not). '' as the name means the root itself.
 */
export async function resolveInRoot(rootfs: string, path: string): Promise<{ dir: FileHandle; name: string }> {
  if (!path.startsWith('/')) path = `/${path}`;
  let dir = await openDir(rootfs);
  const stack: string[] = [];
  let pending = path.split('/').filter((p) => p !== '' && p !== '.');
  let links = 0;
  const restart = async () => {
    await dir.close();
    dir = await openDir(rootfs);
    stack.length = 0;
  };
  try {
    while (pending.length > 1) {
      const name = pending.shift()!;
      if (name === '..') {
        // Walk back up from the root by the names taken; never above it.
        const keep = stack.slice(0, -1);
        pending = [...keep, ...pending];
        await restart();
        continue;
      }
      const st = await lstat(at(dir, name)).catch(() => undefined);
      if (!st) throw new PathNotFound(`Could not find the file ${path}: "${[...stack, name].join('/')}" does not exist`);
      if (st.isSymbolicLink()) {
        if (++links > MAX_LINKS) throw new PathNotFound(`Could not find the file ${path}: too many symlinks`);
        const target = await readlink(at(dir, name));
        const parts = target.split('/').filter((p) => p !== '' && p !== '.');
        if (target.startsWith('/')) {
          pending = [...parts, ...pending];
          await restart();
        } else {
          pending = [...parts, ...pending];
        }
        continue;
      }
      if (!st.isDirectory()) throw new PathNotFound(`Could not find the file ${path}: "${[...stack, name].join('/')}" is not a directory`);
      const next = await openDir(at(dir, name));
      await dir.close();
      dir = next;
      stack.push(name);
    }
    const last = pending[0] ?? '';
    if (last === '..') {
      // `/a/..`: the parent of what was walked, named by its own last component.
      const up = stack.slice(0, -1);
      await dir.close();
      return up.length === 0 ? { dir: await openDir(rootfs), name: '' } : resolveInRoot(rootfs, `/${up.join('/')}`);
    }
    return { dir, name: last };
  } catch (e) {
    await dir.close().catch(() => {});
    throw e;
  }
}

function modeBits(st: { mode: number; isDirectory(): boolean; isSymbolicLink(): boolean }): number {
  return (st.mode & 0o7777) + (st.isDirectory() ? MODE_DIR : 0) + (st.isSymbolicLink() ? MODE_SYMLINK : 0);
}

export async function statInRoot(rootfs: string, path: string): Promise<PathStat> {
  const { dir, name } = await resolveInRoot(rootfs, path);
  try {
    const target = name === '' ? `/proc/self/fd/${dir.fd}` : at(dir, name);
    const st = await (name === '' ? dir.stat() : lstat(target)).catch(() => undefined);
    if (!st) throw new PathNotFound(`Could not find the file ${path} in container`);
    return { name: name || '/', size: st.size, mode: modeBits(st), mtime: st.mtime.toISOString(), linkTarget: st.isSymbolicLink() ? await readlink(target) : '' };
  } finally {
    await dir.close();
  }
}

/** The path as a tar stream rooted at its base name (a directory with everything below it). */
export async function archiveFromRoot(rootfs: string, path: string, idmap: IdMap): Promise<{ stat: PathStat; tar: Readable }> {
  const stat = await statInRoot(rootfs, path);
  const { dir, name } = await resolveInRoot(rootfs, path);
  const tar = createPack();
  const out = Readable.from(tar);
  // A client that goes away mid-copy: every wait below ends, so the walk stops and closes its fds.
  let gone = false;
  const closed = new Promise<never>((_, reject) => out.once('close', () => {
    gone = true;
    tar.destroy();
    reject(new Error('the copy was abandoned'));
  }));
  closed.catch(() => {});
  const until = <T>(p: Promise<T>) => Promise.race([p, closed]);
  const entry = (h: Partial<Header> & { name: string }, body?: Buffer) => until(new Promise<void>((resolve, reject) => (body ? tar.entry(h, body, (e) => (e ? reject(e) : resolve())) : tar.entry(h, (e) => (e ? reject(e) : resolve())))));
  const owner = (st: { uid: number; gid: number }) => ({ uid: toContainerId(idmap, st.uid), gid: toContainerId(idmap, st.gid) });
  const walk = async (parent: FileHandle, entryName: string, tarName: string): Promise<void> => {
    if (gone) return;
    // '' is the open directory itself (the container's root): its fd, not the magic link to it.
    const self = entryName === '';
    const p = self ? `/proc/self/fd/${parent.fd}` : at(parent, entryName);
    const st = await (self ? parent.stat() : lstat(p)).catch(() => undefined);
    if (!st) return; // gone while we walked
    const base = { name: tarName, mode: st.mode & 0o7777, mtime: st.mtime, ...owner(st) };
    if (st.isSymbolicLink()) return entry({ ...base, type: 'symlink', linkname: await readlink(p) });
    if (st.isDirectory()) {
      const d = self ? parent : await openDir(p);
      try {
        await entry({ ...base, name: `${tarName}/`, type: 'directory' });
        for (const child of (await readdir(`/proc/self/fd/${d.fd}`)).sort()) await walk(d, child, `${tarName}/${child}`);
      } finally {
        if (!self) await d.close();
      }
      return;
    }
    if (!st.isFile()) return; // devices, FIFOs and sockets are not copied
    const f = await open(p, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    try {
      const fst = await f.stat();
      if (!fst.isFile()) return;
      // A stream entry needs its size up front: the file as it is now, cut or padded to it.
      const size = fst.size;
      let stream!: ReturnType<typeof tar.entry>;
      const done = new Promise<void>((resolve, reject) => {
        stream = tar.entry({ ...base, type: 'file', size }, (e) => (e ? reject(e) : resolve()));
      });
      let sent = 0;
      const buf = Buffer.alloc(64 * 1024);
      while (sent < size) {
        const { bytesRead } = await f.read(buf, 0, Math.min(buf.length, size - sent), sent);
        if (bytesRead === 0) break;
        if (!stream.write(Buffer.from(buf.subarray(0, bytesRead)))) await until(new Promise<void>((r) => stream.once('drain', () => r())));
        sent += bytesRead;
      }
      if (sent < size) stream.write(Buffer.alloc(size - sent));
      stream.end(Buffer.alloc(0));
      await until(done);
    } finally {
      await f.close();
    }
  };
  const rootName = name === '' ? '.' : name;
  void walk(dir, name, rootName)
    .then(() => {
      if (!gone) tar.finalize();
    })
    .catch((e: unknown) => {
      if (!gone) out.destroy(e as Error);
    })
    .finally(() => void dir.close().catch(() => {}));
  return { stat, tar: out };
}
