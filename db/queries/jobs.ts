// The job queue. Jobs are rows; runners claim with FOR UPDATE SKIP LOCKED and hold a lease that the
// heartbeat renews. Every claim bumps lease_generation, the fencing token: a runner writes results only
// while its generation is still the job's, so a runner that lost its lease cannot overwrite a newer
// attempt. Every state transition is one guarded UPDATE.
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '../client';
import { jobs, type Job, type NewJob } from '../schema';
import { toPostgresText } from '../postgres-text';

export const JOBS_CHANNEL = 'berth_jobs';

/** What a runner holds while it works a job: the id and the generation it claimed. */
export interface Lease {
  jobId: number;
  generation: number;
}

export class LeaseLostError extends Error {
  constructor(lease: Lease) {
    super(`Lease lost: job ${lease.jobId} is no longer held at generation ${lease.generation}`);
    this.name = 'LeaseLostError';
  }
}

export type EnqueueInput = Pick<NewJob, 'kind'> &
  Partial<Pick<NewJob, 'payload' | 'priority' | 'runnerId' | 'requiredLabels' | 'maxAttempts' | 'subjectId' | 'runAfter'>>;

/** Inserts a job and wakes listening runners (the NOTIFY is delivered when the caller's transaction commits). */
export async function enqueueJob(db: Db, input: EnqueueInput): Promise<Job> {
  const [job] = await db.insert(jobs).values(input).returning();
  await db.execute(sql`SELECT pg_notify(${JOBS_CHANNEL}, ${input.kind})`);
  return job!;
}

export interface ClaimOptions {
  runnerId: string;
  labels?: Record<string, string>;
  leaseMs: number;
  /** Only these kinds (none when empty); all when omitted. */
  kinds?: string[];
}

/** Claims the next runnable job for this runner, or undefined when none is waiting. */
export async function claimNextJob(db: Db, opts: ClaimOptions): Promise<Job | undefined> {
  const kinds = opts.kinds ? JSON.stringify(opts.kinds) : null;
  const labels = JSON.stringify(opts.labels ?? {});
  const rows = await db.execute<Record<string, unknown>>(sql`
    UPDATE jobs SET
      status = 'running',
      attempts = attempts + 1,
      lease_generation = lease_generation + 1,
      leased_by = ${opts.runnerId},
      lease_expires_at = now() + make_interval(secs => ${opts.leaseMs / 1000}),
      started_at = coalesce(started_at, now())
    WHERE id = (
      SELECT id FROM jobs
      WHERE status = 'queued'
        AND run_after <= now()
        AND (runner_id IS NULL OR runner_id = ${opts.runnerId})
        AND required_labels <@ ${labels}::jsonb
        AND (${kinds}::jsonb IS NULL OR kind IN (SELECT jsonb_array_elements_text(${kinds}::jsonb)))
      ORDER BY priority DESC, id
      LIMIT 1
      FOR UPDATE SKIP LOCKED
    )
    RETURNING id`);
  const id = rows[0]?.id;
  if (id === undefined) return undefined;
  const [job] = await db.select().from(jobs).where(eq(jobs.id, Number(id)));
  return job;
}

export function leaseOf(job: Pick<Job, 'id' | 'leaseGeneration'>): Lease {
  return { jobId: job.id, generation: job.leaseGeneration };
}

const held = (lease: Lease) =>
  and(eq(jobs.id, lease.jobId), eq(jobs.leaseGeneration, lease.generation), eq(jobs.status, 'running'));

/**
 * Extends the leases this runner still holds. Returns, for each lease still held, whether a cancel
 * was requested; a lease missing from the result is lost and its work must stop.
 */
export async function renewLeases(db: Db, runnerId: string, leases: Lease[], leaseMs: number): Promise<Map<number, { cancelRequested: boolean }>> {
  const out = new Map<number, { cancelRequested: boolean }>();
  if (leases.length === 0) return out;
  const rows = await db
    .update(jobs)
    .set({ leaseExpiresAt: sql`now() + make_interval(secs => ${leaseMs / 1000})` })
    .where(
      and(
        inArray(jobs.id, leases.map((l) => l.jobId)),
        eq(jobs.leasedBy, runnerId),
        eq(jobs.status, 'running'),
        sql`lease_expires_at > now()`,
      ),
    )
    .returning({ id: jobs.id, generation: jobs.leaseGeneration, cancelRequested: jobs.cancelRequested });
  const wanted = new Map(leases.map((l) => [l.jobId, l.generation]));
  for (const r of rows) if (wanted.get(r.id) === r.generation) out.set(r.id, { cancelRequested: r.cancelRequested });
  return out;
}

/** Marks the job succeeded under the lease. False when the lease was lost: the result is discarded. */
export async function completeJob(db: Db, lease: Lease, result: unknown = null): Promise<boolean> {
  const rows = await db
    .update(jobs)
    .set({ status: 'succeeded', result, finishedAt: sql`now()`, leaseExpiresAt: null })
    .where(held(lease))
    .returning({ id: jobs.id });
  return rows.length === 1;
}

/**
 * Records a failure under the lease. A retryable failure with attempts left goes back to the queue
 * after a backoff; otherwise the job fails with the reason. False when the lease was lost.
 */
export async function failJob(db: Db, lease: Lease, error: string, opts: { retryable?: boolean; backoffMs?: number } = {}): Promise<boolean> {
  const retryable = opts.retryable ?? false;
  const backoff = (opts.backoffMs ?? 1000) / 1000;
  const rows = await db
    .update(jobs)
    .set({
      status: retryable ? sql`CASE WHEN attempts < max_attempts THEN 'queued'::job_status ELSE 'failed'::job_status END` : 'failed',
      error: toPostgresText(error),
      runAfter: sql`now() + make_interval(secs => ${backoff})`,
      finishedAt: retryable ? sql`CASE WHEN attempts < max_attempts THEN NULL ELSE now() END` : sql`now()`,
      leasedBy: retryable ? sql`CASE WHEN attempts < max_attempts THEN NULL ELSE leased_by END` : undefined,
      leaseExpiresAt: null,
    })
    .where(held(lease))
    .returning({ id: jobs.id });
  return rows.length === 1;
}

/** Marks the job cancelled under the lease (the runner stopped it on request). */
export async function markJobCancelled(db: Db, lease: Lease, reason = 'cancelled'): Promise<boolean> {
  const rows = await db
    .update(jobs)
    .set({ status: 'cancelled', error: reason, finishedAt: sql`now()`, leaseExpiresAt: null })
    .where(held(lease))
    .returning({ id: jobs.id });
  return rows.length === 1;
}

/** Hands a job back untouched (a runner shutting down): the attempt does not count. */
export async function releaseJob(db: Db, lease: Lease): Promise<boolean> {
  const rows = await db
    .update(jobs)
    .set({ status: 'queued', attempts: sql`greatest(attempts - 1, 0)`, leasedBy: null, leaseExpiresAt: null })
    .where(held(lease))
    .returning({ id: jobs.id });
  return rows.length === 1;
}

/**
 * Requeues running jobs whose lease expired, or fails them with the reason once they have used
 * every attempt. Any runner may call this; it is idempotent. Returns the jobs it touched.
 */
export async function reapExpiredLeases(db: Db): Promise<{ requeued: number[]; failed: number[] }> {
  const rows = await db.execute<{ id: string | number; status: string }>(sql`
    UPDATE jobs SET
      status = CASE WHEN attempts < max_attempts THEN 'queued'::job_status ELSE 'failed'::job_status END,
      error = 'lease expired: runner ' || coalesce(leased_by, '?') || ' stopped renewing it (attempt ' || attempts || ' of ' || max_attempts || ')',
      finished_at = CASE WHEN attempts < max_attempts THEN NULL ELSE now() END,
      lease_expires_at = NULL
    WHERE status = 'running' AND lease_expires_at < now()
    RETURNING id, status`);
  const requeued: number[] = [];
  const failed: number[] = [];
  for (const r of rows) (r.status === 'queued' ? requeued : failed).push(Number(r.id));
  return { requeued, failed };
}

/** Cancels a queued job at once; asks the runner holding a running one to stop it. */
export async function requestJobCancel(db: Db, jobId: number): Promise<Job | undefined> {
  const [queued] = await db
    .update(jobs)
    .set({ status: 'cancelled', error: 'cancelled before it started', finishedAt: sql`now()`, cancelRequested: true })
    .where(and(eq(jobs.id, jobId), eq(jobs.status, 'queued')))
    .returning();
  if (queued) return queued;
  const [running] = await db
    .update(jobs)
    .set({ cancelRequested: true })
    .where(and(eq(jobs.id, jobId), eq(jobs.status, 'running')))
    .returning();
  return running;
}

/**
 * Runs fn in a transaction that holds the job's row lock and only while the lease is current, so a
 * result written to other tables (a build's status, a container's row) is fenced like the job's own.
 */
export async function withLease<T>(db: Db, lease: Lease, fn: (tx: Db) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    const rows = await tx.select({ id: jobs.id }).from(jobs).where(held(lease)).for('update');
    if (rows.length === 0) throw new LeaseLostError(lease);
    return fn(tx as unknown as Db);
  });
}

export async function getJob(db: Db, id: number): Promise<Job | undefined> {
  const [job] = await db.select().from(jobs).where(eq(jobs.id, id));
  return job;
}

/** How many jobs are in a state. */
export async function countJobs(db: Db, status: Job['status']): Promise<number> {
  const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(jobs).where(eq(jobs.status, status));
  return row?.n ?? 0;
}
