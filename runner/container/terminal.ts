// Resizing a container's (or an exec's) terminal from outside. runc relays a pseudo-terminal of its
// own to the container's and copies the size across on SIGWINCH; setting the size of runc's terminal
// (the slave `script` made for it, see shim.ts) makes the kernel send that signal. The terminal is
// found as the first process under the shim whose stdin is a pty: the slave's path is only valid in
// the runner's mount namespace through /proc, so stty opens it there.
import { readFile, readlink } from 'node:fs/promises';
import { runCommand } from '../sandbox/exec';

async function childrenOf(pid: number): Promise<number[]> {
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  return text.split(' ').filter(Boolean).map(Number);
}

/** The first process below `rootPid` (breadth first) whose stdin is a pseudo-terminal. */
export async function findTerminalProcess(rootPid: number): Promise<number | undefined> {
  let level = [rootPid];
  for (let depth = 0; depth < 6 && level.length > 0; depth++) {
    const next: number[] = [];
    for (const pid of level) {
      const target = await readlink(`/proc/${pid}/fd/0`).catch(() => '');
      if (target.startsWith('/dev/pts/')) return pid;
      next.push(...(await childrenOf(pid)));
    }
    level = next;
  }
  return undefined;
}

export function parseTerminalSize(rows: unknown, cols: unknown): { rows: number; cols: number } {
  const r = Number(rows);
  const c = Number(cols);
  if (!Number.isInteger(r) || r < 0 || r > 10_000 || !Number.isInteger(c) || c < 0 || c > 10_000) {
    throw new Error(`Cannot resize the terminal to "${String(rows)}x${String(cols)}": rows and columns are whole numbers up to 10000`);
  }
  return { rows: r, cols: c };
}

/** Sets the terminal size of the pty found under `rootPid`; false when there is none (yet). */
export async function resizeTerminal(rootPid: number, size: { rows: number; cols: number }): Promise<boolean> {
  const pid = await findTerminalProcess(rootPid);
  if (pid === undefined) return false;
  const r = await runCommand(['stty', '-F', `/proc/${pid}/fd/0`, 'rows', String(size.rows), 'cols', String(size.cols)]);
  if (r.code !== 0) throw new Error(`Cannot resize the terminal: ${r.stderr.trim()}`);
  return true;
}
