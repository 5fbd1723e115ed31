// Resolving a container path inside a root filesystem on the host: symlinks are followed as the
// container would see them (an absolute target restarts at the container's root), never out of it.
import { lstat, readlink } from 'node:fs/promises';
import { join } from 'node:path';

const MAX_LINKS = 40;

/** The host path of `path` inside `root`, every symlink on the way resolved within root. */
export async function resolveInRoot(root: string, path: string, followLast = true): Promise<string> {
  let pending = path.split('/').filter((p) => p !== '' && p !== '.');
  const done: string[] = [];
  let hops = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '..') {
      done.pop();
      continue;
    }
    const candidate = join(root, ...done, part);
    const isLast = pending.length === 0;
    let st;
    try {
      st = await lstat(candidate);
    } catch {
      done.push(part, ...pending.filter((p) => p !== '.'));
      pending = [];
      break;
    }
    if (st.isSymbolicLink() && (!isLast || followLast)) {
      if (++hops > MAX_LINKS) throw new Error(`Cannot resolve "${path}": too many levels of symbolic links`);
      const target = await readlink(candidate);
      const rest = target.split('/').filter((p) => p !== '' && p !== '.');
      if (target.startsWith('/')) done.length = 0;
      pending = [...rest, ...pending];
      continue;
    }
    done.push(part);
  }
  // `..` left in the tail (a missing directory followed by ..) collapses lexically at the root.
  const clean: string[] = [];
  for (const p of done) {
    if (p === '..') clean.pop();
    else clean.push(p);
  }
  return join(root, ...clean);
}
