// Shift a directory tree's ownership into the user namespace's host range (uid N → hostBase + N), the
// "chown a copy" recipe from FEASIBILITY: an overlay of shifted lower dirs needs no idmapped mounts.
import { lstat, lchown, chmod, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { toHostId, type IdMap } from './idmap';

const PARALLEL = 64;

/** Shift every entry under `dir` (itself included). Ids already in the range are left alone. */
export async function shiftOwnership(dir: string, idmap: IdMap): Promise<number> {
  let count = 0;
  const queue: string[] = [dir];
  const shiftOne = async (path: string) => {
    const st = await lstat(path);
    const inRange = (id: number) => id >= idmap.hostBase && id < idmap.hostBase + idmap.size;
    if (!inRange(st.uid) || !inRange(st.gid)) {
      const uid = inRange(st.uid) ? st.uid : toHostId(idmap, st.uid);
      const gid = inRange(st.gid) ? st.gid : toHostId(idmap, st.gid);
      await lchown(path, uid, gid);
      // chown clears setuid/setgid on regular files even for root: put the mode back.
      if (st.isFile() && (st.mode & 0o6000) !== 0) await chmod(path, st.mode & 0o7777);
      count++;
    }
    if (st.isDirectory()) for (const name of await readdir(path)) queue.push(join(path, name));
  };
  while (queue.length > 0) await Promise.all(queue.splice(0, PARALLEL).map(shiftOne));
  return count;
}
