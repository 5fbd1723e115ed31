// A build's status as its runner moves it: queued → running → succeeded | failed | cancelled. Each
// transition is one guarded UPDATE inside the job's lease (withLease), so a runner that lost the job
// cannot write over the attempt that replaced it.
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '../client';
import { builds, type Build } from '../schema';
import { toPostgresText } from '../postgres-text';
import { withLease, type Lease } from './jobs';

/** Marks the build running on this runner; undefined when it is no longer queued or running (cancelled). */
export async function startBuildRun(db: Db, lease: Lease, buildId: string, runnerId: string): Promise<Build | undefined> {
  return withLease(db, lease, async (tx) => {
    const [b] = await tx
      .update(builds)
      .set({ status: 'running', runnerId, startedAt: sql`coalesce(${builds.startedAt}, now())`, error: null })
      .where(and(eq(builds.id, buildId), inArray(builds.status, ['queued', 'running'])))
      .returning();
    return b;
  });
}

export type BuildRunOutcome =
  | { status: 'succeeded'; imageRef: string | null; manifestDigest: string; configDigest: string }
  | { status: 'failed' | 'cancelled'; error: string };

/** Records how the build ended; false when the build was not running (or the lease is gone). */
export async function finishBuildRun(db: Db, lease: Lease, buildId: string, outcome: BuildRunOutcome): Promise<boolean> {
  return withLease(db, lease, async (tx) => {
    const set =
      outcome.status === 'succeeded'
        ? { status: outcome.status, imageRef: outcome.imageRef, manifestDigest: outcome.manifestDigest, configDigest: outcome.configDigest, error: null }
        : { status: outcome.status, error: toPostgresText(outcome.error) };
    const rows = await tx
      .update(builds)
      .set({ ...set, finishedAt: sql`now()` })
      .where(and(eq(builds.id, buildId), eq(builds.status, 'running')))
      .returning({ id: builds.id });
    return rows.length === 1;
  });
}
