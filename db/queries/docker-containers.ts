// Docker's container lifecycle on Berth's rows: `create` records a row without starting it (the REST
// API's create also queues the run); `start` queues the 'run' job later, once per start.
import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import { newHexId } from '../../functions/core/ids';
import type { Db } from '../client';
import { containers, logLines, type Container } from '../schema';
import { enqueueJob } from './jobs';
import type { NewContainer } from './containers';

/** Records a created (not started) container; undefined when the name is taken. */
export async function insertCreatedContainer(db: Db, input: NewContainer): Promise<Container | undefined> {
  const [c] = await db.insert(containers).values({ ...input, id: newHexId() }).onConflictDoNothing().returning();
  return c;
}

/** Queues the run of a created or exited container; false when it is already on its way or running. */
export async function queueContainerStart(db: Db, id: string): Promise<boolean> {
  return db.transaction(async (tx) => {
    const [c] = await tx
      .update(containers)
      .set({ status: 'starting' })
      .where(and(eq(containers.id, id), sql`${containers.status} IN ('created', 'exited', 'dead')`))
      .returning();
    if (!c) return false;
    await enqueueJob(tx as unknown as Db, { kind: 'run', payload: { containerId: c.id }, subjectId: c.id, runnerId: c.runnerId, priority: 5 });
    return true;
  });
}

/** A container by id, whatever its state (a waiter for removal must see the removed row). */
export async function findContainerAnyState(db: Db, accountIds: string[], id: string): Promise<Container | undefined> {
  const [c] = await db.select().from(containers).where(and(eq(containers.id, id), inArray(containers.accountId, accountIds)));
  return c;
}

/** Matches the id by prefix (12+ hex, as the CLI shows them) or the name exactly. */
export async function findContainerByPrefix(db: Db, accountIds: string[], idOrName: string): Promise<Container | undefined> {
  const name = idOrName.replace(/^\//, '');
  const byPrefix = /^[0-9a-f]{1,64}$/.test(name) ? sql`${containers.id} LIKE ${`${name}%`}` : sql`false`;
  const rows = await db
    .select()
    .from(containers)
    .where(and(inArray(containers.accountId, accountIds), sql`${containers.status} <> 'removed'`, sql`(${containers.name} = ${name} OR ${byPrefix})`))
    .orderBy(desc(containers.createdAt))
    .limit(3);
  return rows.find((r) => r.name === name) ?? (rows.length === 1 ? rows[0] : undefined);
}

export async function listContainersForDocker(db: Db, accountIds: string[], o: { all: boolean; limit: number }): Promise<Container[]> {
  const conds = [inArray(containers.accountId, accountIds), sql`${containers.status} <> 'removed'`];
  if (!o.all) conds.push(inArray(containers.status, ['running', 'restarting', 'stopping']));
  return db.select().from(containers).where(and(...conds)).orderBy(desc(containers.createdAt)).limit(o.limit);
}

/** The newest log line's id of a subject (0 when none): an attach streams what comes after it. */
export async function lastLogLineId(db: Db, subject: { kind: string; id: string }): Promise<number> {
  const [r] = await db
    .select({ id: sql<number>`coalesce(max(${logLines.id}), 0)` })
    .from(logLines)
    .where(and(eq(logLines.subjectKind, subject.kind), eq(logLines.subjectId, subject.id)));
  return Number(r?.id ?? 0);
}

/** Undoes a runner's 'removed' mark on a container whose files were freed only so it can start afresh. */
export async function reopenContainer(db: Db, id: string): Promise<void> {
  await db.update(containers).set({ status: 'exited' }).where(and(eq(containers.id, id), eq(containers.status, 'removed')));
}

/** What `docker info` counts: the caller's containers by Docker state. */
export async function countContainersByStatus(db: Db, accountIds: string[]): Promise<Record<string, number>> {
  const rows = await db
    .select({ status: containers.status, n: sql<number>`count(*)::int` })
    .from(containers)
    .where(and(inArray(containers.accountId, accountIds), sql`${containers.status} <> 'removed'`))
    .groupBy(containers.status);
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

/** Renames a container; false when the account already has a container of that name. */
export async function renameContainer(db: Db, id: string, name: string): Promise<boolean> {
  const [taken] = await db.select({ id: containers.id }).from(containers).where(and(eq(containers.accountId, sql`(SELECT ${containers.accountId} FROM ${containers} WHERE ${containers.id} = ${id})`), eq(containers.name, name)));
  if (taken) return taken.id === id;
  try {
    await db.update(containers).set({ name }).where(eq(containers.id, id));
    return true;
  } catch (err) {
    // Another rename or create took the name between the check and the update.
    if ((err as { code?: string }).code === '23505' || (err as { cause?: { code?: string } }).cause?.code === '23505') return false;
    throw err;
  }
}

/** What `docker container prune` removes: the caller's own stopped containers (not an app's). */
export async function listPrunableContainers(db: Db, accountIds: string[]): Promise<Container[]> {
  return db
    .select()
    .from(containers)
    .where(and(inArray(containers.accountId, accountIds), sql`${containers.appId} IS NULL`, inArray(containers.status, ['created', 'exited', 'dead'])))
    .limit(1000);
}
