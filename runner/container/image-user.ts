// Docker's USER rules: `user`, `user:group`, numeric or by name, resolved from the image's own
// /etc/passwd and /etc/group (given as text, so this stays pure). Supplementary groups are added
// only in the implicit form (no group given), as runc's libcontainer does.

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  /** From the passwd entry; '/' when the user has none (Docker's default HOME). */
  home: string;
}

const ID = /^\d{1,10}$/;

function toId(text: string): number | undefined {
  if (!ID.test(text)) return undefined;
  const n = Number(text);
  return n <= 0xffffffff ? n : undefined;
}

/** Parses passwd(5) text; malformed lines are skipped, as getpwnam does. */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length < 7) continue;
    const uid = toId(f[2]!);
    const gid = toId(f[3]!);
    if (uid === undefined || gid === undefined || f[0] === '') continue;
    out.push({ name: f[0]!, uid, gid, home: f[5]!, shell: f[6]! });
  }
  return out;
}

/** Parses group(5) text; malformed lines are skipped. */
export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length < 4) continue;
    const gid = toId(f[2]!);
    if (gid === undefined || f[0] === '') continue;
    out.push({ name: f[0]!, gid, members: f[3]!.split(',').map((m) => m.trim()).filter(Boolean) });
  }
  return out;
}

/**
 * Resolves a USER value against the image's files. An empty value is root. A name that is not in
 * the file is an error (Docker refuses to start such a container); a number need not be there.
 */
export function resolveImageUser(spec: string, files: { passwd?: string; group?: string }): ResolvedUser {
  const value = spec.trim();
  const [userPart = '', groupPart, ...extra] = value.split(':');
  if (extra.length > 0) throw new Error(`Cannot resolve user "${spec}": expected user[:group]`);
  const passwd = parsePasswd(files.passwd ?? '');
  const groups = parseGroup(files.group ?? '');

  let uid: number;
  let gid = 0;
  let name: string | undefined;
  let home = '/';
  const user = userPart === '' ? passwd.find((p) => p.uid === 0) : (toId(userPart) !== undefined ? passwd.find((p) => p.uid === toId(userPart)) : passwd.find((p) => p.name === userPart));
  if (userPart === '') {
    uid = 0;
  } else if (toId(userPart) !== undefined) {
    uid = toId(userPart)!;
  } else if (user) {
    uid = user.uid;
  } else {
    throw new Error(`Cannot resolve user "${spec}": no user "${userPart}" in the image's /etc/passwd`);
  }
  if (user) {
    gid = user.gid;
    name = user.name;
    home = user.home || '/';
  }

  if (groupPart !== undefined && groupPart !== '') {
    const numeric = toId(groupPart);
    if (numeric !== undefined) gid = numeric;
    else {
      const g = groups.find((e) => e.name === groupPart);
      if (!g) throw new Error(`Cannot resolve user "${spec}": no group "${groupPart}" in the image's /etc/group`);
      gid = g.gid;
    }
    return { uid, gid, additionalGids: [], home };
  }
  if (groupPart === '') throw new Error(`Cannot resolve user "${spec}": the group after ":" is empty`);

  const additional: number[] = [];
  for (const g of groups) {
    if ((g.gid === gid || (name !== undefined && g.members.includes(name))) && !additional.includes(g.gid)) additional.push(g.gid);
  }
  return { uid, gid, additionalGids: additional, home };
}
