import { eq, inArray, sql as dsql } from 'drizzle-orm';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createDb } from '../../../db/client';
import {
  claimNextJob,
  completeJob,
  enqueueJob,
  failJob,
  getJob,
  leaseOf,
  reapExpiredLeases,
  releaseJob,
  renewLeases,
  requestJobCancel,
  withLease,
  LeaseLostError,
} from '../../../db/queries/jobs';
import { jobs } from '../../../db/schema';

const stack = inject('stack');
const { db, sql } = createDb(stack.env.DATABASE_URL!, { max: 4 });
afterAll(() => sql.end());

// Each test uses its own job kind, so tests sharing the database never claim each other's jobs.
const kind = (name: string) => `test.${name}.${Math.random().toString(36).slice(2, 8)}`;

async function expireLease(id: number) {
  await db.update(jobs).set({ leaseExpiresAt: dsql`now() - interval '1 second'` }).where(eq(jobs.id, id));
}

describe('the job queue', () => {
  it('claims the highest priority, oldest job first, and only kinds asked for', async () => {
    const k = kind('order');
    const a = await enqueueJob(db, { kind: k });
    const b = await enqueueJob(db, { kind: k, priority: 5 });
    await enqueueJob(db, { kind: kind('other') });
    const first = await claimNextJob(db, { runnerId: 'r1', leaseMs: 10_000, kinds: [k] });
    const second = await claimNextJob(db, { runnerId: 'r1', leaseMs: 10_000, kinds: [k] });
    const none = await claimNextJob(db, { runnerId: 'r1', leaseMs: 10_000, kinds: [k] });
    expect([first?.id, second?.id, none]).toEqual([b.id, a.id, undefined]);
    expect(first).toMatchObject({ status: 'running', attempts: 1, leaseGeneration: 1, leasedBy: 'r1' });
    expect(await claimNextJob(db, { runnerId: 'r1', leaseMs: 10_000, kinds: [] })).toBeUndefined();
  });

  it('honours a job pinned to a runner and required labels', async () => {
    const k = kind('pin');
    const pinned = await enqueueJob(db, { kind: k, runnerId: 'runner-b' });
    const gpu = await enqueueJob(db, { kind: k, requiredLabels: { gpu: 'true' } });
    expect(await claimNextJob(db, { runnerId: 'runner-a', leaseMs: 10_000, kinds: [k] })).toBeUndefined();
    expect((await claimNextJob(db, { runnerId: 'runner-b', leaseMs: 10_000, kinds: [k] }))?.id).toBe(pinned.id);
    expect((await claimNextJob(db, { runnerId: 'runner-a', labels: { gpu: 'true', zone: 'x' }, leaseMs: 10_000, kinds: [k] }))?.id).toBe(gpu.id);
  });

  it("rejects a stale runner's late write after another runner re-claimed the job", async () => {
    const k = kind('fence');
    const job = await enqueueJob(db, { kind: k });
    const first = (await claimNextJob(db, { runnerId: 'slow', leaseMs: 10_000, kinds: [k] }))!;
    await expireLease(job.id);
    expect(await reapExpiredLeases(db)).toMatchObject({ requeued: expect.arrayContaining([job.id]) });
    const second = (await claimNextJob(db, { runnerId: 'fast', leaseMs: 10_000, kinds: [k] }))!;
    expect(second.leaseGeneration).toBe(first.leaseGeneration + 1);

    expect(await completeJob(db, leaseOf(first), { from: 'slow' })).toBe(false);
    expect(await failJob(db, leaseOf(first), 'late failure')).toBe(false);
    await expect(withLease(db, leaseOf(first), async () => 'written')).rejects.toBeInstanceOf(LeaseLostError);
    expect((await renewLeases(db, 'slow', [leaseOf(first)], 10_000)).size).toBe(0);

    expect(await withLease(db, leaseOf(second), async () => 'written')).toBe('written');
    expect(await completeJob(db, leaseOf(second), { from: 'fast' })).toBe(true);
    expect(await getJob(db, job.id)).toMatchObject({ status: 'succeeded', result: { from: 'fast' }, attempts: 2 });
  });

  it('retries an expired lease up to the limit, then fails with the reason', async () => {
    const k = kind('limit');
    const job = await enqueueJob(db, { kind: k, maxAttempts: 2 });
    for (let attempt = 1; attempt <= 2; attempt++) {
      const claimed = await claimNextJob(db, { runnerId: `dies-${attempt}`, leaseMs: 10_000, kinds: [k] });
      expect(claimed?.attempts).toBe(attempt);
      await expireLease(job.id);
      await reapExpiredLeases(db);
    }
    const final = await getJob(db, job.id);
    expect(final).toMatchObject({ status: 'failed', attempts: 2 });
    expect(final?.error).toMatch(/lease expired: runner dies-2 stopped renewing it \(attempt 2 of 2\)/);
    expect(await claimNextJob(db, { runnerId: 'x', leaseMs: 10_000, kinds: [k] })).toBeUndefined();
  });

  it('requeues a retryable failure with backoff and fails a permanent one at once', async () => {
    const k = kind('fail');
    const retry = await enqueueJob(db, { kind: k });
    const perm = await enqueueJob(db, { kind: k });
    const c1 = (await claimNextJob(db, { runnerId: 'r', leaseMs: 10_000, kinds: [k] }))!;
    const c2 = (await claimNextJob(db, { runnerId: 'r', leaseMs: 10_000, kinds: [k] }))!;
    expect(await failJob(db, leaseOf(c1), 'S3 unavailable', { retryable: true, backoffMs: 60_000 })).toBe(true);
    expect(await failJob(db, leaseOf(c2), 'Dockerfile:3: unknown instruction')).toBe(true);
    expect(await getJob(db, retry.id)).toMatchObject({ status: 'queued', error: 'S3 unavailable' });
    expect(await getJob(db, perm.id)).toMatchObject({ status: 'failed', error: 'Dockerfile:3: unknown instruction' });
    // The backoff keeps it from being claimed at once.
    expect(await claimNextJob(db, { runnerId: 'r', leaseMs: 10_000, kinds: [k] })).toBeUndefined();
  });

  it('releases a job without counting the attempt, and cancels queued and running jobs', async () => {
    const k = kind('cancel');
    const a = await enqueueJob(db, { kind: k });
    const claimed = (await claimNextJob(db, { runnerId: 'r', leaseMs: 10_000, kinds: [k] }))!;
    expect(await releaseJob(db, leaseOf(claimed))).toBe(true);
    expect(await getJob(db, a.id)).toMatchObject({ status: 'queued', attempts: 0, leasedBy: null });

    const b = await enqueueJob(db, { kind: k });
    expect(await requestJobCancel(db, b.id)).toMatchObject({ status: 'cancelled' });
    const running = (await claimNextJob(db, { runnerId: 'r', leaseMs: 10_000, kinds: [k] }))!;
    expect(running.id).toBe(a.id);
    await requestJobCancel(db, a.id);
    expect((await renewLeases(db, 'r', [leaseOf(running)], 10_000)).get(a.id)).toEqual({ cancelRequested: true });
  });

  it('hands each of many concurrently claimed jobs to exactly one claimer', async () => {
    const k = kind('race');
    const created = await Promise.all(Array.from({ length: 40 }, () => enqueueJob(db, { kind: k })));
    const claimers = Array.from({ length: 8 }, async (_, i) => {
      const { db: own, sql: ownSql } = createDb(stack.env.DATABASE_URL!, { max: 1 });
      const got: number[] = [];
      for (;;) {
        const j = await claimNextJob(own, { runnerId: `c${i}`, leaseMs: 10_000, kinds: [k] });
        if (!j) break;
        got.push(j.id);
      }
      await ownSql.end();
      return got;
    });
    const all = (await Promise.all(claimers)).flat();
    expect(all.sort((x, y) => x - y)).toEqual(created.map((j) => j.id).sort((x, y) => x - y));
    const rows = await db.select().from(jobs).where(inArray(jobs.id, all));
    expect(rows.every((r) => r.attempts === 1 && r.leaseGeneration === 1)).toBe(true);
  });
});
