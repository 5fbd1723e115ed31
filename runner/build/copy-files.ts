// COPY/ADD into a mounted rootfs with Docker's path rules: a directory source copies its contents;
// a destination ending in `/` (or an existing directory) receives sources by their base names;
// several sources need such a destination; missing parents are created. Owners are container ids,
// written shifted into the runner's user-namespace range.
import { chmod, copyFile, lchown, link, lstat, mkdir, readdir, readlink, rm, symlink, utimes, lutimes, stat } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { toHostId, type IdMap } from '../sandbox/idmap';
import { CopySourceError, type MatchedSource } from './copy-sources';
import { resolveInRoot } from './root-path';

export interface CopyOptions {
  /** Owner for every copied entry; undefined keeps the source's (COPY --from) or root (context). */
  owner?: { uid: number; gid: number };
  /** Keep the source's owners (shifted back from host ids) when no owner is given. */
  keepOwners?: boolean;
  /** The source tree's idmap when keepOwners (a stage rootfs is shifted). */
  sourceIdmap?: IdMap;
  chmod?: number;
  idmap: IdMap;
  isVisible?: (rel: string) => boolean;
}

/** Whether the destination names a directory: a trailing slash, or `.`/`..` as last part. */
export function destinationIsDirectory(dest: string): boolean {
  return dest.endsWith('/') || dest.endsWith('/.') || dest === '.' || dest.endsWith('/..');
}

async function isDirIn(rootfs: string, containerPath: string): Promise<boolean> {
  try {
    return (await stat(await resolveInRoot(rootfs, containerPath))).isDirectory();
  } catch {
    return false;
  }
}

export async function copyIntoRoot(rootfs: string, sources: MatchedSource[], destination: string, o: CopyOptions): Promise<void> {
  if (sources.length === 0) throw new CopySourceError('COPY failed: no source files were specified');
  const destDir = destinationIsDirectory(destination) || (await isDirIn(rootfs, destination));
  if (sources.length > 1 && !destDir) {
    throw new CopySourceError(`When using COPY with more than one source file, the destination must be a directory and end with a /: "${destination}"`);
  }
  const visible = o.isVisible ?? (() => true);
  const hostOwner = (uid: number, gid: number) => [toHostId(o.idmap, uid), toHostId(o.idmap, gid)] as const;
  const ownerOf = (st: { uid: number; gid: number }) => {
    if (o.owner) return hostOwner(o.owner.uid, o.owner.gid);
    if (o.keepOwners) {
      const base = o.sourceIdmap?.hostBase ?? 0;
      return hostOwner(Math.max(0, st.uid - base), Math.max(0, st.gid - base));
    }
    return hostOwner(0, 0);
  };
  const [dirUid, dirGid] = o.owner ? hostOwner(o.owner.uid, o.owner.gid) : hostOwner(0, 0);

  async function mkdirs(containerDir: string): Promise<string> {
    const parts = containerDir.split('/').filter(Boolean);
    let cur = '/';
    for (const p of parts) {
      cur = posix.join(cur, p);
      const host = await resolveInRoot(rootfs, cur);
      try {
        const st = await lstat(host);
        if (!st.isDirectory()) throw new CopySourceError(`Cannot copy to "${containerDir}": "${cur}" exists and is not a directory`);
      } catch (err) {
        if (err instanceof CopySourceError) throw err;
        await mkdir(host);
        await lchown(host, dirUid, dirGid);
        await chmod(host, 0o755);
      }
    }
    return resolveInRoot(rootfs, containerDir);
  }

  const linked = new Map<number, string>();

  async function copyEntry(src: string, rel: string, dstHost: string, top: boolean): Promise<void> {
    const st = top ? await stat(src) : await lstat(src);
    const [uid, gid] = ownerOf(st);
    const existing = await lstat(dstHost).catch(() => undefined);
    if (st.isDirectory()) {
      if (existing && !existing.isDirectory()) await rm(dstHost, { force: true, recursive: true });
      if (!existing || !existing.isDirectory()) await mkdir(dstHost);
      for (const n of (await readdir(src)).sort()) {
        const childRel = rel ? `${rel}/${n}` : n;
        if (visible(childRel)) await copyEntry(join(src, n), childRel, join(dstHost, n), false);
      }
      await lchown(dstHost, uid, gid);
      await chmod(dstHost, o.chmod ?? st.mode & 0o7777);
      await utimes(dstHost, st.atime, st.mtime);
      return;
    }
    if (existing) await rm(dstHost, { force: true, recursive: true });
    if (st.isSymbolicLink()) {
      await symlink(await readlink(src), dstHost);
      await lchown(dstHost, uid, gid);
      await lutimes(dstHost, st.atime, st.mtime).catch(() => {});
    } else if (st.isFile()) {
      // Hard links among the copied files stay links, as BuildKit keeps them.
      const first = st.nlink > 1 ? linked.get(st.ino) : undefined;
      if (first !== undefined) {
        await link(first, dstHost);
        return;
      }
      if (st.nlink > 1) linked.set(st.ino, dstHost);
      await copyFile(src, dstHost);
      await lchown(dstHost, uid, gid);
      await chmod(dstHost, o.chmod ?? st.mode & 0o7777);
      await utimes(dstHost, st.atime, st.mtime);
    } else {
      throw new CopySourceError(`Cannot copy "${rel}": it is neither a file, a directory nor a symlink`);
    }
  }

  for (const s of sources) {
    if (s.isDir) {
      // A directory's contents go into the destination, not the directory itself. BuildKit makes a
      // missing destination first (0755, the --chown owner), so it never takes the source's mode.
      const target = await mkdirs(destination);
      const st = await stat(s.abs);
      for (const n of (await readdir(s.abs)).sort()) {
        const childRel = s.rel ? `${s.rel}/${n}` : n;
        if (visible(childRel)) await copyEntry(join(s.abs, n), childRel, join(target, n), false);
      }
      if (s.rel !== '' && !destinationIsDirectory(destination)) await utimes(target, st.atime, st.mtime);
      continue;
    }
    let dstContainer: string;
    if (destDir) dstContainer = posix.join(destination, posix.basename(s.rel));
    else dstContainer = destination;
    await mkdirs(posix.dirname(dstContainer));
    const dstHost = join(await resolveInRoot(rootfs, posix.dirname(dstContainer)), posix.basename(dstContainer));
    await mkdir(dirname(dstHost), { recursive: true });
    await copyEntry(s.abs, s.rel, dstHost, true);
  }
}
