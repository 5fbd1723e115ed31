// Deployments are recorded here and carried out by runners: each is a row plus a queued job of kind
// 'deploy' with payload { deploymentId }.
import { and, desc, eq, sql } from 'drizzle-orm';
import { newId } from '../../functions/core/ids';
import type { Db } from '../client';
import { apps, builds, deployments, jobs, type Deployment } from '../schema';
import { enqueueJob } from './jobs';
import { olderThan } from './pagination';

export async function createDeployment(
  db: Db,
  input: { appId: string; buildId: string | null; imageRef: string; manifestDigest: string | null; config: unknown },
  opts: { requiredLabels?: Record<string, string> } = {},
): Promise<Deployment> {
  return db.transaction(async (tx) => {
    // The app row's lock serialises numbering per app.
    await tx.execute(sql`SELECT 1 FROM apps WHERE id = ${input.appId} FOR UPDATE`);
    const [{ next }] = (await tx.execute<{ next: number }>(sql`SELECT coalesce(max(number), 0) + 1 AS next FROM deployments WHERE app_id = ${input.appId}`)) as unknown as [{ next: number }];
    const [d] = await tx
      .insert(deployments)
      .values({ id: newId('dep'), appId: input.appId, number: Number(next), buildId: input.buildId, imageRef: input.imageRef, manifestDigest: input.manifestDigest, config: input.config })
      .returning();
    await enqueueJob(tx as unknown as Db, { kind: 'deploy', payload: { deploymentId: d!.id }, subjectId: d!.id, requiredLabels: opts.requiredLabels ?? {} });
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

/**
 * Deploys a succeeded build that asked for it (builds.deploy_on_success), with its app's current
 * configuration. The Builder calls this when it marks a build succeeded; calling it again, or for a
 * build that did not ask, does nothing. Returns the deployment when one was created.
 */
export async function deployBuildIfRequested(db: Db, buildId: string): Promise<Deployment | undefined> {
  const [row] = await db
    .select({ build: builds, config: apps.config })
    .from(builds)
    .innerJoin(apps, eq(apps.id, builds.appId))
    .where(eq(builds.id, buildId));
  const b = row?.build;
  if (!b || !b.deployOnSuccess || b.status !== 'succeeded' || !b.imageRef || !b.appId) return undefined;
  const [existing] = await db.select({ id: deployments.id }).from(deployments).where(and(eq(deployments.appId, b.appId), eq(deployments.buildId, b.id))).limit(1);
  if (existing) return undefined;
  // The deployment runs where the build was allowed to run (labels confine a pool or a test).
  const [job] = await db.select({ labels: jobs.requiredLabels }).from(jobs).where(and(eq(jobs.subjectId, b.id), eq(jobs.kind, 'build'))).orderBy(desc(jobs.id)).limit(1);
  return createDeployment(
    db,
    { appId: b.appId, buildId: b.id, imageRef: b.imageRef, manifestDigest: b.manifestDigest, config: row.config },
    { requiredLabels: (job?.labels ?? {}) as Record<string, string> },
  );
}
