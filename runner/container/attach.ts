// Sessions with a container, as Node Duplexes, served on a unix socket of the runner
// (`<home>/attach.sock`) for the functions to relay (Docker's attach and exec hijacks).
//
// An attach session: writes go to the container's stdin FIFO, reads are its stdout and stderr
// framed as Docker multiplexes them (an 8-byte header: stream 1 or 2, three zero bytes, the length as
// a big-endian uint32). The output comes from the log files the container writes, so a session
// costs the container nothing and any number may be open. It starts from now, from the container's
// latest start (a client that attached before starting it, as `docker run` does), or from the
// beginning of its logs; it ends when the container exits. When asked, the client's half-close
// closes the container's stdin (Docker's StdinOnce), see shim.ts.
//
// Protocol: the client sends one JSON line (see parseSessionRequest); the runner answers `ok\n` and
// the connection is the session, or `error: <message>\n` for a request it refuses and closes. A
// session that fails later ends with a frame of stream 3 holding `{"error":"..."}`; an exec session
// ends with one holding `{"exitCode":n}`.
import { constants, createWriteStream, openSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { Duplex, PassThrough, type Readable } from 'node:stream';
import { parseTerminalSize } from './terminal';

export type AttachSession = Duplex;

export const STREAM_STDOUT = 1;
export const STREAM_STDERR = 2;
/** The runner's own frames (an exec's exit code); never passed on to a client. */
export const STREAM_CONTROL = 3;

export function encodeFrame(stream: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head[0] = stream;
  head.writeUInt32BE(payload.length, 4);
  return Buffer.concat([head, payload]);
}

export type LogOffsets = { stdout: number; stderr: number };

export function readLogOffsets(files: { stdout: string; stderr: string }): LogOffsets {
  const size = (f: string) => {
    try {
      return statSync(f).size;
    } catch {
      return 0;
    }
  };
  return { stdout: size(files.stdout), stderr: size(files.stderr) };
}

export interface AttachOptions {
  stdout: string;
  stderr: string;
  /** The stdin FIFO when the container keeps stdin open. */
  stdin?: string;
  exited: Promise<void>;
  from: LogOffsets;
  /** The client's half-close ends the container's stdin through this (our end is closed after it). */
  closeStdin?: () => Promise<void>;
}

export function openAttachSession(o: AttachOptions): AttachSession {
  const offsets = [o.from.stdout, o.from.stderr];
  let timer: NodeJS.Timeout | undefined;
  let ended = false;
  // Opening O_RDWR never blocks (the shim's holder has the other end); a plain write stream follows.
  const stdinFd = o.stdin ? openSync(o.stdin, constants.O_RDWR) : undefined;
  const stdin = stdinFd !== undefined ? createWriteStream('', { fd: stdinFd, autoClose: true }) : undefined;
  // A write in flight when the session ends fails with ERR_STREAM_DESTROYED; unheard, that error
  // would take the whole runner down. The write's own callback already reports it to the writer.
  stdin?.on('error', () => {});
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
          session.push(encodeFrame(i === 0 ? STREAM_STDOUT : STREAM_STDERR, Buffer.from(buf.subarray(0, bytesRead))));
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
      if (!stdin || !o.closeStdin) return cb();
      // Our end of the FIFO closes last: were it closed before the container opened the FIFO, what
      // was written would be dropped with the pipe (closeStdin waits for the container to run).
      void o.closeStdin().finally(() => stdin.end(() => cb()));
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
        if (!ended && !session.destroyed) timer = setTimeout(tick, 20);
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

export type SessionRequest =
  | { kind: 'attach'; containerId: string; stdin: boolean; closeStdin: boolean; from: 'now' | 'start' | 'beginning' }
  | { kind: 'resize'; containerId: string; execId?: string; rows: number; cols: number }
  | { kind: 'exec'; containerId: string; execId: string; argv: string[]; env: string[]; user?: string; cwd?: string; tty: boolean; stdin: boolean; rows?: number; cols?: number }
  | { kind: 'top'; containerId: string; psArgs: string[] }
  | { kind: 'stats'; containerId: string }
  | { kind: 'archive'; containerId: string; path: string; statOnly: boolean }
  | { kind: 'extract'; containerId: string; path: string; copyUidGid: boolean; noOverwriteDirNonDir: boolean };

/** The kinds answered with one JSON line after `ok` (then the connection closes). */
export type QueryRequest = Extract<SessionRequest, { kind: 'top' | 'stats' }>;

const HEX64 = /^[0-9a-f]{64}$/;

/** One request line; throws naming what is wrong. */
export function parseSessionRequest(line: string): SessionRequest {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(line) as Record<string, unknown>;
  } catch {
    throw new Error('Cannot open a session: the request is not JSON');
  }
  if (typeof raw !== 'object' || raw === null) throw new Error('Cannot open a session: the request is not an object');
  const kind = raw.kind ?? 'attach';
  if (typeof raw.containerId !== 'string' || !HEX64.test(raw.containerId)) throw new Error(`Cannot ${String(kind)}: "containerId" must be a container id`);
  const containerId = raw.containerId;
  const execId = raw.execId === undefined ? undefined : String(raw.execId);
  if (execId !== undefined && !HEX64.test(execId)) throw new Error(`Cannot ${String(kind)}: "execId" must be an exec id`);
  if (kind === 'attach') {
    const from = raw.from ?? 'now';
    if (from !== 'now' && from !== 'start' && from !== 'beginning') throw new Error(`Cannot attach from "${String(from)}": use now, start or beginning`);
    return { kind, containerId, stdin: raw.stdin === true, closeStdin: raw.closeStdin === true, from };
  }
  if (kind === 'resize') return { kind, containerId, ...(execId ? { execId } : {}), ...parseTerminalSize(raw.rows, raw.cols) };
  if (kind === 'exec') {
    if (!execId) throw new Error('Cannot exec: "execId" is missing');
    const strings = (v: unknown, what: string): string[] => {
      if (v === undefined) return [];
      if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw new Error(`Cannot exec: "${what}" must be a list of strings`);
      return v as string[];
    };
    const argv = strings(raw.argv, 'argv');
    if (argv.length === 0) throw new Error('Cannot exec: no command given');
    const r: SessionRequest = { kind, containerId, execId, argv, env: strings(raw.env, 'env'), tty: raw.tty === true, stdin: raw.stdin === true };
    if (typeof raw.user === 'string' && raw.user !== '') r.user = raw.user;
    if (typeof raw.cwd === 'string' && raw.cwd !== '') r.cwd = raw.cwd;
    if (raw.rows !== undefined || raw.cols !== undefined) Object.assign(r, parseTerminalSize(raw.rows, raw.cols));
    return r;
  }
  if (kind === 'top') {
    if (raw.psArgs !== undefined && (!Array.isArray(raw.psArgs) || !raw.psArgs.every((a) => typeof a === 'string' && /^[A-Za-z0-9,=_+-]{1,64}$/.test(a)) || raw.psArgs.length > 16)) {
      throw new Error('Cannot list processes: "psArgs" must be a list of ps options (letters, digits and ,=_+-)');
    }
    return { kind, containerId, psArgs: raw.psArgs === undefined || raw.psArgs.length === 0 ? ['-ef'] : (raw.psArgs as string[]) };
  }
  if (kind === 'stats') return { kind, containerId };
  if (kind === 'archive') {
    if (typeof raw.path !== 'string' || raw.path === '' || raw.path.length > 4096 || raw.path.includes('\0')) throw new Error('Cannot copy from the container: "path" must be a path');
    return { kind, containerId, path: raw.path, statOnly: raw.statOnly === true };
  }
  if (kind === 'extract') {
    if (typeof raw.path !== 'string' || !raw.path.startsWith('/') || raw.path.length > 4096 || raw.path.includes('\0')) throw new Error('Cannot copy into the container: "path" must be an absolute path');
    return { kind, containerId, path: raw.path, copyUidGid: raw.copyUidGid === true, noOverwriteDirNonDir: raw.noOverwriteDirNonDir === true };
  }
  throw new Error(`Cannot open a session of kind "${String(kind)}": use attach, resize, exec, top, stats, archive or extract`);
}

export interface SessionHandlers {
  attach(req: Extract<SessionRequest, { kind: 'attach' }>, gone: AbortSignal): Promise<AttachSession>;
  resize(req: Extract<SessionRequest, { kind: 'resize' }>): Promise<void>;
  exec(req: Extract<SessionRequest, { kind: 'exec' }>): Promise<Duplex>;
  /** top and stats: a JSON-serialisable answer. */
  query?(req: QueryRequest): Promise<unknown>;
  /** A path's stat and (unless only the stat is asked) its tar stream. */
  archive?(req: Extract<SessionRequest, { kind: 'archive' }>): Promise<{ stat: unknown; tar?: Readable }>;
  /** Checks the destination, then (once the client was told `ok`) unpacks the tar that follows. */
  extract?(req: Extract<SessionRequest, { kind: 'extract' }>): Promise<(tar: Readable) => Promise<unknown>>;
}

/** Serves sessions on a unix socket (see the header for the protocol). */
export function serveAttach(socketPath: string, handlers: SessionHandlers): Promise<Server> {
  // A socket file left by a previous runner process: listening would fail with EADDRINUSE.
  rmSync(socketPath, { force: true });
  // Half-open: a client that ends its input (stdin's end-of-file) still reads the output that follows.
  const server = createServer({ allowHalfOpen: true }, (socket: Socket) => {
    let head = '';
    const gone = new AbortController();
    socket.on('close', () => gone.abort());
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      const nl = head.indexOf('\n');
      if (nl < 0) {
        if (head.length > 64 * 1024) socket.destroy();
        return;
      }
      socket.off('data', onData);
      socket.pause();
      const rest = Buffer.from(head.slice(nl + 1), 'latin1');
      void (async () => {
        const req = parseSessionRequest(head.slice(0, nl));
        if (req.kind === 'resize') {
          await handlers.resize(req);
          socket.end('ok\n');
          return;
        }
        if (req.kind === 'extract') {
          if (!handlers.extract) throw new Error('Cannot copy into the container: this runner does not serve it');
          const unpack = await handlers.extract(req);
          socket.write('ok\n');
          const tar = new PassThrough();
          if (rest.length > 0) tar.write(rest);
          socket.pipe(tar);
          socket.resume();
          const answer = await unpack(tar).then(
            (r) => r,
            (e: unknown) => ({ error: (e as Error).message }),
          );
          // What the client still sends after a refusal is not read: the answer ends the session.
          if (!socket.destroyed) socket.end(`${JSON.stringify(answer)}\n`);
          return;
        }
        if (req.kind === 'archive') {
          if (!handlers.archive) throw new Error('Cannot copy from the container: this runner does not serve it');
          const { stat, tar } = await handlers.archive(req);
          socket.write(`ok\n${JSON.stringify(stat)}\n`);
          if (!tar) return void socket.end();
          socket.on('close', () => tar.destroy());
          tar.on('error', () => socket.destroy());
          tar.pipe(socket);
          return;
        }
        if (req.kind === 'top' || req.kind === 'stats') {
          if (!handlers.query) throw new Error(`Cannot answer "${req.kind}": this runner does not serve it`);
          const answer = await handlers.query(req);
          socket.end(`ok\n${JSON.stringify(answer)}\n`);
          return;
        }
        // `ok` before the session exists: a client attaching ahead of the start (docker run) waits
        // for this answer before it starts the container. Later failures end the stream with a
        // control frame naming them.
        socket.write('ok\n');
        let session: Duplex;
        try {
          session = req.kind === 'attach' ? await handlers.attach(req, gone.signal) : await handlers.exec(req);
        } catch (e) {
          if (!socket.destroyed) socket.end(encodeFrame(STREAM_CONTROL, Buffer.from(JSON.stringify({ error: (e as Error).message }))));
          return;
        }
        if (socket.destroyed) {
          session.destroy();
          return;
        }
        if (rest.length > 0) session.write(rest);
        socket.pipe(session).pipe(socket);
        socket.on('close', () => session.destroy());
        session.on('error', () => socket.destroy());
        // The output is over: a client that keeps its half open is not waited for.
        session.on('end', () => setTimeout(() => socket.destroy(), 1_000).unref());
      })().catch((e: unknown) => {
        if (!socket.destroyed) socket.end(`error: ${(e as Error).message}\n`);
      });
    };
    socket.on('data', onData);
    socket.on('error', () => {});
  });
  return new Promise((resolve, reject) => server.once('error', reject).listen(socketPath, () => resolve(server)));
}
