// Runner processes racing for the real queue in the real Postgres.
import { spawn, type ChildProcess } from 'node:child_process';
import { and, eq, inArray, like } from 'drizzle-orm';
import { afterAll, describe, expect, inject, it, onTestFinished } from 'vitest';
import { createDb } from '../../../db/client';
import { enqueueJob, getJob } from '../../../db/queries/jobs';
import { jobs, logLines } from '../../../db/schema';
import { stopChild, tsArgv } from '../../../infra/services';
import { waitFor } from '../../support/wait-for';

const stack = inject('stack');
const { db, sql } = createDb(stack.env.DATABASE_URL!, { max: 4 });
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await sql.end();
});

function startRunner(id: string, leaseMs: number, concurrency = 4, env: Record<string, string> = {}): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const [cmd, args] = tsArgv('test/runner/queue/fixtures/queue-runner.ts', [id, String(leaseMs), String(concurrency)]);
    const child = spawn(cmd, args, {
      env: { ...process.env, ...env, DATABASE_URL: stack.env.DATABASE_URL },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    // A failed assertion must not leave this runner claiming the next test's jobs.
    onTestFinished(() => {
      child.kill('SIGKILL');
    });
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('queue-runner ready')) resolve(child);
    });
    child.stderr!.on('data', (d) => (out += d));
    child.on('exit', (code) => reject(new Error(`runner ${id} exited (${code}): ${out}`)));
  });
}

async function executions(ids: number[]) {
  const rows = await db
    .select({ subjectId: logLines.subjectId, line: logLines.line })
    .from(logLines)
    .where(and(eq(logLines.subjectKind, 'build'), inArray(logLines.subjectId, ids.map((i) => `job-${i}`))));
  return rows;
}

describe('runner processes on the queue', () => {
  it('two runners racing for 200 jobs run each exactly once', async () => {
    const suffix = Math.random().toString(36).slice(2, 8);
    // Leases long enough that none expires under a loaded CI machine: this test is about claims.
    const [a, b] = await Promise.all([startRunner(`race-a-${suffix}`, 30_000), startRunner(`race-b-${suffix}`, 30_000)]);
    const created = await db
      .insert(jobs)
      .values(Array.from({ length: 200 }, () => ({ kind: 'test.record', payload: {} })))
      .returning({ id: jobs.id });
    await db.execute(`NOTIFY berth_jobs, 'test.record'` as never);
    const ids = created.map((c) => c.id);
    await waitFor('all 200 jobs to finish', async () => {
      const rows = await db.select({ status: jobs.status }).from(jobs).where(inArray(jobs.id, ids));
      return rows.every((r) => r.status === 'succeeded');
    }, 60_000);
    const lines = await executions(ids);
    expect(lines).toHaveLength(200);
    expect(new Set(lines.map((l) => l.subjectId)).size).toBe(200);
    const byRunner = new Map<string, number>();
    for (const l of lines) byRunner.set(l.line, (byRunner.get(l.line) ?? 0) + 1);
    // Both runners took part; neither did everything.
    expect(byRunner.size).toBe(2);
    const rows = await db.select().from(jobs).where(inArray(jobs.id, ids));
    expect(rows.every((r) => r.attempts === 1)).toBe(true);
    await Promise.all([stopChild(a), stopChild(b)]);
  });

  it('a runner SIGKILLed mid-job: another completes the job after the lease expires', async () => {
    const suffix = Math.random().toString(36).slice(2, 8);
    const victim = await startRunner(`victim-${suffix}`, 1500, 1);
    const job = await enqueueJob(db, { kind: 'test.sleep', payload: { ms: 60_000 }, runnerId: `victim-${suffix}` });
    // Its handler's first write marks that the work really began.
    await waitFor('the victim to start the job', async () => (await executions([job.id])).length === 1);
    victim.kill('SIGKILL');
    // Unpin it, as rescheduling does for a dead runner's work, and make the next attempt short.
    await db.update(jobs).set({ runnerId: null, payload: { ms: 200 } }).where(eq(jobs.id, job.id));
    const rescuer = await startRunner(`rescuer-${suffix}`, 1500, 1);
    const done = await waitFor('the rescuer to complete the job', async () => {
      const j = await getJob(db, job.id);
      return j?.status === 'succeeded' ? j : undefined;
    });
    expect(done).toMatchObject({ attempts: 2, leasedBy: `rescuer-${suffix}`, result: { runner: `rescuer-${suffix}` } });
    const lines = (await executions([job.id])).map((l) => l.line).sort();
    expect(lines).toEqual([`started by rescuer-${suffix}`, `started by victim-${suffix}`]);
    await stopChild(rescuer);
  });

  it('a runner shutting down releases the job it cannot finish, and another takes it', async () => {
    const suffix = Math.random().toString(36).slice(2, 8);
    const leaving = await startRunner(`leaving-${suffix}`, 5000, 1);
    const job = await enqueueJob(db, { kind: 'test.sleep', payload: { ms: 60_000 }, runnerId: `leaving-${suffix}` });
    await waitFor('the job to start', async () => (await getJob(db, job.id))?.status === 'running');
    // GRACE_MS=5000 in the fixture: it waits, then aborts and releases.
    await stopChild(leaving, 20_000);
    expect(await getJob(db, job.id)).toMatchObject({ status: 'queued', attempts: 0, leasedBy: null });
    await db.update(jobs).set({ runnerId: null, payload: { ms: 10 } }).where(eq(jobs.id, job.id));
    const next = await startRunner(`next-${suffix}`, 5000, 1);
    await waitFor('the next runner to finish it', async () => (await getJob(db, job.id))?.status === 'succeeded');
    await stopChild(next);
  });

  it('wakes an idle runner by NOTIFY, long before its next poll', async () => {
    const suffix = Math.random().toString(36).slice(2, 8);
    // Polling every 30 s: only a NOTIFY can make it pick the job up within the test's bound.
    const idle = await startRunner(`idle-${suffix}`, 60_000, 1, { POLL_MIN_MS: '30000', POLL_MAX_MS: '30000' });
    await new Promise((r) => setTimeout(r, 1000));
    const started = Date.now();
    const job = await enqueueJob(db, { kind: 'test.record', runnerId: `idle-${suffix}` });
    await waitFor('the idle runner to run it', async () => (await getJob(db, job.id))?.status === 'succeeded', 10_000);
    expect(Date.now() - started).toBeLessThan(1500);
    await stopChild(idle);
  });

  it('cleans up the rows it made', async () => {
    await db.delete(logLines).where(like(logLines.subjectId, 'job-%'));
  });
});
