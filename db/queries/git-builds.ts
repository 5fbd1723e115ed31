import { and, desc, eq } from 'drizzle-orm';
import { newId } from '../../functions/core/ids';
import type { Db } from '../client';
import { builds, deployments, type Build, type Deployment } from '../schema';
import { enqueueJob } from './jobs';
import type { NewBuild } from './builds';

/** For a webhook build: the runner fetches this ref from this http(s) URL first. */
export interface GitFetch {
  url: string;
  ref: string;
}

/**
 * A build of a pushed commit: the row, and a 'git-context' job that materialises the commit into a
 * context on a runner and then queues the ordinary 'build' job. The builder needs to know nothing
 * about git.
 */
export async function createGitBuild(
  db: Db,
  input: NewBuild & { gitCommit: string; appId: string },
  o: { fetch?: GitFetch; requiredLabels?: Record<string, string> } = {},
): Promise<Build> {
  return db.transaction(async (tx) => {
    const [build] = await tx.insert(builds).values({ ...input, id: newId('bld') }).returning();
    const payload = o.fetch ? { buildId: build!.id, fetch: o.fetch } : { buildId: build!.id };
    await enqueueJob(tx as unknown as Db, { kind: 'git-context', payload, subjectId: build!.id, maxAttempts: 2, requiredLabels: o.requiredLabels ?? {} });
    return build!;
  });
}

/** Queues the 'build' job of a git build whose context is ready, for runners with the same labels. */
export async function enqueueBuildJob(db: Db, buildId: string, requiredLabels: Record<string, string> = {}): Promise<void> {
  await enqueueJob(db, { kind: 'build', payload: { buildId }, subjectId: buildId, maxAttempts: 2, requiredLabels });
}

/** Fails a build that never started; false when it had already moved on. */
export async function failQueuedBuild(db: Db, buildId: string, error: string): Promise<boolean> {
  const rows = await db
    .update(builds)
    .set({ status: 'failed', error, finishedAt: new Date() })
    .where(and(eq(builds.id, buildId), eq(builds.status, 'queued')))
    .returning({ id: builds.id });
  return rows.length === 1;
}

/** The deployment a build started (deploy_on_success), if any yet. */
export async function findDeploymentOfBuild(db: Db, buildId: string): Promise<Deployment | undefined> {
  const [row] = await db.select().from(deployments).where(eq(deployments.buildId, buildId)).orderBy(desc(deployments.number)).limit(1);
  return row;
}
