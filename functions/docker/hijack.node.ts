// The calls that take over the connection (Docker's "hijack"): POST /containers/{id}/attach and an
// attached POST /exec/{id}/start, sent with `Connection: Upgrade, Upgrade: tcp`. Node's HTTP server
// hands those to its 'upgrade' event with the raw socket, which Workers cannot do.
// Attach: output comes from the container's log lines (stdout and stderr kept apart, so frames say
// which), polled every 100 ms until the container ends; stdin goes to the runner's attach socket
// once the container runs (bytes typed before that are held).
import type { IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { findAccountByToken } from '../../db/queries/accounts';
import { findContainerAnyState, findContainerByPrefix, lastLogLineId } from '../../db/queries/docker-containers';
import { readLogLines } from '../../db/queries/logs';
import { listActingAccountIds } from '../../db/queries/memberships';
import { readCredentials } from '../auth';
import type { Platform } from '../platform';
import { stripApiVersion } from './api-version';
import { ENDED } from './container-ops';
import { specOf } from './container-view';
import { renderDockerError, dockerError } from './engine-errors';
import { findExec, runExec } from './exec';
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

async function attach(platform: Platform, socket: Duplex, head: Buffer, accountIds: string[], idOrName: string, q: URLSearchParams, runnerSocket: string) {
  const db = platform.db;
  const ctr = await findContainerByPrefix(db, accountIds, idOrName);
  if (!ctr) throw dockerError(404, `No such container: ${idOrName}`);
  const tty = specOf(ctr).tty === true;
  const on = (k: string) => q.get(k) === '1' || q.get(k) === 'true';
  const wantStdin = on('stdin') && specOf(ctr).stdin === true;
  const o = { tty, timestamps: false };
  const subject = { kind: 'container' as const, id: ctr.id };
  let after = on('logs') ? 0 : await lastLogLineId(db, subject);
  upgraded(socket, !tty);
  let closed = false;
  socket.on('close', () => (closed = true));
  socket.on('error', () => (closed = true));

  // stdin: held until the container runs, then relayed to the runner's attach socket.
  let runner: Socket | undefined;
  const pending: Buffer[] = head.length > 0 ? [head] : [];
  if (wantStdin) {
    socket.on('data', (d: Buffer) => (runner ? runner.write(d) : pending.push(d)));
    // The client's half-close is not passed on: the runner's session cannot close the container's
    // stdin (its FIFO stays open in the shim), and ending the session with a write in flight there
    // crashes the runner (containers branch, runner/container/attach.ts has no error listener).
    socket.on('end', () => {});
    socket.resume();
  } else {
    socket.resume(); // nothing to read, but the client's half-close must be seen
  }

  let sawRunning = false;
  for (;;) {
    if (closed) break;
    const row = await findContainerAnyState(db, accountIds, ctr.id);
    if (row && !sawRunning && row.status === 'running') {
      sawRunning = true;
      if (wantStdin) {
        runner = connect(runnerSocket);
        runner.on('error', () => {});
        runner.write(`${JSON.stringify({ containerId: ctr.id })}\n`);
        for (const p of pending.splice(0)) runner.write(p);
        runner.resume(); // its output duplicates the log lines read below
      }
    }
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
  // Let a last stdin write land before the session goes (see above).
  if (runner) setTimeout(() => runner?.destroy(), 1000);
}

async function execStart(platform: Platform, socket: Duplex, req: IncomingMessage, head: Buffer, accountIds: string[], id: string) {
  const e = findExec(id, accountIds);
  if (!e) throw dockerError(404, `No such exec instance: ${id}`);
  const text = await readBody(socket, head, Number(req.headers['content-length'] ?? 0));
  let tty = e.tty;
  try {
    tty = (JSON.parse(text || '{}') as { Tty?: unknown }).Tty === true || e.tty;
  } catch {
    throw dockerError(400, 'Invalid JSON body: it does not parse');
  }
  e.tty = tty;
  upgraded(socket, !tty);
  socket.resume();
  const { output } = await runExec(platform.db, e);
  socket.end(output);
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
    if (req.method === 'POST' && execMatch) return execStart(platform, socket, req, head, accountIds, execMatch[1]!);
    throw dockerError(404, `${req.method} ${path} with a connection upgrade is not supported by Berth's Docker Engine API`);
  })().catch((err: unknown) => {
    if (socket.destroyed) return;
    if (switched.has(socket)) socket.end();
    else respondError(socket, err);
  });
}
