// `docker cp SRC CTR:/dir`: a tar from the client unpacked into a directory of a container's root
// filesystem on this runner. The tar and the container are both hostile: an entry naming `..` or a
// device is refused; every entry's parent is resolved inside the root (resolveInRoot, symlinks
// followed as the container would, never above its root), and the entry is made relative to that
// open directory with O_NOFOLLOW, so neither a link in the tar nor one the container swaps in can
// direct a write outside. Owners are the container's root, or the tar's (copyUIDGID), shifted into
// the user namespace's range.
import { constants } from 'node:fs';
import { lchown, link, lstat, mkdir, open, symlink, unlink } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { extract, type Header } from 'tar-stream';
import { toHostId, type IdMap } from '../sandbox/idmap';
import { PathNotFound, resolveInRoot } from './container-archive';

export class ExtractRefused extends Error {}

export interface ExtractOptions {
  rootfs: string;
  /** The container directory the entries land in. */
  dest: string;
  idmap: IdMap;
  copyUidGid: boolean;
  /** Refuse to replace a directory with a non-directory or the reverse (Docker's noOverwriteDirNonDir). */
  noOverwriteDirNonDir: boolean;
}

/** A tar entry's name as components below the destination; throws for one that climbs out. */
export function parseEntryName(name: string): string[] {
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new ExtractRefused(`Cannot copy into the container: the archive's entry "${name}" climbs out of the destination`);
  if (parts.some((p) => p.includes('\0'))) throw new ExtractRefused(`Cannot copy into the container: the archive's entry "${name}" is not a path`);
  return parts;
}

/** The destination must be a directory of the container (symlinks on the way followed inside the root). */
export async function checkExtractDestination(rootfs: string, dest: string): Promise<void> {
  try {
    const { dir } = await resolveInRoot(rootfs, `${dest}/x`);
    await dir.close();
  } catch (e) {
    if (!(e instanceof PathNotFound)) throw e;
    if (/is not a directory/.test(e.message)) throw new ExtractRefused(`Cannot copy into the container: extraction point ${dest} is not a directory`);
    throw new PathNotFound(`Could not find the file ${dest} in container`);
  }
}

export async function extractIntoRoot(o: ExtractOptions, tar: Readable): Promise<{ entries: number }> {
  await checkExtractDestination(o.rootfs, o.dest);
  const x = extract();
  let count = 0;
  const owner = (h: Header) => {
    if (!o.copyUidGid) return { uid: toHostId(o.idmap, 0), gid: toHostId(o.idmap, 0) };
    try {
      return { uid: toHostId(o.idmap, h.uid ?? 0), gid: toHostId(o.idmap, h.gid ?? 0) };
    } catch {
      throw new ExtractRefused(`Cannot copy into the container: the archive's entry "${h.name}" is owned by ${h.uid}:${h.gid}, outside the container's ids`);
    }
  };
  const place = async (h: Header, body: Readable) => {
    const parts = parseEntryName(h.name);
    if (parts.length === 0) {
      body.resume();
      return; // the destination itself ("./")
    }
    const { dir, name } = await resolveInRoot(o.rootfs, `${o.dest}/${parts.join('/')}`);
    const at = `/proc/self/fd/${dir.fd}/${name}`;
    try {
      const existing = await lstat(at).catch(() => undefined);
      const { uid, gid } = owner(h);
      const mode = (h.mode ?? 0o644) & 0o7777;
      if (h.type === 'directory') {
        if (existing && !existing.isDirectory()) {
          if (o.noOverwriteDirNonDir) throw new ExtractRefused(`Cannot copy into the container: cannot overwrite non-directory "${parts.join('/')}" with a directory`);
          await unlink(at);
        }
        if (!existing?.isDirectory()) await mkdir(at, { mode });
        // Through an fd opened without following: the name could have become a link meanwhile.
        const d = await open(at, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
        try {
          await d.chown(uid, gid);
          await d.chmod(mode);
        } finally {
          await d.close();
        }
        body.resume();
        return;
      }
      if (existing?.isDirectory()) throw new ExtractRefused(`Cannot copy into the container: cannot overwrite directory "${parts.join('/')}" with a non-directory`);
      if (existing) await unlink(at);
      if (h.type === 'symlink') {
        await symlink(h.linkname ?? '', at);
        await lchown(at, uid, gid);
        body.resume();
        return;
      }
      if (h.type === 'link') {
        const target = parseEntryName(h.linkname ?? '');
        const src = await resolveInRoot(o.rootfs, `${o.dest}/${target.join('/')}`);
        try {
          const st = await lstat(`/proc/self/fd/${src.dir.fd}/${src.name}`).catch(() => undefined);
          if (!st || st.isDirectory()) throw new ExtractRefused(`Cannot copy into the container: the hard link "${h.name}" points at "${h.linkname ?? ''}", which is not a file copied before it`);
          await link(`/proc/self/fd/${src.dir.fd}/${src.name}`, at);
        } finally {
          await src.dir.close();
        }
        body.resume();
        return;
      }
      if (h.type !== 'file' && h.type !== 'contiguous-file') throw new ExtractRefused(`Cannot copy into the container: the archive's entry "${h.name}" is a ${h.type ?? 'special file'}, which is not copied`);
      const f = await open(at, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      try {
        for await (const chunk of body) await f.write(chunk as Buffer);
        await f.chown(uid, gid);
        await f.chmod(mode);
      } finally {
        await f.close();
      }
    } finally {
      await dir.close();
    }
  };
  await new Promise<void>((resolve, reject) => {
    x.on('entry', (h, body, next) => {
      count++;
      place(h, body as unknown as Readable).then(
        () => next(),
        (e: unknown) => {
          x.destroy(e as Error);
          reject(e as Error);
        },
      );
    });
    x.on('finish', () => resolve());
    x.on('error', reject);
    tar.on('error', reject);
    tar.pipe(x as unknown as NodeJS.WritableStream);
  });
  return { entries: count };
}
