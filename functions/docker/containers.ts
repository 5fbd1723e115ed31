// /containers/* and /exec/*: Docker's container lifecycle mapped onto Berth's rows and runner jobs.
// Attach and an attached exec start hijack the connection; the Node entry serves those
// (hijack.node.ts). A detached exec start and every other call is plain HTTP here.
import { Hono, type Context } from 'hono';
import { enqueueContainerJob, markContainerRemoved } from '../../db/queries/containers';
import { insertCreatedContainer, listContainersForDocker, queueContainerStart, reopenContainer } from '../../db/queries/docker-containers';
import { getJob } from '../../db/queries/jobs';
import { listTaggedImages, type TaggedImage } from '../../db/queries/docker-images';
import type { Db } from '../../db/client';
import { readLogLines } from '../../db/queries/logs';
import type { Container } from '../../db/schema';
import type { AuthEnv } from '../auth';
import { registryHost } from '../api/app-address';
import { parseContainerName, parseCreateBody, type DockerCreateBody } from './container-config';
import { ACTIVE, ENDED, parseKillSignal, POLL_MS, requestStop, requireContainer, RUNNING, sleep, waitForRow } from './container-ops';
import { renderInspect, renderSummary, specOf } from './container-view';
import { dockerError } from './engine-errors';
import { parseFiltersParam } from './filters-param';
import { containerCopy } from './container-copy';
import { containerManage } from './container-manage';
import { containerUsage } from './container-usage';
import { execRoutes } from './exec';
import { createImageDefaults } from './image-defaults';
import { runReference } from './image-names';
import { encodeLogLine } from './stream-frames';
import { parseTerminalSize, resizeTerminal } from './terminal-size';

const flag = (v: string | undefined) => v === '1' || v === 'true';

/** `since`/`until` of logs: Unix seconds, with a fraction as the CLI sends them (0 or absent: no bound). */
function parseLogTime(raw: string | undefined, what: string): number {
  if (raw === undefined || raw === '') return 0;
  const n = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw) || !Number.isFinite(n)) throw dockerError(400, `Invalid ${what} "${raw}": expected Unix seconds such as 1700000000.5`);
  return n;
}

function displayImage(c: Context<AuthEnv>, ref: string): string {
  const prefix = `${registryHost(c.var.platform)}/${c.var.account.name}/`;
  if (ref.startsWith(prefix)) return ref.slice(prefix.length).replace(/:latest$/, '');
  return ref.replace(/^docker\.io\/(library\/)?/, '');
}

async function readJson<T>(c: Context<AuthEnv>): Promise<T> {
  const text = await c.req.text();
  if (text.length > 1024 * 1024) throw dockerError(413, 'Request refused: the container config is larger than 1 MiB');
  try {
    return JSON.parse(text || '{}') as T;
  } catch {
    throw dockerError(400, 'Invalid JSON body: it does not parse');
  }
}

/**
 * A runner keeps an exited container's files and refuses to run it again (Berth's own API never
 * does); Docker starts exited containers again. So the runner first removes it (its 'remove' job),
 * and the row, marked removed by that job, is reopened for the new run.
 */
async function freeOnRunner(db: Db, ctr: Container): Promise<void> {
  const job = await enqueueContainerJob(db, ctr, 'remove', {});
  const deadline = Date.now() + 60_000;
  for (;;) {
    const j = await getJob(db, job.id);
    if (!j || ['succeeded', 'failed', 'cancelled'].includes(j.status)) break;
    if (Date.now() > deadline) throw dockerError(500, `Cannot start container ${ctr.id.slice(0, 12)}: its runner did not free its previous run in time`);
    await sleep(POLL_MS);
  }
  await reopenContainer(db, ctr.id);
}

/** Queues the run and waits until it runs or fails, as Docker's start returns once started. */
async function startAndWait(c: Context<AuthEnv>, ctr: Container): Promise<void> {
  const db = c.var.platform.db;
  const before = ctr.startedAt?.getTime() ?? 0;
  if (ctr.runnerId && ENDED.has(ctr.status)) await freeOnRunner(db, ctr);
  if (!(await queueContainerStart(db, ctr.id))) return;
  const row = await waitForRow(db, c.var.actingAccountIds, ctr.id, (r) => (r.status === 'running' && (r.startedAt?.getTime() ?? 0) > before) || ENDED.has(r.status) || r.status === 'restarting', { timeoutMs: 120_000 });
  if (row?.status === 'dead') {
    // Docker removes an auto-remove container whose start failed; a waiter for its removal ends.
    if (row.autoRemove) await markContainerRemoved(db, row.id);
    throw dockerError(500, `Cannot start container ${ctr.id.slice(0, 12)}: ${row.exitReason ?? 'it failed to start'}`);
  }
}

/** An image given by its ID (sha256:<hex>, or 12+ hex as the CLI shows it). */
async function findImageById(db: Db, accountIds: string[], input: string): Promise<TaggedImage | undefined> {
  const hex = input.replace(/^sha256:/, '');
  if (!/^[0-9a-f]{12,64}$/.test(hex)) return undefined;
  return (await listTaggedImages(db, accountIds)).find((r) => r.id.slice(7).startsWith(hex) || r.digest.slice(7).startsWith(hex));
}

export const containersEngine = new Hono<AuthEnv>();

containersEngine.post('/containers/create', async (c) => {
  const db = c.var.platform.db;
  const parsed = parseCreateBody(await readJson<DockerCreateBody>(c));
  const name = parseContainerName(c.req.query('name')) ?? `berth_${crypto.randomUUID().slice(0, 8)}`;
  const host = registryHost(c.var.platform);
  const byId = await findImageById(db, c.var.actingAccountIds, parsed.image);
  const imageRef = byId ? `${host}/${byId.repository}:${byId.tag}` : await runReference(parsed.image, c.var.account.name, host, async (n) => (await listTaggedImages(db, c.var.actingAccountIds, n.repository)).some((r) => r.tag === n.tag));
  const ctr = await insertCreatedContainer(db, {
    accountId: c.var.account.id,
    appId: null,
    name,
    imageRef,
    spec: parsed.spec,
    ports: parsed.ports,
    restartPolicy: parsed.restartPolicy,
    autoRemove: parsed.autoRemove,
  });
  if (!ctr) throw dockerError(409, `Conflict. The container name "/${name}" is already in use. You have to remove (or rename) that container to be able to reuse that name.`);
  return c.json({ Id: ctr.id, Warnings: [] }, 201);
});

containersEngine.get('/containers/json', async (c) => {
  const filters = parseFiltersParam(c.req.query('filters'), ['id', 'name', 'status', 'label', 'ancestor'], 'Berth filters containers');
  const values = (k: string) => filters[k] ?? [];
  const limit = Number(c.req.query('limit') || 0);
  const rows = await listContainersForDocker(c.var.platform.db, c.var.actingAccountIds, { all: flag(c.req.query('all')) || values('status').length > 0, limit: limit > 0 ? Math.min(limit, 1000) : 1000 });
  const defaults = createImageDefaults(c.var.platform, c.var.actingAccountIds);
  const images = await Promise.all(rows.map((r) => defaults(r)));
  const out = rows
    .map((r, i) => renderSummary(r, displayImage(c, r.imageRef), images[i]))
    .filter((s) => values('id').every((v) => s.Id.startsWith(v)))
    .filter((s) => values('name').every((v) => s.Names[0]!.slice(1).includes(v)))
    .filter((s) => values('status').length === 0 || values('status').includes(s.State))
    .filter((s) => values('ancestor').every((v) => s.Image === v || s.Image === v.replace(/:latest$/, '')))
    .filter((s) =>
      values('label').every((v) => {
        const [k, val] = v.split('=', 2);
        return k! in s.Labels && (val === undefined || (s.Labels as Record<string, string>)[k!] === val);
      }),
    );
  return c.json(out);
});

containersEngine.get('/containers/:id/json', async (c) => {
  const ctr = await requireContainer(c, c.req.param('id'));
  return c.json(renderInspect(ctr, displayImage(c, ctr.imageRef), await createImageDefaults(c.var.platform, c.var.actingAccountIds)(ctr)));
});

containersEngine.post('/containers/:id/start', async (c) => {
  const ctr = await requireContainer(c, c.req.param('id'));
  if (RUNNING.has(ctr.status)) return c.body(null, 304);
  await startAndWait(c, ctr);
  return c.body(null, 204);
});

containersEngine.post('/containers/:id/stop', async (c) => {
  const db = c.var.platform.db;
  const ctr = await requireContainer(c, c.req.param('id'));
  if (!ACTIVE.has(ctr.status) || ctr.status === 'created') return c.body(null, 304);
  const grace = Math.min(3600, Math.max(0, Number(c.req.query('t') ?? 10) || 0));
  await requestStop(db, ctr, grace === 0 ? 'SIGKILL' : 'SIGTERM', grace);
  await waitForRow(db, c.var.actingAccountIds, ctr.id, (r) => ENDED.has(r.status), { timeoutMs: (grace + 30) * 1000 });
  return c.body(null, 204);
});

containersEngine.post('/containers/:id/kill', async (c) => {
  const db = c.var.platform.db;
  const ctr = await requireContainer(c, c.req.param('id'));
  const signal = parseKillSignal(c.req.query('signal'));
  if (!RUNNING.has(ctr.status) && ctr.status !== 'starting') throw dockerError(409, `Cannot kill container: ${ctr.id.slice(0, 12)}: container ${ctr.id} is not running`);
  // SIGKILL ends it for good (no restart, as a stop); any other signal is only delivered to PID 1.
  if (signal === 'SIGKILL') await requestStop(db, ctr, signal, 0);
  else await enqueueContainerJob(db, ctr, 'signal', { signal });
  return c.body(null, 204);
});

containersEngine.post('/containers/:id/restart', async (c) => {
  const db = c.var.platform.db;
  const ctr = await requireContainer(c, c.req.param('id'));
  const grace = Math.min(3600, Math.max(0, Number(c.req.query('t') ?? 10) || 0));
  if (RUNNING.has(ctr.status) || ctr.status === 'starting') {
    await requestStop(db, ctr, grace === 0 ? 'SIGKILL' : 'SIGTERM', grace);
    await waitForRow(db, c.var.actingAccountIds, ctr.id, (r) => ENDED.has(r.status), { timeoutMs: (grace + 30) * 1000 });
  }
  const now = await requireContainer(c, ctr.id);
  await startAndWait(c, now);
  return c.body(null, 204);
});

containersEngine.post('/containers/:id/resize', async (c) => {
  const ctr = await requireContainer(c, c.req.param('id'));
  if (!RUNNING.has(ctr.status) && ctr.status !== 'starting') throw dockerError(409, `Container ${ctr.id} is not running`);
  await resizeTerminal(c.var.platform, { containerId: ctr.id, ...parseTerminalSize(c.req.query('h'), c.req.query('w')) });
  return c.body(null, 200);
});

containersEngine.delete('/containers/:id', async (c) => {
  const db = c.var.platform.db;
  let ctr = await requireContainer(c, c.req.param('id'));
  if (ACTIVE.has(ctr.status) && ctr.status !== 'created') {
    if (!flag(c.req.query('force'))) {
      throw dockerError(409, `cannot remove container "/${ctr.name}": container is ${ctr.status === 'starting' ? 'starting' : 'running'}: stop the container before removing or force remove`);
    }
    await requestStop(db, ctr, 'SIGKILL', 0);
    ctr = (await waitForRow(db, c.var.actingAccountIds, ctr.id, (r) => ENDED.has(r.status), { timeoutMs: 30_000 })) ?? ctr;
  }
  if (ctr.runnerId) await enqueueContainerJob(db, ctr, 'remove', {});
  await markContainerRemoved(db, ctr.id);
  return c.body(null, 204);
});

containersEngine.post('/containers/:id/wait', async (c) => {
  const db = c.var.platform.db;
  const ids = c.var.actingAccountIds;
  const ctr = await requireContainer(c, c.req.param('id'));
  const condition = c.req.query('condition') || 'not-running';
  if (!['not-running', 'next-exit', 'removed'].includes(condition)) throw dockerError(400, `Invalid condition "${condition}": expected not-running, next-exit or removed`);
  const firstFinish = ctr.finishedAt?.getTime() ?? 0;
  const done = (r: Container) => {
    if (condition === 'removed') return r.status === 'removed';
    if (condition === 'not-running') return ENDED.has(r.status) || r.status === 'created';
    return ENDED.has(r.status) && (r.finishedAt?.getTime() ?? 0) > firstFinish;
  };
  const signal = c.req.raw.signal;
  const enc = new TextEncoder();
  // The headers go out at once (the CLI waits for them before it starts the container); the body
  // follows at the exit.
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      controller.enqueue(enc.encode(' '));
      const row = await waitForRow(db, ids, ctr.id, done, { signal });
      const code = row?.exitCode ?? (row?.status === 'dead' ? 125 : 0);
      const error = row?.status === 'dead' ? { Message: row.exitReason ?? 'the container failed' } : null;
      controller.enqueue(enc.encode(`${JSON.stringify({ StatusCode: code, Error: error })}\n`));
      controller.close();
    },
  });
  return new Response(body, { status: 200, headers: { 'Content-Type': 'application/json' } });
});

containersEngine.get('/containers/:id/logs', async (c) => {
  const db = c.var.platform.db;
  const ids = c.var.actingAccountIds;
  const ctr = await requireContainer(c, c.req.param('id'));
  const stdout = flag(c.req.query('stdout'));
  const stderr = flag(c.req.query('stderr'));
  if (!stdout && !stderr) throw dockerError(400, 'You must choose at least one stream');
  const follow = flag(c.req.query('follow'));
  const o = { tty: specOf(ctr).tty === true, timestamps: flag(c.req.query('timestamps')) };
  const tailRaw = c.req.query('tail') ?? 'all';
  const tail = tailRaw === 'all' || tailRaw === '' ? undefined : Number(tailRaw);
  if (tail !== undefined && (!Number.isInteger(tail) || tail < 0)) throw dockerError(400, `Invalid tail "${tailRaw}": a number or "all"`);
  const since = parseLogTime(c.req.query('since'), 'since');
  const until = parseLogTime(c.req.query('until'), 'until');
  const signal = c.req.raw.signal;
  const subject = { kind: 'container' as const, id: ctr.id };
  const wanted = (s: string) => (s === 'stderr' ? stderr : s === 'stdout' ? stdout : false);
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      let after = 0;
      let first = true;
      for (;;) {
        if (signal.aborted) break;
        const row = follow ? await waitForRow(db, ids, ctr.id, () => true) : undefined;
        let lines = await readLogLines(db, subject, after);
        if (lines.length > 0) after = lines[lines.length - 1]!.id;
        if (first && tail !== undefined) {
          // The tail is over everything so far, not one page.
          let all = lines;
          while (lines.length === 1000) {
            lines = await readLogLines(db, subject, after);
            if (lines.length > 0) after = lines[lines.length - 1]!.id;
            all = [...all, ...lines].slice(-Math.max(tail, 1000));
          }
          lines = tail === 0 ? [] : all.filter((l) => wanted(l.stream)).slice(-tail);
        }
        first = false;
        const inWindow = (l: { at: Date }) => l.at.getTime() / 1000 >= since && (until === 0 || l.at.getTime() / 1000 <= until);
        for (const l of lines) if (wanted(l.stream) && inWindow(l)) controller.enqueue(encodeLogLine(l, o));
        if (lines.length === 1000) continue;
        if (!follow || !row || ENDED.has(row.status) || (until !== 0 && Date.now() / 1000 > until)) break;
        await sleep(POLL_MS);
      }
      controller.close();
    },
  });
  return new Response(body, { headers: { 'Content-Type': o.tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream' } });
});

containersEngine.route('/', execRoutes);
containersEngine.route('/', containerManage);
containersEngine.route('/', containerUsage);
containersEngine.route('/', containerCopy);
