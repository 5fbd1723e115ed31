// Builds as their owners see them: every lookup is scoped to the accounts the caller acts for.
import { and, desc, eq, inArray } from 'drizzle-orm';
import type { Db } from '../client';
import { apps, builds, type Build } from '../schema';
import { olderThan } from './pagination';

export type BuildWithApp = Build & { appName: string | null };

export async function findBuildFor(db: Db, accountIds: string[], id: string): Promise<BuildWithApp | undefined> {
  const [row] = await db
    .select({ build: builds, appName: apps.name })
    .from(builds)
    .leftJoin(apps, eq(apps.id, builds.appId))
    .where(and(eq(builds.id, id), inArray(builds.accountId, accountIds)));
  return row ? { ...row.build, appName: row.appName } : undefined;
}

export async function listBuildsFor(
  db: Db,
  accountIds: string[],
  opts: { appId?: string; status?: Build['status']; limit: number; cursorId?: string },
): Promise<BuildWithApp[]> {
  const conds = [inArray(builds.accountId, accountIds)];
  if (opts.appId) conds.push(eq(builds.appId, opts.appId));
  if (opts.status) conds.push(eq(builds.status, opts.status));
  if (opts.cursorId) conds.push(olderThan(builds, builds.createdAt, builds.id, opts.cursorId));
  const rows = await db
    .select({ build: builds, appName: apps.name })
    .from(builds)
    .leftJoin(apps, eq(apps.id, builds.appId))
    .where(and(...conds))
    .orderBy(desc(builds.createdAt), desc(builds.id))
    .limit(opts.limit);
  return rows.map((r) => ({ ...r.build, appName: r.appName }));
}
