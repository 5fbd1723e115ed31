import { and, desc, eq, lt } from 'drizzle-orm';
import { newId } from '../../functions/core/ids';
import type { Db } from '../client';
import { builds, type Build } from '../schema';
import { enqueueJob, requestJobCancel } from './jobs';
import { jobs } from '../schema';

export type NewBuild = Omit<typeof builds.$inferInsert, 'id' | 'status' | 'createdAt' | 'startedAt' | 'finishedAt'>;

/** Records a build and queues its job (kind 'build', payload { buildId }) in one transaction. */
export async function createBuild(db: Db, input: NewBuild): Promise<Build> {
  return db.transaction(async (tx) => {
    const [build] = await tx.insert(builds).values({ ...input, id: newId('bld') }).returning();
    await enqueueJob(tx as unknown as Db, { kind: 'build', payload: { buildId: build!.id }, subjectId: build!.id, maxAttempts: 2 });
    return build!;
  });
}

export async function getBuild(db: Db, id: string): Promise<Build | undefined> {
  const [b] = await db.select().from(builds).where(eq(builds.id, id));
  return b;
}

/** An account's builds, newest first, after a cursor (the createdAt/id of the last one seen). */
export async function listBuilds(db: Db, accountId: string, opts: { appId?: string; before?: Date; limit?: number } = {}): Promise<Build[]> {
  const conds = [eq(builds.accountId, accountId)];
  if (opts.appId) conds.push(eq(builds.appId, opts.appId));
  if (opts.before) conds.push(lt(builds.createdAt, opts.before));
  return db.select().from(builds).where(and(...conds)).orderBy(desc(builds.createdAt), desc(builds.id)).limit(opts.limit ?? 50);
}

/** Cancels a queued build at once; asks the runner to stop a running one. */
export async function cancelBuild(db: Db, id: string): Promise<Build | undefined> {
  const [job] = await db.select({ id: jobs.id }).from(jobs).where(and(eq(jobs.subjectId, id), eq(jobs.kind, 'build'))).orderBy(desc(jobs.id)).limit(1);
  if (job) await requestJobCancel(db, job.id);
  const [b] = await db
    .update(builds)
    .set({ status: 'cancelled', finishedAt: new Date(), error: 'cancelled' })
    .where(and(eq(builds.id, id), eq(builds.status, 'queued')))
    .returning();
  return b ?? getBuild(db, id);
}
