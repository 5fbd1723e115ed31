// Attaching to a running container, as a Node Duplex: writes go to the container's stdin FIFO,
// reads are its stdout and stderr from the moment of attaching (raw bytes, both streams merged, as
// Docker's attach without a TTY multiplexes them; callers that need them apart read log_lines).
// The output comes from the log files the container writes, so an attach session costs the
// container nothing and any number may be open. The session ends when the container exits.
//
// serveAttach exposes sessions on a unix socket of the runner (`<home>/attach.sock`): a client
// sends one JSON line `{"containerId":"<64 hex>"}`, then the connection is the session (bytes in →
// stdin, bytes out ← output), closed by the runner when the container exits. The functions relay
// it to a user (e.g. Docker's attach/hijack) through whatever reaches the runner.
// Not yet: a TTY (needs runc's console socket held by the shim) and resize.
import { constants, createWriteStream, openSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { Duplex } from 'node:stream';

export type AttachSession = Duplex;

export function openAttachSession(o: { stdout: string; stderr: string; stdin?: string; exited: Promise<void> }): AttachSession {
  const offsets = [o.stdout, o.stderr].map((f) => {
    try {
      return statSync(f).size;
    } catch {
      return 0;
    }
  });
  let timer: NodeJS.Timeout | undefined;
  let ended = false;
  // Opening O_RDWR never blocks (the shim holds the other end); a plain write stream then follows.
  const stdinFd = o.stdin ? openSync(o.stdin, constants.O_RDWR) : undefined;
  const stdin = stdinFd !== undefined ? createWriteStream('', { fd: stdinFd, autoClose: true }) : undefined;
  const pump = async (final: boolean) => {
    for (const [i, file] of [o.stdout, o.stderr].entries()) {
      const fh = await open(file, 'r').catch(() => undefined);
      if (!fh) continue;
      try {
        const buf = Buffer.alloc(64 * 1024);
        for (;;) {
          const { bytesRead } = await fh.read(buf, 0, buf.length, offsets[i]!);
          if (bytesRead === 0) break;
          offsets[i]! += bytesRead;
          session.push(Buffer.from(buf.subarray(0, bytesRead)));
        }
      } finally {
        await fh.close();
      }
    }
    if (final && !ended) {
      ended = true;
      session.push(null);
    }
  };
  const session = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      if (!stdin) return cb(new Error('Cannot write to the container: it was not started with stdin open'));
      stdin.write(chunk, cb);
    },
    final(cb) {
      cb();
    },
    destroy(err, cb) {
      clearTimeout(timer);
      stdin?.destroy();
      cb(err);
    },
  });
  const tick = () => {
    void pump(false)
      .catch(() => {})
      .finally(() => {
        if (!ended && !session.destroyed) timer = setTimeout(tick, 50);
      });
  };
  tick();
  void o.exited.then(async () => {
    clearTimeout(timer);
    await pump(true).catch(() => {});
    stdin?.destroy();
  });
  return session;
}

/** Serves attach sessions on a unix socket (see the header for the protocol). */
export function serveAttach(socketPath: string, attach: (containerId: string) => AttachSession): Promise<Server> {
  // A socket file left by a previous runner process: listening would fail with EADDRINUSE.
  rmSync(socketPath, { force: true });
  const server = createServer((socket: Socket) => {
    let head = '';
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      const nl = head.indexOf('\n');
      if (nl < 0) {
        if (head.length > 1024) socket.destroy();
        return;
      }
      socket.off('data', onData);
      const rest = Buffer.from(head.slice(nl + 1), 'latin1');
      let session: AttachSession;
      try {
        const req = JSON.parse(head.slice(0, nl)) as { containerId?: unknown };
        if (typeof req.containerId !== 'string' || !/^[0-9a-f]{64}$/.test(req.containerId)) throw new Error('Cannot attach: "containerId" must be a container id');
        session = attach(req.containerId);
      } catch (e) {
        socket.end(`error: ${(e as Error).message}\n`);
        return;
      }
      if (rest.length > 0) session.write(rest);
      socket.pipe(session).pipe(socket);
      socket.on('close', () => session.destroy());
      session.on('error', () => socket.destroy());
    };
    socket.on('data', onData);
    socket.on('error', () => {});
  });
  return new Promise((resolve, reject) => server.once('error', reject).listen(socketPath, () => resolve(server)));
}
