// Exec: Docker creates an exec, then starts it (usually hijacking the connection), then inspects it
// for the exit code. A hijacked start is a live session with the runner (stdin, TTY, resize; see
// hijack.node.ts); a detached or plain start runs the exec as a runner job (kind 'exec') that returns
// the output and exit code when the process ends. Created execs are kept in this process's memory
// (the Engine API is one Node process) for an hour; one started as a job carries its job's id.
import { Hono } from 'hono';
import { enqueueContainerJob } from '../../db/queries/containers';
import { getContainer } from '../../db/queries/container-runs';
import { getJob } from '../../db/queries/jobs';
import type { Db } from '../../db/client';
import type { AuthEnv } from '../auth';
import { requireContainer, RUNNING, sleep } from './container-ops';
import { dockerError } from './engine-errors';
import { parseTerminalSize, resizeTerminal } from './terminal-size';
import { frame, STDOUT } from './stream-frames';

export interface ExecEntry {
  id: string;
  containerId: string;
  accountIds: string[];
  command: string[];
  env: string[];
  user?: string;
  workdir?: string;
  tty: boolean;
  attachStdin: boolean;
  attachStdout: boolean;
  attachStderr: boolean;
  createdAt: number;
  jobId?: number;
  exitCode?: number;
  running: boolean;
}

const TTL_MS = 60 * 60 * 1000;
const execs = new Map<string, ExecEntry>();

function prune() {
  const now = Date.now();
  for (const [k, e] of execs) if (now - e.createdAt > TTL_MS) execs.delete(k);
}

export function findExec(id: string, accountIds: string[]): ExecEntry | undefined {
  const e = execs.get(id);
  return e && accountIds.some((a) => e.accountIds.includes(a)) ? e : undefined;
}

function hexId(): string {
  const b = crypto.getRandomValues(new Uint8Array(32));
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
}

/** Runs an exec through the runner and returns its output as Docker sends it (a frame, or raw with a TTY). */
export async function runExec(db: Db, e: ExecEntry, signal?: AbortSignal): Promise<{ exitCode: number; output: Uint8Array }> {
  const ctr = await getContainer(db, e.containerId);
  if (!ctr || !RUNNING.has(ctr.status)) throw dockerError(409, `Container ${e.containerId} is not running`);
  if (e.jobId !== undefined) throw dockerError(409, `Exec ${e.id} has already been started`);
  const env: Record<string, string> = {};
  for (const pair of e.env) {
    const i = pair.indexOf('=');
    if (i > 0) env[pair.slice(0, i)] = pair.slice(i + 1);
  }
  const job = await enqueueContainerJob(db, ctr, 'exec', { command: e.command, env, user: e.user ?? null, workdir: e.workdir ?? null });
  e.jobId = job.id;
  e.running = true;
  try {
    for (;;) {
      const j = await getJob(db, job.id);
      if (!j || ['succeeded', 'failed', 'cancelled'].includes(j.status)) {
        const r = (j?.result ?? {}) as { exitCode?: number; output?: string };
        const text = j?.status === 'succeeded' ? (r.output ?? '') : `${j?.error ?? 'the exec failed'}\n`;
        e.exitCode = j?.status === 'succeeded' ? (r.exitCode ?? 0) : 126;
        const bytes = new TextEncoder().encode(text);
        return { exitCode: e.exitCode, output: e.tty || bytes.length === 0 ? bytes : frame(STDOUT, bytes) };
      }
      if (signal?.aborted) throw dockerError(499, 'The client went away');
      await sleep(150);
    }
  } finally {
    e.running = false;
  }
}

export const execRoutes = new Hono<AuthEnv>();

execRoutes.post('/containers/:id/exec', async (c) => {
  const ctr = await requireContainer(c, c.req.param('id'));
  if (!RUNNING.has(ctr.status)) throw dockerError(409, `Container ${ctr.id} is not running`);
  let body: { Cmd?: unknown; Env?: unknown; User?: unknown; WorkingDir?: unknown; Tty?: unknown; AttachStdin?: unknown; AttachStdout?: unknown; AttachStderr?: unknown };
  try {
    body = JSON.parse((await c.req.text()) || '{}') as typeof body;
  } catch {
    throw dockerError(400, 'Invalid JSON body: it does not parse');
  }
  const list = (v: unknown, what: string) => {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v) || v.length > 4096 || !v.every((s) => typeof s === 'string')) throw dockerError(400, `Invalid "${what}": expected a list of strings`);
    return v as string[];
  };
  const command = list(body.Cmd, 'Cmd');
  if (command.length === 0) throw dockerError(400, 'No exec command specified');
  const user = typeof body.User === 'string' && body.User !== '' ? body.User : undefined;
  if (user !== undefined && !/^[A-Za-z0-9_.-]{1,64}(:[A-Za-z0-9_.-]{1,64})?$/.test(user)) throw dockerError(400, `Invalid user "${user}": expected user[:group]`);
  prune();
  const entry: ExecEntry = {
    id: hexId(),
    containerId: ctr.id,
    accountIds: c.var.actingAccountIds,
    command,
    env: list(body.Env, 'Env'),
    user,
    workdir: typeof body.WorkingDir === 'string' && body.WorkingDir.startsWith('/') ? body.WorkingDir : undefined,
    tty: body.Tty === true,
    attachStdin: body.AttachStdin === true,
    // Docker attaches both output streams unless told which.
    attachStdout: body.AttachStdout !== false,
    attachStderr: body.AttachStderr !== false,
    createdAt: Date.now(),
    running: false,
  };
  execs.set(entry.id, entry);
  return c.json({ Id: entry.id }, 201);
});

function requireExec(id: string, accountIds: string[]): ExecEntry {
  const e = findExec(id, accountIds);
  if (!e) throw dockerError(404, `No such exec instance: ${id}`);
  return e;
}

execRoutes.post('/exec/:id/start', async (c) => {
  const e = requireExec(c.req.param('id'), c.var.actingAccountIds);
  let detach = false;
  try {
    detach = (JSON.parse((await c.req.text()) || '{}') as { Detach?: unknown }).Detach === true;
  } catch {
    throw dockerError(400, 'Invalid JSON body: it does not parse');
  }
  const db = c.var.platform.db;
  if (detach) {
    void runExec(db, e).catch(() => {});
    return c.body(null, 200);
  }
  const { output } = await runExec(db, e, c.req.raw.signal);
  return new Response(output as Uint8Array<ArrayBuffer>, { headers: { 'Content-Type': e.tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream' } });
});

execRoutes.post('/exec/:id/resize', async (c) => {
  const e = requireExec(c.req.param('id'), c.var.actingAccountIds);
  if (!e.running) throw dockerError(409, `Exec ${e.id} is not running`);
  if (e.tty) await resizeTerminal(c.var.platform, { containerId: e.containerId, execId: e.id, ...parseTerminalSize(c.req.query('h'), c.req.query('w')) });
  return c.body(null, 200);
});

execRoutes.get('/exec/:id/json', (c) => {
  const e = requireExec(c.req.param('id'), c.var.actingAccountIds);
  return c.json({
    ID: e.id,
    ContainerID: e.containerId,
    Running: e.running,
    ExitCode: e.exitCode ?? null,
    OpenStdin: e.attachStdin,
    OpenStdout: e.attachStdout,
    OpenStderr: e.attachStderr,
    ProcessConfig: { entrypoint: e.command[0], arguments: e.command.slice(1), tty: e.tty, user: e.user ?? '' },
    Pid: 0,
  });
});
