// The runner's side of the queue: claim, heartbeat, run handlers, write results under the lease.
import type { Db, Sql } from '../../db/client';
import {
  JOBS_CHANNEL,
  claimNextJob,
  completeJob,
  failJob,
  leaseOf,
  markJobCancelled,
  reapExpiredLeases,
  releaseJob,
  renewLeases,
  type Lease,
} from '../../db/queries/jobs';
import { heartbeatRunner, markDeadRunners } from '../../db/queries/runners';
import type { Job } from '../../db/schema';

export interface JobContext {
  job: Job;
  lease: Lease;
  /** Aborted when the job is cancelled, its lease is lost, or the runner shuts down past its grace. */
  signal: AbortSignal;
  db: Db;
}

export type JobHandler = (ctx: JobContext) => Promise<unknown>;

/** A failure worth another attempt (S3 briefly away, …). Any other error fails the job for good. */
export class RetryableError extends Error {
  override name = 'RetryableError';
}

export type AbortReason = 'cancelled' | 'lease-lost' | 'shutdown';

export interface QueueWorkerOptions {
  db: Db;
  /** The raw client, for LISTEN. Without it the worker polls. */
  sql?: Sql;
  runnerId: string;
  labels?: Record<string, string>;
  handlers: Record<string, JobHandler>;
  concurrency?: number;
  leaseMs?: number;
  heartbeatMs?: number;
  pollMinMs?: number;
  pollMaxMs?: number;
  /** A runner silent for this long is marked dead by its peers. */
  runnerStaleMs?: number;
  log?: (msg: string) => void;
  /** Called on each heartbeat with the runner's row status, e.g. to stop claiming when draining. */
  onHeartbeat?: (status: string | undefined) => void;
}

export interface QueueWorker {
  /** Stops claiming; waits up to graceMs for running jobs, then aborts and releases the rest. */
  stop(graceMs?: number): Promise<void>;
  running(): number;
  /** Claims at once instead of waiting for the next wake-up. */
  poke(): void;
}

interface Active {
  lease: Lease;
  controller: AbortController;
  done: Promise<void>;
}

export function startQueueWorker(o: QueueWorkerOptions): QueueWorker {
  const leaseMs = o.leaseMs ?? 30_000;
  const heartbeatMs = o.heartbeatMs ?? Math.max(200, Math.floor(leaseMs / 3));
  const pollMin = o.pollMinMs ?? 250;
  const pollMax = o.pollMaxMs ?? 5_000;
  const concurrency = o.concurrency ?? 2;
  const log = o.log ?? (() => {});
  const kinds = Object.keys(o.handlers);
  const active = new Map<number, Active>();
  let stopping = false;
  let draining = false;
  let wake: (() => void) | undefined;
  let pollDelay = pollMin;
  let unlisten: (() => Promise<void>) | undefined;

  const poke = () => {
    pollDelay = pollMin;
    wake?.();
  };

  if (o.sql) {
    o.sql
      .listen(JOBS_CHANNEL, () => poke())
      .then((l) => {
        unlisten = () => l.unlisten();
      })
      .catch((err) => log(`LISTEN failed, polling only: ${String(err)}`));
  }

  async function runJob(job: Job): Promise<void> {
    const lease = leaseOf(job);
    const controller = new AbortController();
    const handler = o.handlers[job.kind]!;
    const done = (async () => {
      try {
        const result = await handler({ job, lease, signal: controller.signal, db: o.db });
        if (controller.signal.aborted) return settleAborted(lease, controller.signal.reason as AbortReason);
        if (!(await completeJob(o.db, lease, result ?? null))) log(`job ${job.id}: lease lost before completion; result discarded`);
      } catch (err) {
        if (controller.signal.aborted) return settleAborted(lease, controller.signal.reason as AbortReason);
        const message = err instanceof Error ? err.message : String(err);
        const retryable = err instanceof RetryableError;
        if (!(await failJob(o.db, lease, message, { retryable }))) log(`job ${job.id}: lease lost before failure was recorded`);
      }
    })()
      .catch((err) => log(`job ${job.id}: could not record the outcome: ${String(err)}`))
      .finally(() => {
        active.delete(job.id);
        poke();
      });
    active.set(job.id, { lease, controller, done });
  }

  async function settleAborted(lease: Lease, reason: AbortReason): Promise<void> {
    if (reason === 'cancelled') await markJobCancelled(o.db, lease);
    else if (reason === 'shutdown') await releaseJob(o.db, lease);
    // lease-lost: another attempt owns the job now; write nothing.
  }

  async function claimLoop(): Promise<void> {
    while (!stopping) {
      let claimed = false;
      if (!draining && active.size < concurrency) {
        try {
          const job = await claimNextJob(o.db, { runnerId: o.runnerId, labels: o.labels, leaseMs, kinds });
          if (job && stopping) {
            await releaseJob(o.db, leaseOf(job));
          } else if (job) {
            claimed = true;
            pollDelay = pollMin;
            await runJob(job);
          }
        } catch (err) {
          log(`claim failed: ${String(err)}`);
        }
      }
      if (claimed) continue;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, pollDelay);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      wake = undefined;
      pollDelay = Math.min(pollMax, pollDelay * 2);
    }
  }

  async function heartbeat(): Promise<void> {
    const row = await heartbeatRunner(o.db, o.runnerId);
    draining = row?.status === 'draining';
    o.onHeartbeat?.(row?.status);
    const leases = [...active.values()].map((a) => a.lease);
    const held = await renewLeases(o.db, o.runnerId, leases, leaseMs);
    for (const a of active.values()) {
      const h = held.get(a.lease.jobId);
      if (!h) a.controller.abort('lease-lost' satisfies AbortReason);
      else if (h.cancelRequested) a.controller.abort('cancelled' satisfies AbortReason);
    }
    const reaped = await reapExpiredLeases(o.db);
    if (reaped.requeued.length > 0) poke();
    await markDeadRunners(o.db, o.runnerStaleMs ?? Math.max(leaseMs * 2, 10_000));
  }

  const timer = setInterval(() => {
    heartbeat().catch((err) => log(`heartbeat failed: ${String(err)}`));
  }, heartbeatMs);
  const loop = claimLoop();

  return {
    running: () => active.size,
    poke,
    async stop(graceMs = 10_000) {
      stopping = true;
      wake?.();
      await loop;
      const all = [...active.values()];
      const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref?.());
      if ((await Promise.race([Promise.all(all.map((a) => a.done)), timeout])) === 'timeout') {
        for (const a of active.values()) a.controller.abort('shutdown' satisfies AbortReason);
        await Promise.all([...active.values()].map((a) => a.done));
      }
      clearInterval(timer);
      await unlisten?.().catch(() => {});
    },
  };
}
