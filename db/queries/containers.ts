// One-off containers are recorded here and run by runners: a row plus a queued job of kind 'run'.
import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import { newHexId } from '../../functions/core/ids';
import type { Db } from '../client';
import { containers, jobs, type Container, type Job } from '../schema';
import { enqueueJob } from './jobs';
import { olderThan } from './pagination';

export type NewContainer = Omit<typeof containers.$inferInsert, 'id' | 'status' | 'createdAt'>;

/** Records a container and queues its 'run' job (payload { containerId }); undefined when the name is taken. */
export async function createContainer(db: Db, input: NewContainer): Promise<Container | undefined> {
  return db.transaction(async (tx) => {
    const [c] = await tx.insert(containers).values({ ...input, id: newHexId() }).onConflictDoNothing().returning();
    if (!c) return undefined;
    await enqueueJob(tx as unknown as Db, { kind: 'run', payload: { containerId: c.id }, subjectId: c.id });
    return c;
  });
}

export async function findContainerFor(db: Db, accountIds: string[], idOrName: string): Promise<Container | undefined> {
  const byId = /^[0-9a-f]{64}$/.test(idOrName) ? eq(containers.id, idOrName) : eq(containers.name, idOrName);
  const [c] = await db
    .select()
    .from(containers)
    .where(and(byId, inArray(containers.accountId, accountIds), sql`${containers.status} <> 'removed'`))
    .orderBy(desc(containers.createdAt))
    .limit(1);
  return c;
}

export async function listContainersFor(db: Db, accountIds: string[], opts: { limit: number; cursorId?: string; all: boolean }): Promise<Container[]> {
  const conds = [inArray(containers.accountId, accountIds), sql`${containers.status} <> 'removed'`];
  if (!opts.all) conds.push(sql`${containers.status} NOT IN ('exited', 'dead')`);
  if (opts.cursorId) conds.push(olderThan(containers, containers.createdAt, containers.id, opts.cursorId));
  return db.select().from(containers).where(and(...conds)).orderBy(desc(containers.createdAt), desc(containers.id)).limit(opts.limit);
}

/** Cancels a container's 'run' job while it is still queued; true when it was (the container never started). */
export async function cancelQueuedRun(db: Db, containerId: string): Promise<boolean> {
  const rows = await db
    .update(jobs)
    .set({ status: 'cancelled', error: 'stopped before it started', finishedAt: sql`now()` })
    .where(and(eq(jobs.subjectId, containerId), eq(jobs.kind, 'run'), eq(jobs.status, 'queued')))
    .returning({ id: jobs.id });
  return rows.length > 0;
}

export async function setContainerStatus(db: Db, id: string, status: Container['status'], extra: Partial<Pick<Container, 'exitReason' | 'finishedAt'>> = {}): Promise<Container> {
  const [c] = await db.update(containers).set({ status, ...extra }).where(eq(containers.id, id)).returning();
  return c!;
}

/** A job addressed to the runner the container is placed on (any runner when not yet placed). */
export async function enqueueContainerJob(db: Db, c: Container, kind: 'stop' | 'remove' | 'exec' | 'signal', payload: Record<string, unknown>): Promise<Job> {
  return enqueueJob(db, { kind, payload: { containerId: c.id, ...payload }, subjectId: c.id, runnerId: c.runnerId, priority: 10 });
}

export async function findContainerJob(db: Db, containerId: string, jobId: number, kind: string): Promise<Job | undefined> {
  const [j] = await db.select().from(jobs).where(and(eq(jobs.id, jobId), eq(jobs.subjectId, containerId), eq(jobs.kind, kind)));
  return j;
}

/** Marks a container removed; its name gets its id appended so the name is free for a new one. */
export async function markContainerRemoved(db: Db, id: string): Promise<void> {
  await db
    .update(containers)
    .set({ status: 'removed', name: sql`${containers.name} || '~' || substr(${containers.id}, 1, 12)`, finishedAt: sql`coalesce(${containers.finishedAt}, now())` })
    .where(eq(containers.id, id));
}

/** An app's containers that are not yet removed: what deleting the app must stop. */
export async function listContainersOfApp(db: Db, appId: string): Promise<Container[]> {
  return db.select().from(containers).where(and(eq(containers.appId, appId), sql`${containers.status} <> 'removed'`));
}
