// USER and --chown names resolved from the image's own /etc/passwd and /etc/group, as Docker does.
import { readFile } from 'node:fs/promises';
import { resolveInRoot } from './root-path';

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  /** The passwd entry's home directory, `/` when there is none (as runc/Docker default HOME). */
  home: string;
}

export class UserLookupError extends Error {
  override name = 'UserLookupError';
}

async function readDb(rootfs: string, file: string): Promise<string[][]> {
  try {
    const text = await readFile(await resolveInRoot(rootfs, file), 'utf8');
    return text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(':'));
  } catch {
    return [];
  }
}

const isNum = (s: string) => /^\d+$/.test(s);

/** `user`, `user:group`, `uid:gid` (names or numbers) → ids; a name must exist in the image. */
export async function resolveUser(rootfs: string, spec: string | undefined): Promise<ResolvedUser> {
  if (!spec) spec = '0';
  const [userPart, groupPart] = spec.split(':', 2) as [string, string | undefined];
  const passwd = await readDb(rootfs, '/etc/passwd');
  let uid: number;
  let gid: number;
  let name: string | undefined;
  let home = '/';
  if (isNum(userPart)) {
    uid = Number(userPart);
    const row = passwd.find((r) => r[2] === userPart);
    gid = row ? Number(row[3]) : 0;
    name = row?.[0];
    home = row?.[5] || (uid === 0 ? '/root' : '/');
  } else {
    const row = passwd.find((r) => r[0] === userPart);
    if (!row) throw new UserLookupError(`Cannot resolve user "${userPart}": no matching entries in passwd file`);
    uid = Number(row[2]);
    gid = Number(row[3]);
    name = userPart;
    home = row[5] || '/';
  }
  const groups = await readDb(rootfs, '/etc/group');
  if (groupPart !== undefined) {
    if (isNum(groupPart)) gid = Number(groupPart);
    else {
      const row = groups.find((r) => r[0] === groupPart);
      if (!row) throw new UserLookupError(`Cannot resolve group "${groupPart}": no matching entries in group file`);
      gid = Number(row[2]);
    }
  }
  const additionalGids = groupPart === undefined && name
    ? groups.filter((r) => (r[3] ?? '').split(',').includes(name!)).map((r) => Number(r[2])).filter((g) => g !== gid)
    : [];
  return { uid, gid, additionalGids, home };
}

/**
 * --chown as BuildKit resolves it: a lone user id also names the group (`--chown=1000` is
 * 1000:1000), a lone user name takes its passwd entry's primary group (`--chown=node` after
 * `useradd -g root node` is 1001:0), an explicit group wins.
 */
export async function resolveChown(rootfs: string, spec: string): Promise<{ uid: number; gid: number }> {
  const [u, g] = spec.split(':', 2) as [string, string | undefined];
  const user = await resolveUser(rootfs, g === undefined ? u : `${u}:${g}`);
  return { uid: user.uid, gid: g === undefined && isNum(u) ? user.uid : user.gid };
}
