// A root filesystem as comparable text: one line per path with its type, mode, owner, size and
// content hash or link target, and which paths share an inode. Times are left out.
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

export interface TreeEntry {
  line: string;
  /** Hard-link group: the first path seen with this inode (only for nlink > 1 files). */
  linkOf?: string;
}

export function describeTree(root: string): Map<string, TreeEntry> {
  const out = new Map<string, TreeEntry>();
  const inodes = new Map<number, string>();
  const walk = (abs: string, rel: string) => {
    for (const name of readdirSync(abs).sort()) {
      const a = join(abs, name);
      const r = `${rel}/${name}`;
      const st = lstatSync(a);
      const mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
      const owner = `${st.uid}:${st.gid}`;
      let line: string;
      let linkOf: string | undefined;
      if (st.isDirectory()) line = `dir ${mode} ${owner}`;
      else if (st.isSymbolicLink()) line = `link ${owner} -> ${readlinkSync(a)}`;
      else if (st.isFile()) {
        line = `file ${mode} ${owner} ${st.size} ${createHash('sha256').update(readFileSync(a)).digest('hex').slice(0, 16)}`;
        if (st.nlink > 1) {
          const first = inodes.get(st.ino);
          if (first) linkOf = first;
          else inodes.set(st.ino, r);
        }
      } else line = `other ${st.mode.toString(8)} ${owner} rdev=${st.rdev}`;
      out.set(r, { line, linkOf });
      if (st.isDirectory()) walk(a, r);
    }
  };
  walk(root, '');
  return out;
}

/** Lines that differ between two trees: `path: a | b`. */
export function diffTrees(a: Map<string, TreeEntry>, b: Map<string, TreeEntry>, ignore: (path: string) => boolean): string[] {
  const out: string[] = [];
  for (const p of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    if (ignore(p)) continue;
    const x = a.get(p);
    const y = b.get(p);
    const fx = x ? `${x.line}${x.linkOf ? ` =${x.linkOf}` : ''}` : '(absent)';
    const fy = y ? `${y.line}${y.linkOf ? ` =${y.linkOf}` : ''}` : '(absent)';
    if (fx !== fy) out.push(`${p}: berth ${fx} | buildah ${fy}`);
  }
  return out;
}
