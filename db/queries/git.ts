import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '../client';
import { accounts, apps, gitCommits, gitObjects, gitPacks, gitRefs, type App, type GitPack, type GitRef } from '../schema';

/** The app `<account>/<app>` names, with its owner's name; undefined when either does not exist. */
export async function findAppByPath(db: Db, accountName: string, appName: string): Promise<(App & { owner: string }) | undefined> {
  const [row] = await db
    .select({ app: apps, owner: accounts.name })
    .from(apps)
    .innerJoin(accounts, eq(accounts.id, apps.accountId))
    .where(and(eq(apps.name, appName), eq(accounts.name, accountName)));
  return row ? { ...row.app, owner: row.owner } : undefined;
}

export async function listGitRefs(db: Db, appId: string): Promise<GitRef[]> {
  return db.select().from(gitRefs).where(eq(gitRefs.appId, appId)).orderBy(asc(gitRefs.name));
}

export async function listGitPacks(db: Db, appId: string): Promise<GitPack[]> {
  return db.select().from(gitPacks).where(eq(gitPacks.appId, appId)).orderBy(asc(gitPacks.id));
}

export interface StoredObject {
  sha: string;
  type: string;
  offset: number;
  end: number;
}

/** Records a stored pack, the objects it brought (first copy wins) and its commits, in one transaction. */
export async function recordGitPack(
  db: Db,
  appId: string,
  pack: { digest: string; size: number },
  objects: StoredObject[],
  commits: { sha: string; tree: string; parents: string[] }[],
): Promise<GitPack> {
  return db.transaction(async (tx) => {
    const [row] = await tx.insert(gitPacks).values({ appId, digest: pack.digest, size: pack.size }).returning();
    for (let i = 0; i < objects.length; i += 1000) {
      const batch = objects.slice(i, i + 1000).map((o) => ({ appId, packId: row!.id, ...o }));
      await tx.insert(gitObjects).values(batch).onConflictDoNothing();
    }
    for (let i = 0; i < commits.length; i += 1000) {
      await tx.insert(gitCommits).values(commits.slice(i, i + 1000).map((c) => ({ appId, ...c }))).onConflictDoNothing();
    }
    return row!;
  });
}

export interface ObjectLocation {
  sha: string;
  type: string;
  packId: number;
  digest: string;
  offset: number;
  end: number;
}

const locationColumns = {
  sha: gitObjects.sha,
  type: gitObjects.type,
  packId: gitObjects.packId,
  digest: gitPacks.digest,
  offset: gitObjects.offset,
  end: gitObjects.end,
};

export async function findGitObject(db: Db, appId: string, sha: string): Promise<ObjectLocation | undefined> {
  const [row] = await db
    .select(locationColumns)
    .from(gitObjects)
    .innerJoin(gitPacks, eq(gitPacks.id, gitObjects.packId))
    .where(and(eq(gitObjects.appId, appId), eq(gitObjects.sha, sha)));
  return row;
}

/** The object whose entry starts at `offset` in a pack (an OFS_DELTA's base). */
export async function findGitObjectAt(db: Db, packId: number, offset: number): Promise<ObjectLocation | undefined> {
  const [row] = await db
    .select(locationColumns)
    .from(gitObjects)
    .innerJoin(gitPacks, eq(gitPacks.id, gitObjects.packId))
    .where(and(eq(gitObjects.packId, packId), eq(gitObjects.offset, offset)));
  return row;
}

/** Which of these ids the app already has. */
export async function filterKnownObjects(db: Db, appId: string, shas: string[]): Promise<Set<string>> {
  if (shas.length === 0) return new Set();
  const rows = await db
    .select({ sha: gitObjects.sha })
    .from(gitObjects)
    .where(and(eq(gitObjects.appId, appId), inArray(gitObjects.sha, shas)));
  return new Set(rows.map((r) => r.sha));
}

/** Whether `ancestor` is reachable from `descendant` through the recorded commit graph. */
export async function isAncestorCommit(db: Db, appId: string, ancestor: string, descendant: string): Promise<boolean> {
  if (ancestor === descendant) return true;
  const rows = await db.execute<{ found: number }>(sql`
    WITH RECURSIVE walk(sha) AS (
      SELECT ${descendant}::text
      UNION
      SELECT unnest(c.parents) FROM git_commits c JOIN walk w ON c.app_id = ${appId} AND c.sha = w.sha
    )
    SELECT 1 AS found FROM walk WHERE sha = ${ancestor} LIMIT 1`);
  return rows.length > 0;
}

export interface RefUpdate {
  name: string;
  oldSha: string;
  /** null deletes the ref. */
  newSha: string | null;
}

/**
 * Applies ref updates, each guarded by its expected old value (zero id: must not exist). Atomic:
 * all or none, in one transaction. Otherwise each stands alone. Returns the names that changed
 * concurrently (their guard failed).
 */
export async function applyRefUpdates(db: Db, appId: string, updates: RefUpdate[], atomic: boolean, zeroId: string): Promise<{ failed: string[] }> {
  const applyOne = async (tx: Db, u: RefUpdate): Promise<boolean> => {
    if (u.newSha === null) {
      const r = await tx.delete(gitRefs).where(and(eq(gitRefs.appId, appId), eq(gitRefs.name, u.name), eq(gitRefs.sha, u.oldSha))).returning();
      return r.length === 1;
    }
    if (u.oldSha === zeroId) {
      const r = await tx.insert(gitRefs).values({ appId, name: u.name, sha: u.newSha }).onConflictDoNothing().returning();
      return r.length === 1;
    }
    const r = await tx
      .update(gitRefs)
      .set({ sha: u.newSha, updatedAt: sql`now()` })
      .where(and(eq(gitRefs.appId, appId), eq(gitRefs.name, u.name), eq(gitRefs.sha, u.oldSha)))
      .returning();
    return r.length === 1;
  };
  if (atomic) {
    const failed: string[] = [];
    try {
      await db.transaction(async (tx) => {
        for (const u of updates) if (!(await applyOne(tx as unknown as Db, u))) failed.push(u.name);
        if (failed.length > 0) throw new AtomicRollback();
      });
    } catch (err) {
      if (!(err instanceof AtomicRollback)) throw err;
    }
    return { failed };
  }
  const failed: string[] = [];
  for (const u of updates) if (!(await applyOne(db, u))) failed.push(u.name);
  return { failed };
}

class AtomicRollback extends Error {}
