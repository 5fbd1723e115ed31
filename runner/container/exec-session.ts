// An interactive exec (Docker's `exec -i`/`-it`): `runc exec` with its stdio as a session the
// functions relay, output framed like an attach session (see attach.ts), ending with a control frame
// that carries the exit code. With a terminal, runc needs one of its own to relay (as for `run`, see
// shim.ts): `script` gives it a pty whose size is set at once when the client sent one.
import { spawn } from 'node:child_process';
import { Duplex } from 'node:stream';
import { constants } from 'node:os';
import { encodeFrame, STREAM_CONTROL, STREAM_STDERR, STREAM_STDOUT } from './attach';

export interface ExecSessionOptions {
  /** The whole `runc exec` argv (with `--tty` when tty). */
  argv: string[];
  tty: boolean;
  size?: { rows: number; cols: number };
}

/** One argument for sh, single-quoted (a quote inside becomes '\\''). */
export function quoteShellArg(a: string): string {
  return `'${a.replaceAll("'", "'\\''")}'`;
}

/** The shell command `script` runs for a terminal exec (`script` takes one string, not argv). */
export function buildTerminalCommand(argv: string[], size?: { rows: number; cols: number }): string {
  const run = `exec ${argv.map(quoteShellArg).join(' ')}`;
  return size && size.rows > 0 && size.cols > 0 ? `stty rows ${size.rows} cols ${size.cols} 2>/dev/null; ${run}` : run;
}

export function openExecSession(o: ExecSessionOptions): { session: Duplex; pid: number } {
  const argv = o.tty ? ['script', '-q', '-e', '-f', '-c', buildTerminalCommand(o.argv, o.size), '/dev/null'] : o.argv;
  const child = spawn(argv[0]!, argv.slice(1), { env: { ...process.env, SHELL: '/bin/sh' }, stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.on('error', () => {});
  const session = new Duplex({
    read() {
      child.stdout.resume();
      child.stderr.resume();
    },
    write(chunk: Buffer, _enc, cb) {
      if (child.stdin.destroyed) return cb();
      child.stdin.write(chunk, () => cb());
    },
    final(cb) {
      child.stdin.end();
      cb();
    },
    destroy(err, cb) {
      child.stdin.destroy();
      cb(err);
    },
  });
  const relay = (stream: number) => (d: Buffer) => {
    if (!session.push(encodeFrame(stream, d))) {
      child.stdout.pause();
      child.stderr.pause();
    }
  };
  child.stdout.on('data', relay(STREAM_STDOUT));
  child.stderr.on('data', relay(STREAM_STDERR));
  let spawnError: Error | undefined;
  child.on('error', (e) => (spawnError = e));
  child.on('close', (code, signal) => {
    const exitCode = code ?? (signal ? 128 + (constants.signals[signal] ?? 0) : 126);
    const end = spawnError ? { exitCode: 126, error: `Cannot start the exec: ${spawnError.message}` } : { exitCode };
    session.push(encodeFrame(STREAM_CONTROL, Buffer.from(JSON.stringify(end))));
    session.push(null);
  });
  return { session, pid: child.pid ?? 0 };
}
