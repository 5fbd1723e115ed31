// The functions' side of the runner's session socket (runner/container/attach.ts): opens a session
// (attach or exec) and hands back the connection once the runner said `ok`, or asks for a resize.
// Only the Node entry can hold such a connection; the local stack's runner serves it on a unix socket.
import { connect, type Socket } from 'node:net';

export const STREAM_CONTROL = 3;

export class RunnerUnreachable extends Error {}

/** Sends the request line and resolves with the socket after the runner's `ok` (and any bytes after it). */
export function openRunnerSession(socketPath: string, request: Record<string, unknown>, timeoutMs = 10_000): Promise<{ socket: Socket; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ path: socketPath, allowHalfOpen: true });
    let head = Buffer.alloc(0);
    const timer = setTimeout(() => fail(new Error('Cannot reach the runner: it did not answer in time')), timeoutMs);
    const fail = (e: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(e);
    };
    socket.once('error', (e: NodeJS.ErrnoException) => fail(e.code === 'ENOENT' || e.code === 'ECONNREFUSED' ? new RunnerUnreachable(`Cannot reach the runner at "${socketPath}": ${e.code}`) : e));
    socket.on('end', () => fail(new Error('Cannot open a session: the runner closed the connection')));
    const onData = (d: Buffer) => {
      head = Buffer.concat([head, d]);
      const nl = head.indexOf(10);
      if (nl < 0) {
        if (head.length > 64 * 1024) fail(new Error('Cannot open a session: the runner answered nonsense'));
        return;
      }
      socket.off('data', onData);
      socket.removeAllListeners('end');
      socket.removeAllListeners('error');
      socket.on('error', () => {});
      socket.pause();
      clearTimeout(timer);
      const line = head.subarray(0, nl).toString();
      if (line !== 'ok') {
        socket.destroy();
        reject(new Error(line.replace(/^error: /, '')));
        return;
      }
      resolve({ socket, rest: head.subarray(nl + 1) });
    };
    socket.on('data', onData);
    socket.write(`${JSON.stringify(request)}\n`);
  });
}

/** Splits the runner's framed output (8-byte headers) as it arrives. */
export function createFrameReader(onFrame: (stream: number, payload: Buffer) => void): (chunk: Buffer) => void {
  let buf: Buffer = Buffer.alloc(0);
  return (chunk) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    while (buf.length >= 8) {
      const n = buf.readUInt32BE(4);
      if (buf.length < 8 + n) break;
      onFrame(buf[0]!, buf.subarray(0, 8 + n));
      buf = buf.subarray(8 + n);
    }
  };
}

export async function resizeOnRunner(socketPath: string, request: { containerId: string; execId?: string; rows: number; cols: number }): Promise<void> {
  const { socket } = await openRunnerSession(socketPath, { kind: 'resize', ...request });
  socket.destroy();
}

/** A one-answer request (`top`, `stats`): the JSON line the runner sends after its `ok`. */
export async function queryRunner(socketPath: string, request: Record<string, unknown>, timeoutMs = 15_000): Promise<unknown> {
  const { socket, rest } = await openRunnerSession(socketPath, request, timeoutMs);
  return new Promise((resolve, reject) => {
    let buf = rest;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('Cannot read the runner\'s answer: it did not come in time'));
    }, timeoutMs);
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length > 4 * 1024 * 1024) socket.destroy();
    });
    // The runner ends its side after the answer; ours stays half-open until destroyed.
    socket.on('end', () => socket.destroy());
    socket.on('close', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(buf.toString()));
      } catch {
        reject(new Error('Cannot read the runner\'s answer: it is not JSON'));
      }
    });
    socket.resume();
  });
}

/** `docker cp` out: the stat line after `ok`, then the tar bytes until the runner ends. */
export async function archiveFromRunner(socketPath: string, request: { containerId: string; path: string; statOnly: boolean }): Promise<{ stat: unknown; body?: ReadableStream<Uint8Array> }> {
  const { socket, rest } = await openRunnerSession(socketPath, { kind: 'archive', ...request });
  let head = rest;
  const line = await new Promise<string>((resolve, reject) => {
    const take = () => {
      const nl = head.indexOf(10);
      if (nl < 0) return false;
      socket.off('data', onData);
      socket.pause();
      resolve(head.subarray(0, nl).toString());
      head = head.subarray(nl + 1);
      return true;
    };
    const onData = (d: Buffer) => {
      head = Buffer.concat([head, d]);
      if (!take() && head.length > 64 * 1024) reject(new Error('Cannot copy from the container: the runner answered nonsense'));
    };
    if (take()) return;
    socket.on('data', onData);
    socket.once('end', () => reject(new Error('Cannot copy from the container: the runner closed the connection')));
    socket.resume();
  });
  socket.removeAllListeners('end');
  const stat = JSON.parse(line) as unknown;
  if (request.statOnly) {
    socket.destroy();
    return { stat };
  }
  const first = head;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      if (first.length > 0) controller.enqueue(new Uint8Array(first));
      socket.on('data', (d: Buffer) => {
        controller.enqueue(new Uint8Array(d));
        if ((controller.desiredSize ?? 1) <= 0) socket.pause();
      });
      socket.on('end', () => {
        controller.close();
        socket.destroy();
      });
      socket.on('error', (e) => controller.error(e));
    },
    pull() {
      socket.resume();
    },
    cancel() {
      socket.destroy();
    },
  });
  return { stat, body };
}

/** `docker cp` in: the tar goes to the runner, which answers one JSON line once it is unpacked (or refused). */
export async function extractOnRunner(socketPath: string, request: { containerId: string; path: string; copyUidGid: boolean; noOverwriteDirNonDir: boolean }, body: ReadableStream<Uint8Array> | null): Promise<unknown> {
  const { socket, rest } = await openRunnerSession(socketPath, { kind: 'extract', ...request });
  let answer = rest;
  let answered = false;
  const done = new Promise<Buffer>((resolve, reject) => {
    socket.on('data', (d: Buffer) => {
      answer = Buffer.concat([answer, d]);
      if (answer.length > 64 * 1024) socket.destroy();
    });
    socket.on('end', () => {
      answered = true;
      resolve(answer);
      socket.destroy();
    });
    socket.on('close', () => (answered ? undefined : reject(new Error('Cannot copy into the container: the runner closed the connection'))));
    socket.on('error', () => {});
  });
  socket.resume();
  const reader = body?.getReader();
  try {
    while (reader && !answered && !socket.destroyed) {
      const { value, done: end } = await reader.read();
      if (end) break;
      if (!socket.write(value)) await new Promise<void>((r) => socket.once('drain', () => r()).once('close', () => r()));
    }
  } finally {
    if (!answered) await reader?.cancel().catch(() => {});
    if (!socket.destroyed) socket.end();
  }
  const line = (await done).toString().trim();
  let parsed: { error?: unknown };
  try {
    parsed = JSON.parse(line) as { error?: unknown };
  } catch {
    throw new Error('Cannot copy into the container: the runner answered nonsense');
  }
  if (typeof parsed.error === 'string') throw new Error(parsed.error);
  return parsed;
}
