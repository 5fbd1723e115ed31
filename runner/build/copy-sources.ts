// COPY/ADD sources: patterns (Go filepath.Match wildcards, per path component) matched inside a
// source tree (the build context or a stage's filesystem), and the digest of what they match —
// names, types, modes, sizes, contents — that keys the build cache.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { resolveInRoot } from './root-path';
import { normalisePath } from './step-state';

export interface MatchedSource {
  /** Path inside the source tree, no leading slash ('' for the root). */
  rel: string;
  abs: string;
  isDir: boolean;
}

export class CopySourceError extends Error {
  override name = 'CopySourceError';
}

const WILDCARD = /[*?[]/;

/** Go's filepath.Match for one path component: `*`, `?`, `[a-z]`, `[^a]`, `\` escapes. */
export function matchComponent(pattern: string, name: string): boolean {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else if (ch === '\\' && i + 1 < pattern.length) re += escapeRe(pattern[++i]!);
    else if (ch === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) return false; // Go: ErrBadPattern, matches nothing
      let body = pattern.slice(i + 1, end);
      if (body.startsWith('^')) body = `^${body.slice(1).replace(/[\\\]]/g, '\\$&')}`;
      else body = body.replace(/[\\\]^]/g, '\\$&');
      re += `[${body}]`;
      i = end;
    } else re += escapeRe(ch);
  }
  return new RegExp(`${re}$`, 'su').test(name);
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/**
 * Every path in root a source pattern names, sorted. Symlinks on the way and at the end are followed
 * as BuildKit does, inside root: a link to `/etc/passwd` in a context means the context's own
 * etc/passwd, never the host's.
 */
export async function matchSources(root: string, pattern: string, isVisible: (rel: string) => boolean = () => true): Promise<MatchedSource[]> {
  const parts = normalisePath(pattern).split('/').filter(Boolean);
  let current: string[] = [''];
  for (const part of parts) {
    const next: string[] = [];
    for (const base of current) {
      if (WILDCARD.test(part)) {
        let names: string[] = [];
        try {
          names = await readdir(await resolveInRoot(root, base));
        } catch {
          continue;
        }
        for (const n of names.sort()) if (matchComponent(part, n)) next.push(base ? `${base}/${n}` : n);
      } else {
        next.push(base ? `${base}/${part}` : part);
      }
    }
    current = next;
  }
  const out: MatchedSource[] = [];
  for (const rel of current) {
    if (rel !== '' && !isVisible(rel)) continue;
    try {
      const abs = await resolveInRoot(root, rel);
      const st = await stat(abs);
      out.push({ rel, abs, isDir: st.isDirectory() });
    } catch {
      // a pattern that names nothing contributes nothing; the caller reports an empty result
    }
  }
  return out;
}

async function hashFile(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest('hex');
}

/**
 * A digest of everything the sources name: for each entry its path, type, mode, size and content
 * (or link target), and owners when the copy keeps them.
 */
export async function digestSources(sources: MatchedSource[], isVisible: (rel: string) => boolean = () => true, withOwners = false): Promise<string> {
  const h = createHash('sha256');
  const add = (s: string) => h.update(`${s}\0`);
  async function walk(abs: string, rel: string, top: boolean): Promise<void> {
    const st = top ? await stat(abs) : await lstat(abs);
    const owner = withOwners ? ` ${st.uid}:${st.gid}` : '';
    if (st.isDirectory()) {
      add(`d ${rel} ${st.mode & 0o7777}${owner}`);
      for (const n of (await readdir(abs)).sort()) {
        const childRel = rel ? `${rel}/${n}` : n;
        if (isVisible(childRel)) await walk(join(abs, n), childRel, false);
      }
    } else if (st.isSymbolicLink()) add(`l ${rel} ${await readlink(abs)}${owner}`);
    else if (st.isFile()) add(`f ${rel} ${st.mode & 0o7777} ${st.size}${owner} ${await hashFile(abs)}`);
    else add(`o ${rel} ${st.mode}`);
  }
  for (const s of sources) {
    add(`source ${s.rel}`);
    await walk(s.abs, s.rel, true);
  }
  return `sha256:${h.digest('hex')}`;
}
