// `docker top` and `docker stats`: asked of the container's runner through its session socket (the
// Node entry's platform.runnerSessions.query), rendered as Docker's Engine API does. A container that
// is not running has no processes (409, as Docker) and zero usage.
import { Hono, type Context } from 'hono';
import type { Container } from '../../db/schema';
import type { AuthEnv } from '../auth';
import { requireContainer, RUNNING, sleep } from './container-ops';
import { dockerError } from './engine-errors';
import type { StatsSample } from '../core/stats-sample';


/** `docker top CTR <ps options>`: the options after the container, as the CLI joins them. */
export function parsePsArgs(raw: string | undefined): string[] {
  const text = (raw ?? '').trim() || '-ef';
  if (text.length > 200 || !/^[A-Za-z0-9 ,=_+-]+$/.test(text)) throw dockerError(400, `Invalid ps options "${text}": only letters, digits, spaces and ,=_+- are allowed`);
  const args = text.split(/\s+/);
  if (args.length > 16) throw dockerError(400, `Invalid ps options "${text}": at most 16 of them`);
  return args;
}

function cpuStats(s: StatsSample | undefined) {
  return {
    cpu_usage: { total_usage: s?.cpuNs ?? 0, usage_in_kernelmode: s?.cpuSystemNs ?? 0, usage_in_usermode: s?.cpuUserNs ?? 0 },
    system_cpu_usage: s?.systemNs ?? 0,
    online_cpus: s?.onlineCpus ?? 0,
    throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
  };
}

/** One entry of Docker's stats stream (cgroup v1 fields); `pre` is the sample a second before. */
export function renderStats(ctr: Container, now: StatsSample | undefined, pre: StatsSample | undefined, at: Date, preAt: Date | undefined) {
  return {
    read: at.toISOString(),
    preread: preAt?.toISOString() ?? '0001-01-01T00:00:00Z',
    id: ctr.id,
    name: `/${ctr.name}`,
    pids_stats: now ? { current: now.pids.current, ...(now.pids.limit !== undefined ? { limit: now.pids.limit } : {}) } : {},
    blkio_stats: { io_service_bytes_recursive: null, io_serviced_recursive: null, io_queue_recursive: null, io_service_time_recursive: null, io_wait_time_recursive: null, io_merged_recursive: null, io_time_recursive: null, sectors_recursive: null },
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cpuStats(now),
    precpu_stats: cpuStats(pre),
    memory_stats: now ? { usage: now.memory.usage, max_usage: now.memory.maxUsage, stats: now.memory.stats, limit: now.memory.limit } : {},
    ...(now ? { networks: now.networks } : {}),
  };
}

async function askRunner(c: Context<AuthEnv>, request: { kind: 'top'; containerId: string; psArgs: string[] } | { kind: 'stats'; containerId: string }): Promise<unknown> {
  const sessions = c.var.platform.runnerSessions;
  if (!sessions?.query) throw dockerError(404, `${c.req.method} ${c.req.path} is not supported by this deployment of Berth's Docker Engine API: it cannot reach the runners`);
  try {
    return await sessions.query(request);
  } catch (e) {
    const message = (e as Error).message;
    if (/is not running/.test(message)) throw dockerError(409, `Container ${request.containerId} is not running`);
    throw dockerError(502, `Cannot read ${request.kind === 'top' ? 'the processes' : 'the usage'} of container ${request.containerId.slice(0, 12)} from its runner: ${message}`);
  }
}

async function sample(c: Context<AuthEnv>, ctr: Container): Promise<StatsSample | undefined> {
  if (!RUNNING.has(ctr.status)) return undefined;
  try {
    return (await askRunner(c, { kind: 'stats', containerId: ctr.id })) as StatsSample;
  } catch (e) {
    // It stopped between the row's read and the runner's: zero usage, as for any stopped container.
    if ((e as { status?: number }).status === 409) return undefined;
    throw e;
  }
}

export const containerUsage = new Hono<AuthEnv>();

containerUsage.get('/containers/:id/top', async (c) => {
  const ctr = await requireContainer(c, c.req.param('id'));
  const psArgs = parsePsArgs(c.req.query('ps_args'));
  if (!RUNNING.has(ctr.status)) throw dockerError(409, `Container ${ctr.id} is not running`);
  return c.json(await askRunner(c, { kind: 'top', containerId: ctr.id, psArgs }));
});

containerUsage.get('/containers/:id/stats', async (c) => {
  const ctr = await requireContainer(c, c.req.param('id'));
  const flag = (k: string, fallback: boolean) => {
    const v = c.req.query(k);
    if (v === undefined || v === '') return fallback;
    if (!['1', 'true', '0', 'false'].includes(v)) throw dockerError(400, `Invalid "${k}" "${v}": expected true or false`);
    return v === '1' || v === 'true';
  };
  const stream = flag('stream', true);
  const oneShot = flag('one-shot', false);
  if (oneShot && stream) throw dockerError(400, 'Cannot stream stats with one-shot: one-shot needs stream=false');
  if (!stream) {
    // As Docker: without one-shot the answer waits a second so the CPU share can be worked out.
    const preAt = oneShot ? undefined : new Date();
    const pre = oneShot ? undefined : await sample(c, ctr);
    if (!oneShot) await sleep(1000);
    const at = new Date();
    return c.json(renderStats(ctr, await sample(c, ctr), pre, at, preAt));
  }
  const signal = c.req.raw.signal;
  const enc = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      let pre: StatsSample | undefined;
      let preAt: Date | undefined;
      try {
        while (!signal.aborted) {
          const at = new Date();
          const now = await sample(c, ctr);
          controller.enqueue(enc.encode(`${JSON.stringify(renderStats(ctr, now, pre, at, preAt))}\n`));
          pre = now;
          preAt = at;
          await sleep(1000);
        }
      } catch {
        // the runner went away: the stream ends
      }
      controller.close();
    },
  });
  return new Response(body, { status: 200, headers: { 'Content-Type': 'application/json' } });
});
