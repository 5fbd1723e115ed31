// Shared steps of the container endpoints: finding the caller's container, waiting on its row, and
// stopping it through the runner's jobs. A row is polled (every 200 ms): the runner writes state
// changes there, and Docker's calls block until the state they asked for.
import type { Context } from 'hono';
import { cancelQueuedRun, enqueueContainerJob, setContainerStatus } from '../../db/queries/containers';
import { findContainerAnyState, findContainerByPrefix } from '../../db/queries/docker-containers';
import type { Db } from '../../db/client';
import type { Container } from '../../db/schema';
import type { AuthEnv } from '../auth';
import { dockerError } from './engine-errors';

export const POLL_MS = 200;
export const ACTIVE = new Set(['created', 'starting', 'running', 'restarting', 'stopping']);
export const RUNNING = new Set(['running', 'restarting', 'stopping']);
export const ENDED = new Set(['exited', 'dead', 'removed']);

export async function requireContainer(c: Context<AuthEnv>, idOrName: string): Promise<Container> {
  const found = await findContainerByPrefix(c.var.platform.db, c.var.actingAccountIds, idOrName);
  if (!found) throw dockerError(404, `No such container: ${idOrName}`);
  return found;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls the row until `done` holds (or it is gone), at most `timeoutMs`. */
export async function waitForRow(db: Db, accountIds: string[], id: string, done: (c: Container) => boolean, o: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<Container | undefined> {
  const deadline = o.timeoutMs === undefined ? Infinity : Date.now() + o.timeoutMs;
  for (;;) {
    const row = await findContainerAnyState(db, accountIds, id);
    if (!row || done(row) || Date.now() > deadline || o.signal?.aborted) return row;
    await sleep(POLL_MS);
  }
}

/** Asks for a stop: a run still queued is cancelled outright; a placed one gets a 'stop' job. */
export async function requestStop(db: Db, ctr: Container, signal: 'SIGTERM' | 'SIGKILL', graceSeconds: number): Promise<void> {
  if (!ctr.runnerId && (await cancelQueuedRun(db, ctr.id))) {
    await setContainerStatus(db, ctr.id, 'exited', { exitReason: 'stopped before it started', finishedAt: new Date() });
    return;
  }
  await enqueueContainerJob(db, ctr, 'stop', { signal, graceSeconds });
  if (ctr.status === 'running') await setContainerStatus(db, ctr.id, 'stopping');
}

/** Linux's signal numbers (x86 and arm64 agree on these), as `docker kill --signal` may give them. */
const SIGNALS = ['HUP', 'INT', 'QUIT', 'ILL', 'TRAP', 'ABRT', 'BUS', 'FPE', 'KILL', 'USR1', 'SEGV', 'USR2', 'PIPE', 'ALRM', 'TERM', 'STKFLT', 'CHLD', 'CONT', 'STOP', 'TSTP', 'TTIN', 'TTOU', 'URG', 'XCPU', 'XFSZ', 'VTALRM', 'PROF', 'WINCH', 'IO', 'PWR', 'SYS'];

/** Docker's signal names and numbers (`KILL`, `SIGHUP`, `10`, `RTMIN+3`) → `SIGxxx`, or the number for a real-time one. */
export function parseKillSignal(raw: string | undefined): string {
  if (raw === undefined || raw.trim() === '') return 'SIGKILL';
  const s = raw.trim().toUpperCase().replace(/^SIG/, '');
  if (/^\d{1,2}$/.test(s)) {
    const n = Number(s);
    if (n >= 1 && n <= SIGNALS.length) return `SIG${SIGNALS[n - 1]!}`;
    if (n >= 34 && n <= 64) return String(n);
  } else if (SIGNALS.includes(s)) {
    return `SIG${s}`;
  } else {
    const rt = /^RTMIN(?:\+(\d{1,2}))?$/.exec(s) ?? /^RTMAX(?:-(\d{1,2}))?$/.exec(s);
    if (rt) {
      const n = s.startsWith('RTMIN') ? 34 + Number(rt[1] ?? 0) : 64 - Number(rt[1] ?? 0);
      if (n >= 34 && n <= 64) return String(n);
    }
  }
  throw dockerError(400, `Invalid signal: ${raw}`);
}
