// The createRuntime hook that pauses `runc run` between "namespaces exist" and "process starts". runc
// runs it in the host's namespaces with the container state (holding the init pid) on stdin; it
// passes that state to us through one FIFO and waits for our answer on another. Meanwhile we set up
// the network inside the namespace runc made within the user namespace (FEASIBILITY: the netns must
// belong to the container's user namespace, so runc has to create it).
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { runCommandOrThrow } from './exec';
import type { Hook } from './spec';

// $0 = state FIFO, $1 = answer FIFO. runc's state JSON has no trailing newline, hence `|| :`.
export const HANDSHAKE_SCRIPT = 'read -r state || :; printf "%s\\n" "$state" > "$0"; read -r answer < "$1"; [ "$answer" = ok ]';

export function buildHandshakeHookSpec(stateFifo: string, answerFifo: string): Hook {
  return { path: '/bin/sh', args: ['sh', '-c', HANDSHAKE_SCRIPT, stateFifo, answerFifo], timeout: 120 };
}

export interface Handshake {
  hook: Hook;
  /** The container's init pid, once runc reaches the hook. */
  state: Promise<{ pid: number }>;
  /** Let the process start (true) or make runc fail the start (false). */
  release(ok: boolean): void;
  /** Answer "no" if nobody answered yet: unblocks a hook left waiting. */
  abort(): void;
  close(): void;
}

export async function buildHandshakeHook(dir: string): Promise<Handshake> {
  const stateFifo = join(dir, 'hook-state');
  const answerFifo = join(dir, 'hook-answer');
  await runCommandOrThrow(['mkfifo', '-m', '600', stateFifo, answerFifo]);
  // O_RDWR opens a FIFO without waiting for the other end, and keeps it open across the hook's
  // open/close, so neither side can block the other or lose the message.
  const stateFd = openSync(stateFifo, constants.O_RDWR | constants.O_NONBLOCK);
  const answerFd = openSync(answerFifo, constants.O_RDWR | constants.O_NONBLOCK);
  const socket = new Socket({ fd: stateFd, readable: true, writable: false });
  let answered = false;
  let closed = false;
  const state = new Promise<{ pid: number }>((resolve, reject) => {
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const nl = buffer.indexOf('\n');
      if (nl < 0) return;
      try {
        const parsed = JSON.parse(buffer.slice(0, nl)) as { pid?: number };
        if (!Number.isSafeInteger(parsed.pid) || parsed.pid! <= 0) throw new Error(`no pid in "${buffer.slice(0, 200)}"`);
        resolve({ pid: parsed.pid! });
      } catch (e) {
        reject(new Error(`Cannot read the container state from runc's hook: ${(e as Error).message}`));
      }
    });
    socket.on('error', reject);
  });
  state.catch(() => {});
  const release = (ok: boolean) => {
    if (answered || closed) return;
    answered = true;
    writeSync(answerFd, ok ? 'ok\n' : 'no\n');
  };
  return {
    hook: buildHandshakeHookSpec(stateFifo, answerFifo),
    state,
    release,
    abort: () => release(false),
    close: () => {
      if (closed) return;
      closed = true;
      socket.destroy();
      closeSync(answerFd);
    },
  };
}
