import { randomBytes } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createDb } from '../../../db/client';
import {
  getContainer,
  markContainerExited,
  markContainerRunning,
  placeContainer,
  rescheduleContainersOfDeadRunners,
} from '../../../db/queries/container-runs';
import { accounts, containers, jobs, runners } from '../../../db/schema';
import { newHexId } from '../../../functions/core/ids';

const stack = inject('stack');
const { db, sql } = createDb(stack.env.DATABASE_URL!, { max: 2 });
const suffix = randomBytes(4).toString('hex');
const accountId = `acc_cr_${suffix}`;
afterAll(() => sql.end());

async function container(status: (typeof containers.$inferInsert)['status'], runnerId: string | null, restartPolicy: string) {
  const [c] = await db
    .insert(containers)
    .values({ id: newHexId(), accountId, name: `c-${randomBytes(4).toString('hex')}`, imageRef: 'x', status, runnerId, restartPolicy })
    .returning();
  return c!;
}

describe('container runs', () => {
  it('write status only from the runner the container is placed on', async () => {
    await db.insert(accounts).values({ id: accountId, name: `cr-${suffix}` });
    const c = await container('created', null, 'no');
    expect((await placeContainer(db, c.id, 'run_a'))?.status).toBe('starting');
    // Another runner can neither place it nor write its state.
    expect(await placeContainer(db, c.id, 'run_b')).toBeUndefined();
    expect(await markContainerRunning(db, c.id, 'run_b', { pid: 1, ipAddress: '10.0.0.2', ports: [], restartCount: 0 })).toBe(false);
    expect(await markContainerRunning(db, c.id, 'run_a', { pid: 42, ipAddress: '10.0.0.2', ports: [{ hostPort: 8080 }], restartCount: 0, health: 'starting' })).toBe(true);
    const running = await getContainer(db, c.id);
    expect([running?.status, running?.pid, running?.health, running?.ports]).toEqual(['running', 42, 'starting', [{ hostPort: 8080 }]]);
    expect(await markContainerExited(db, c.id, 'run_a', { status: 'exited', exitCode: 137, exitReason: 'out of memory (limit 32 MiB)' })).toBe(true);
    const exited = await getContainer(db, c.id);
    expect([exited?.status, exited?.exitCode, exited?.exitReason, exited?.pid, exited?.health]).toEqual(['exited', 137, 'out of memory (limit 32 MiB)', null, null]);
  });

  it('reschedule the containers of dead runners with a restart policy and mark the rest dead', async () => {
    const dead = `run_dead_${suffix}`;
    const alive = `run_alive_${suffix}`;
    await db.insert(runners).values([
      { id: dead, hostname: 'x', status: 'dead' },
      { id: alive, hostname: 'y', status: 'active' },
    ]);
    const service = await container('running', dead, 'always');
    const oneOff = await container('running', dead, 'no');
    const finished = await container('exited', dead, 'always');
    const elsewhere = await container('running', alive, 'always');
    const first = await rescheduleContainersOfDeadRunners(db);
    expect(first.rescheduled).toContain(service.id);
    expect(first.lost).toContain(oneOff.id);
    const after = await Promise.all([service, oneOff, finished, elsewhere].map((c) => getContainer(db, c.id)));
    expect(after.map((c) => [c?.status, c?.runnerId])).toEqual([
      ['created', null],
      ['dead', dead],
      ['exited', dead],
      ['running', alive],
    ]);
    expect(after[1]?.exitReason).toBe(`runner ${dead} stopped heartbeating`);
    const queued = await db.select().from(jobs).where(and(eq(jobs.subjectId, service.id), eq(jobs.kind, 'run')));
    // Queued, or already claimed by a runner of a parallel test file: either way one job, for it.
    expect(queued.map((j) => [j.kind, j.payload, j.runnerId])).toEqual([['run', { containerId: service.id }, null]]);
    // Idempotent: a second pass moves nothing.
    const second = await rescheduleContainersOfDeadRunners(db);
    expect([second.rescheduled.includes(service.id), second.lost.includes(oneOff.id)]).toEqual([false, false]);
    // Nothing in this shared database may start it: a 'run' of a removed container is skipped.
    await db.update(containers).set({ status: 'removed' }).where(eq(containers.id, service.id));
  });
});
