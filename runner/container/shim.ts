// The per-container shim: a detached `/bin/sh` (its own session) that runs `runc run` in the
// foreground and records the exit status in a file. runc stays the parent and subreaper of the
// container's init, the container writes straight into its log files through the fds the shim was
// given, and the runner may die and come back: the container, its logs and its exit status do not
// depend on the runner process. Arguments travel as argv, never inside the script.
import { spawn } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { buildRunArgv, type Runc } from '../sandbox/runc';

export const SHIM_SCRIPT = 'e=$1; shift; "$@"; c=$?; echo "$c" > "$e.tmp" && mv "$e.tmp" "$e"';

export interface ShimPaths {
  bundle: string;
  runcLog: string;
  exitFile: string;
  stdout: string;
  stderr: string;
  /** A FIFO the container reads as stdin (interactive containers); /dev/null otherwise. */
  stdin?: string;
  /** runc writes the container's pid here once its process has started. */
  pidFile?: string;
}

export function buildShimArgv(runc: Runc, runcId: string, paths: ShimPaths): string[] {
  return ['/bin/sh', '-c', SHIM_SCRIPT, 'berth-shim', paths.exitFile, ...buildRunArgv(runc, runcId, paths.bundle, paths.runcLog, { keep: true, pidFile: paths.pidFile })];
}

/** Starts the shim detached from the runner; returns its pid. */
export function spawnShim(runc: Runc, runcId: string, paths: ShimPaths, onExit?: () => void): number {
  const out = openSync(paths.stdout, 'a', 0o600);
  const err = openSync(paths.stderr, 'a', 0o600);
  // O_RDWR on a FIFO opens without waiting for a writer, and keeps a writer so the container never
  // sees EOF between attach sessions (Docker's `-i`).
  const input = paths.stdin ? openSync(paths.stdin, constants.O_RDWR) : undefined;
  try {
    const argv = buildShimArgv(runc, runcId, paths);
    const child = spawn(argv[0]!, argv.slice(1), { cwd: paths.bundle, detached: true, stdio: [input ?? 'ignore', out, err] });
    if (onExit) child.on('exit', onExit);
    child.on('error', () => onExit?.());
    child.unref();
    if (child.pid === undefined) throw new Error(`Cannot start the shim of container "${runcId}": spawn failed`);
    return child.pid;
  } finally {
    closeSync(out);
    closeSync(err);
    if (input !== undefined) closeSync(input);
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
