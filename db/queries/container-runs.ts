// The runner's side of containers: status transitions of containers placed on a runner. Every write
// after placement is guarded by runner_id, so a runner that lost a container (declared dead, its
// containers rescheduled elsewhere) can no longer overwrite the new placement's state.
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '../client';
import { containers, runners, type Container } from '../schema';
import { enqueueJob } from './jobs';

export const LIVE_STATUSES = ['starting', 'running', 'restarting', 'stopping'] as const;

export async function getContainer(db: Db, id: string): Promise<Container | undefined> {
  const [c] = await db.select().from(containers).where(eq(containers.id, id));
  return c;
}

/** Places the container on the runner (from created, exited or a lost placement); undefined when it cannot be. */
export async function placeContainer(db: Db, id: string, runnerId: string): Promise<Container | undefined> {
  const [c] = await db
    .update(containers)
    .set({ runnerId, status: 'starting', exitCode: null, exitReason: null, health: null })
    .where(and(eq(containers.id, id), sql`${containers.status} IN ('created', 'exited', 'dead', 'starting')`, sql`(${containers.runnerId} IS NULL OR ${containers.runnerId} = ${runnerId})`))
    .returning();
  return c;
}

const onRunner = (id: string, runnerId: string) => and(eq(containers.id, id), eq(containers.runnerId, runnerId));

export async function markContainerRunning(
  db: Db,
  id: string,
  runnerId: string,
  r: { pid: number; ipAddress: string; ports: unknown[]; restartCount: number; health?: string },
): Promise<boolean> {
  const rows = await db
    .update(containers)
    .set({ status: 'running', health: r.health ?? null, pid: r.pid, ipAddress: r.ipAddress, ports: r.ports, restartCount: r.restartCount, startedAt: sql`now()`, finishedAt: null, exitCode: null, exitReason: null })
    .where(and(onRunner(id, runnerId), sql`${containers.status} <> 'removed'`))
    .returning({ id: containers.id });
  return rows.length === 1;
}

export async function markContainerExited(
  db: Db,
  id: string,
  runnerId: string,
  r: { status: 'exited' | 'restarting' | 'dead'; exitCode: number | null; exitReason: string; restartCount?: number },
): Promise<boolean> {
  const rows = await db
    .update(containers)
    .set({
      status: r.status,
      exitCode: r.exitCode,
      exitReason: r.exitReason,
      pid: null,
      health: null,
      finishedAt: sql`now()`,
      ...(r.restartCount !== undefined ? { restartCount: r.restartCount } : {}),
    })
    .where(and(onRunner(id, runnerId), sql`${containers.status} <> 'removed'`))
    .returning({ id: containers.id });
  return rows.length === 1;
}

export async function setContainerStopping(db: Db, id: string, runnerId: string): Promise<void> {
  await db.update(containers).set({ status: 'stopping' }).where(and(onRunner(id, runnerId), eq(containers.status, 'running')));
}

export async function setContainerHealth(db: Db, id: string, runnerId: string, health: string): Promise<void> {
  await db.update(containers).set({ health }).where(and(onRunner(id, runnerId), sql`${containers.status} IN ('running', 'stopping')`));
}

export async function markContainerRemoved(db: Db, id: string): Promise<void> {
  await db.update(containers).set({ status: 'removed', pid: null, finishedAt: sql`coalesce(finished_at, now())` }).where(eq(containers.id, id));
}

/** The containers Postgres believes are live on this runner. */
export async function listLiveContainersOn(db: Db, runnerId: string): Promise<Container[]> {
  return db.select().from(containers).where(and(eq(containers.runnerId, runnerId), inArray(containers.status, [...LIVE_STATUSES])));
}

/**
 * Containers live on runners marked dead: those with a restart policy go back to the queue (a new
 * 'run' job, any runner); the others are marked dead with the reason. Idempotent: each row moves once.
 */
export async function rescheduleContainersOfDeadRunners(db: Db): Promise<{ rescheduled: string[]; lost: string[] }> {
  return db.transaction(async (tx) => {
    const lostRows = await tx
      .update(containers)
      .set({
        status: sql`CASE WHEN ${containers.restartPolicy} = 'no' THEN 'dead'::container_status ELSE 'created'::container_status END`,
        exitReason: sql`'runner ' || ${containers.runnerId} || ' stopped heartbeating'`,
        runnerId: sql`CASE WHEN ${containers.restartPolicy} = 'no' THEN ${containers.runnerId} ELSE NULL END`,
        pid: null,
        health: null,
        finishedAt: sql`now()`,
      })
      .where(
        and(
          inArray(containers.status, [...LIVE_STATUSES]),
          sql`${containers.runnerId} IN (SELECT ${runners.id} FROM ${runners} WHERE ${runners.status} = 'dead')`,
        ),
      )
      .returning({ id: containers.id, status: containers.status });
    const rescheduled: string[] = [];
    const lost: string[] = [];
    for (const r of lostRows) {
      if (r.status === 'created') {
        await enqueueJob(tx as unknown as Db, { kind: 'run', payload: { containerId: r.id }, subjectId: r.id });
        rescheduled.push(r.id);
      } else lost.push(r.id);
    }
    return { rescheduled, lost };
  });
}

/** How many containers are live on the runner: its load for placement. */
export async function countLiveContainersOn(db: Db, runnerId: string): Promise<number> {
  return (await measureLiveContainersOn(db, runnerId, 0)).count;
}

/**
 * What a runner's live containers hold: their number and the memory they reserve — their limit, or
 * `defaultMb` for one without (it can use more, but placement counts it at that).
 */
export async function measureLiveContainersOn(db: Db, runnerId: string, defaultMb: number): Promise<{ count: number; memoryMb: number }> {
  const [row] = await db
    .select({ count: sql<number>`count(*)::int`, memoryMb: sql<number>`coalesce(sum(coalesce((${containers.spec}->>'memoryMb')::numeric, ${defaultMb})), 0)::int` })
    .from(containers)
    .where(and(eq(containers.runnerId, runnerId), inArray(containers.status, [...LIVE_STATUSES])));
  return { count: row?.count ?? 0, memoryMb: row?.memoryMb ?? 0 };
}
