// The calls that take over the connection (Docker's "hijack"): POST /containers/{id}/attach and an
// attached POST /exec/{id}/start, sent with `Connection: Upgrade, Upgrade: tcp`. Node's HTTP server
// hands those to its 'upgrade' event with the raw socket, which Workers cannot do.
// Both relay a session of the runner's (runner/container/attach.ts): its framed output goes to the
// client as Docker's multiplexed stream, or raw with a TTY; the client's bytes go to the container's
// stdin, and its half-close is passed on. Attach asks for the output from the container's next start
// when it is not running yet (the CLI attaches, then starts). When the runner's socket cannot be
// reached (a runner on another machine), attach falls back to the log lines in Postgres, polled, and
// exec to a runner job whose output arrives whole.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { findAccountByToken } from '../../db/queries/accounts';
import { findContainerAnyState, findContainerByPrefix, lastLogLineId } from '../../db/queries/docker-containers';
import { readLogLines } from '../../db/queries/logs';
import { listActingAccountIds } from '../../db/queries/memberships';
import { readCredentials } from '../auth';
import type { Platform } from '../platform';
import { stripApiVersion } from './api-version';
import { ENDED, RUNNING } from './container-ops';
import { specOf } from './container-view';
import { renderDockerError, dockerError } from './engine-errors';
import { findExec, runExec, type ExecEntry } from './exec';
import { createFrameReader, openRunnerSession, RunnerUnreachable, STREAM_CONTROL } from './runner-sessions.node.ts';
import { encodeLogLine } from './stream-frames';

const OUTPUT_POLL_MS = 100;

function respondError(socket: Duplex, err: unknown) {
  const { status, body } = renderDockerError(err);
  const text = JSON.stringify(body);
  socket.end(`HTTP/1.1 ${status} Error\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`);
}

/** Sockets already switched to the raw stream: an error there can only end the stream. */
const switched = new WeakSet<Duplex>();

function upgraded(socket: Duplex, multiplexed: boolean) {
  switched.add(socket);
  socket.write(`HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.${multiplexed ? 'multiplexed' : 'raw'}-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`);
}

async function authenticate(platform: Platform, req: IncomingMessage): Promise<string[]> {
  const creds = readCredentials(req.headers.authorization);
  const found = creds && (await findAccountByToken(platform.db, creds.secret));
  if (!found || !(found.token.scopes as string[]).some((s) => s === 'write' || s === 'admin')) throw dockerError(401, 'Authentication failed: send a token with the write scope as Authorization: Bearer <token>');
  return listActingAccountIds(platform.db, found.account);
}

/** Reads a small request body that follows the headers on a hijacked socket. */
function readBody(socket: Duplex, head: Buffer, length: number): Promise<string> {
  if (length > 64 * 1024) return Promise.reject(dockerError(413, 'Request refused: the body is too large'));
  let buf = head;
  if (buf.length >= length) return Promise.resolve(buf.subarray(0, length).toString());
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= length) {
        socket.off('data', onData);
        socket.pause();
        resolve(buf.subarray(0, length).toString());
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

type Flags = { stdout: boolean; stderr: boolean };

/**
 * Relays a runner session to the client: output frames (stdout/stderr as asked; the runner's control
 * frames are kept), raw with a TTY; the client's input and its half-close go to the runner.
 */
function relaySession(client: Duplex, runner: Duplex, rest: Buffer, o: { tty: boolean; flags: Flags; stdin: boolean; head: Buffer; onControl?: (msg: Record<string, unknown>) => void }): Promise<void> {
  return new Promise((resolve) => {
    const read = createFrameReader((stream, f) => {
      if (stream === STREAM_CONTROL) {
        try {
          const msg = JSON.parse(f.subarray(8).toString()) as Record<string, unknown>;
          o.onControl?.(msg);
          if (typeof msg.error === 'string') client.write(o.tty ? `${msg.error}\r\n` : frameText(2, `${msg.error}\n`));
        } catch {
          // not ours to show
        }
        return;
      }
      if ((stream === 1 && !o.flags.stdout) || (stream === 2 && !o.flags.stderr)) return;
      client.write(o.tty ? f.subarray(8) : f);
    });
    if (rest.length > 0) read(rest);
    runner.on('data', read);
    runner.on('end', () => {
      client.end();
      resolve();
    });
    runner.on('close', () => resolve());
    client.on('close', () => runner.destroy());
    if (o.stdin) {
      if (o.head.length > 0) runner.write(o.head);
      client.on('data', (d: Buffer) => runner.write(d));
      client.on('end', () => runner.end());
    } else {
      client.on('data', () => {});
    }
    client.resume();
    runner.resume();
  });
}

function frameText(stream: number, text: string): Buffer {
  const payload = Buffer.from(text);
  const head = Buffer.alloc(8);
  head[0] = stream;
  head.writeUInt32BE(payload.length, 4);
  return Buffer.concat([head, payload]);
}

async function attach(platform: Platform, socket: Duplex, head: Buffer, accountIds: string[], idOrName: string, q: URLSearchParams, runnerSocket: string) {
  const ctr = await findContainerByPrefix(platform.db, accountIds, idOrName);
  if (!ctr) throw dockerError(404, `No such container: ${idOrName}`);
  const spec = specOf(ctr) as { tty?: boolean; stdin?: boolean; stdinOnce?: boolean };
  const on = (k: string) => q.get(k) === '1' || q.get(k) === 'true';
  const tty = spec.tty === true;
  const stdin = on('stdin') && spec.stdin === true;
  // Not running yet: the output from its coming start (docker run and start -a attach first).
  const from = on('logs') ? 'beginning' : RUNNING.has(ctr.status) ? 'now' : 'start';
  let session: Awaited<ReturnType<typeof openRunnerSession>>;
  try {
    session = await openRunnerSession(runnerSocket, { kind: 'attach', containerId: ctr.id, stdin, closeStdin: stdin && spec.stdinOnce === true, from });
  } catch (e) {
    if (e instanceof RunnerUnreachable) return attachFromLogs(platform, socket, accountIds, ctr.id, tty, q);
    throw e;
  }
  upgraded(socket, !tty);
  await relaySession(socket, session.socket, session.rest, { tty, flags: { stdout: on('stdout'), stderr: on('stderr') }, stdin, head });
}

/** Output only, from the log lines in Postgres (no runner reachable from here). */
async function attachFromLogs(platform: Platform, socket: Duplex, accountIds: string[], containerId: string, tty: boolean, q: URLSearchParams) {
  const db = platform.db;
  const on = (k: string) => q.get(k) === '1' || q.get(k) === 'true';
  const o = { tty, timestamps: false };
  const subject = { kind: 'container' as const, id: containerId };
  let after = on('logs') ? 0 : await lastLogLineId(db, subject);
  upgraded(socket, !tty);
  let closed = false;
  socket.on('close', () => (closed = true));
  socket.on('error', () => (closed = true));
  socket.resume(); // nothing is relayed, but the client's half-close must be seen
  for (;;) {
    if (closed) break;
    const row = await findContainerAnyState(db, accountIds, containerId);
    const lines = await readLogLines(db, subject, after);
    for (const l of lines) {
      after = l.id;
      if (l.stream === 'system') continue;
      if ((l.stream === 'stderr' && !on('stderr')) || (l.stream === 'stdout' && !on('stdout'))) continue;
      socket.write(encodeLogLine(l, o));
    }
    if (lines.length === 1000) continue;
    if (!row || ENDED.has(row.status)) break;
    await new Promise((r) => setTimeout(r, OUTPUT_POLL_MS));
  }
  socket.end();
}

async function execStart(platform: Platform, socket: Duplex, req: IncomingMessage, head: Buffer, accountIds: string[], id: string, runnerSocket: string) {
  const e = findExec(id, accountIds);
  if (!e) throw dockerError(404, `No such exec instance: ${id}`);
  const length = Number(req.headers['content-length'] ?? 0);
  const text = await readBody(socket, head, length);
  let body: { Tty?: unknown; ConsoleSize?: unknown };
  try {
    body = JSON.parse(text || '{}') as typeof body;
  } catch {
    throw dockerError(400, 'Invalid JSON body: it does not parse');
  }
  e.tty = body.Tty === true || e.tty;
  const size = Array.isArray(body.ConsoleSize) && body.ConsoleSize.length === 2 ? { rows: Number(body.ConsoleSize[0]), cols: Number(body.ConsoleSize[1]) } : undefined;
  if (e.jobId !== undefined || e.running || e.exitCode !== undefined) throw dockerError(409, `Exec ${e.id} has already been started`);
  let session: Awaited<ReturnType<typeof openRunnerSession>>;
  try {
    session = await openRunnerSession(runnerSocket, execRequest(e, size));
  } catch (err) {
    if (!(err instanceof RunnerUnreachable)) throw err;
    upgraded(socket, !e.tty);
    socket.resume();
    const { output } = await runExec(platform.db, e);
    socket.end(output);
    return;
  }
  e.running = true;
  upgraded(socket, !e.tty);
  const rest = head.subarray(Math.min(head.length, length));
  await relaySession(socket, session.socket, session.rest, {
    tty: e.tty,
    flags: { stdout: e.attachStdout, stderr: e.attachStderr },
    stdin: e.attachStdin,
    head: rest,
    onControl: (msg) => {
      if (typeof msg.exitCode === 'number') e.exitCode = msg.exitCode;
      else if (typeof msg.error === 'string') e.exitCode = 126;
    },
  });
  e.running = false;
  if (e.exitCode === undefined) e.exitCode = 137; // the runner went away mid-exec
}

function execRequest(e: ExecEntry, size?: { rows: number; cols: number }): Record<string, unknown> {
  return {
    kind: 'exec',
    containerId: e.containerId,
    execId: e.id,
    argv: e.command,
    env: e.env,
    tty: e.tty,
    stdin: e.attachStdin,
    ...(e.user ? { user: e.user } : {}),
    ...(e.workdir ? { cwd: e.workdir } : {}),
    ...(size && Number.isInteger(size.rows) && Number.isInteger(size.cols) && size.rows > 0 && size.cols > 0 ? size : {}),
  };
}

/** Serves one upgrade request; answers anything else with a Docker error. */
export function handleHijack(platform: Platform, runnerSocket: string, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  socket.on('error', () => {});
  void (async () => {
    const url = new URL(req.url ?? '/', 'http://docker');
    const { path, error } = stripApiVersion(url.pathname);
    if (error) throw dockerError(400, error);
    const accountIds = await authenticate(platform, req);
    const attachMatch = /^\/containers\/([^/]+)\/attach$/.exec(path);
    const execMatch = /^\/exec\/([0-9a-f]{64})\/start$/.exec(path);
    if (req.method === 'POST' && attachMatch) return attach(platform, socket, head, accountIds, decodeURIComponent(attachMatch[1]!), url.searchParams, runnerSocket);
    if (req.method === 'POST' && execMatch) return execStart(platform, socket, req, head, accountIds, execMatch[1]!, runnerSocket);
    throw dockerError(404, `${req.method} ${path} with a connection upgrade is not supported by Berth's Docker Engine API`);
  })().catch((err: unknown) => {
    if (socket.destroyed) return;
    if (switched.has(socket)) socket.end();
    else respondError(socket, err);
  });
}
