// The per-container shim: a detached `/bin/sh` (its own session) that runs `runc run` in the
// foreground and records the exit status in a file. runc stays the parent and subreaper of the
// container's init, the container writes straight into its log files through the fds the shim was
// given, and the runner may die and come back: the container, its logs and its exit status do not
// depend on the runner process. Arguments travel as argv, never inside the script, except the
// runc command a terminal needs (below), made only of our own paths and ids and quoted.
//
// stdin (Docker's -i): the container reads a FIFO. A `sleep` started by the shim holds its write end
// open, so the container does not see end-of-file between attach sessions; killing that holder (its
// pid is in `<fifo>.holder`) and closing every session's end gives the container its end-of-file,
// which is how a client's half-close reaches it.
//
// A terminal (Docker's -t): runc in the foreground makes the container's pseudo-terminal itself and
// relays it to its own stdio, which must then be a terminal. `script` (util-linux) gives it one: runc
// runs on the slave of a pty whose master `script` copies to the log file and from the FIFO. Setting
// that pty's size (stty on runc's stdin) sends runc SIGWINCH, and runc resizes the container's.
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { buildRunArgv, type Runc } from '../sandbox/runc';

export const SHIM_SCRIPT = [
  'e=$1; i=$2; t=$3; shift 3',
  'if [ -n "$t" ]; then c=exec; for a; do c="$c \'$a\'"; done; set -- script -q -e -f -c "$c" /dev/null; fi',
  'if [ -n "$i" ]; then',
  '  sleep 2147483647 <>"$i" >/dev/null 2>&1 & h=$!; echo "$h" > "$i.holder"',
  '  "$@" <"$i"; c=$?; kill "$h" 2>/dev/null',
  'else "$@" </dev/null; c=$?; fi',
  'echo "$c" > "$e.tmp" && mv "$e.tmp" "$e"',
].join('\n');

export interface ShimPaths {
  bundle: string;
  runcLog: string;
  exitFile: string;
  stdout: string;
  stderr: string;
  /** A FIFO the container reads as stdin (interactive containers and terminals); /dev/null otherwise. */
  stdin?: string;
  /** Run the container's process on a pseudo-terminal (needs `stdin`). */
  terminal?: boolean;
  /** runc writes the container's pid here once its process has started. */
  pidFile?: string;
}

export function buildShimArgv(runc: Runc, runcId: string, paths: ShimPaths): string[] {
  if (paths.terminal && !paths.stdin) throw new Error(`Cannot start container "${runcId}" on a terminal: it needs a stdin FIFO`);
  // --keep: runc's cgroup (the OOM and pids verdict) outlives the process until the supervisor deletes it.
  const run = buildRunArgv(runc, runcId, paths.bundle, paths.runcLog, { keep: true, pidFile: paths.pidFile });
  // The terminal's command is one string for `script`; a quote would end our quoting.
  if (paths.terminal && run.some((a) => a.includes("'"))) throw new Error(`Cannot start container "${runcId}" on a terminal: a path contains a quote`);
  return ['/bin/sh', '-c', SHIM_SCRIPT, 'berth-shim', paths.exitFile, paths.stdin ?? '', paths.terminal ? 'tty' : '', ...run];
}

/** Starts the shim detached from the runner; returns its pid. */
export function spawnShim(runc: Runc, runcId: string, paths: ShimPaths, onExit?: () => void): number {
  const out = openSync(paths.stdout, 'a', 0o600);
  const err = openSync(paths.stderr, 'a', 0o600);
  try {
    const argv = buildShimArgv(runc, runcId, paths);
    // `script` runs its command with $SHELL: make that the one the quoting above is written for.
    const env = { ...process.env, SHELL: '/bin/sh' };
    const child = spawn(argv[0]!, argv.slice(1), { cwd: paths.bundle, detached: true, env, stdio: ['ignore', out, err] });
    if (onExit) child.on('exit', onExit);
    child.on('error', () => onExit?.());
    child.unref();
    if (child.pid === undefined) throw new Error(`Cannot start the shim of container "${runcId}": spawn failed`);
    return child.pid;
  } finally {
    closeSync(out);
    closeSync(err);
  }
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Ends the container's stdin: kills the shim's holder of the FIFO's write end. The container sees
 * end-of-file once every attach session's end is closed too.
 */
export async function releaseStdin(fifo: string): Promise<void> {
  const pid = Number((await readFile(`${fifo}.holder`, 'utf8').catch(() => '')).trim());
  if (!Number.isInteger(pid) || pid <= 1) return;
  // The pid may have been reused since: only a sleep holding this FIFO is ours.
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  if (!cmdline.startsWith('sleep\0')) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
