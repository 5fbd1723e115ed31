// Deployments are recorded here and carried out by runners: each is a row plus a queued job of kind
// 'deploy' with payload { deploymentId }.
import { and, desc, eq, sql } from 'drizzle-orm';
import { newId } from '../../functions/core/ids';
import type { Db } from '../client';
import { deployments, type Deployment } from '../schema';
import { enqueueJob } from './jobs';
import { olderThan } from './pagination';

export async function createDeployment(
  db: Db,
  input: { appId: string; buildId: string | null; imageRef: string; manifestDigest: string | null; config: unknown },
): Promise<Deployment> {
  return db.transaction(async (tx) => {
    // The app row's lock serialises numbering per app.
    await tx.execute(sql`SELECT 1 FROM apps WHERE id = ${input.appId} FOR UPDATE`);
    const [{ next }] = (await tx.execute<{ next: number }>(sql`SELECT coalesce(max(number), 0) + 1 AS next FROM deployments WHERE app_id = ${input.appId}`)) as unknown as [{ next: number }];
    const [d] = await tx
      .insert(deployments)
      .values({ id: newId('dep'), appId: input.appId, number: Number(next), buildId: input.buildId, imageRef: input.imageRef, manifestDigest: input.manifestDigest, config: input.config })
      .returning();
    await enqueueJob(tx as unknown as Db, { kind: 'deploy', payload: { deploymentId: d!.id }, subjectId: d!.id });
    return d!;
  });
}

export async function listDeployments(db: Db, appId: string, opts: { limit: number; cursorId?: string }): Promise<Deployment[]> {
  const conds = [eq(deployments.appId, appId)];
  if (opts.cursorId) conds.push(olderThan(deployments, deployments.createdAt, deployments.id, opts.cursorId));
  return db.select().from(deployments).where(and(...conds)).orderBy(desc(deployments.createdAt), desc(deployments.id)).limit(opts.limit);
}

export async function findDeployment(db: Db, appId: string, id: string): Promise<Deployment | undefined> {
  const [d] = await db.select().from(deployments).where(and(eq(deployments.appId, appId), eq(deployments.id, id)));
  return d;
}

/** The deployment a rollback returns to: the newest active or superseded one before the current. */
export async function findRollbackTarget(db: Db, appId: string, currentId: string | null): Promise<Deployment | undefined> {
  const [d] = await db
    .select()
    .from(deployments)
    .where(and(eq(deployments.appId, appId), sql`${deployments.status} IN ('active', 'superseded')`, currentId ? sql`${deployments.id} <> ${currentId}` : sql`true`))
    .orderBy(desc(deployments.number))
    .limit(1);
  return d;
}
