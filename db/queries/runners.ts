import { and, eq, lt, sql } from 'drizzle-orm';
import type { Db } from '../client';
import { runners, type Runner } from '../schema';

export interface RunnerRegistration {
  id: string;
  hostname: string;
  address?: string;
  capacity: Record<string, number>;
  labels: Record<string, string>;
  version?: string;
}

/** Registers a runner, or revives its row after a restart (same id), as active. */
export async function registerRunner(db: Db, r: RunnerRegistration): Promise<Runner> {
  const values = {
    id: r.id,
    hostname: r.hostname,
    address: r.address ?? '127.0.0.1',
    capacity: r.capacity,
    labels: r.labels,
    version: r.version ?? null,
    status: 'active' as const,
    startedAt: sql`now()`,
    heartbeatAt: sql`now()`,
  };
  const [row] = await db.insert(runners).values(values).onConflictDoUpdate({ target: runners.id, set: values }).returning();
  return row!;
}

/** Records that the runner is alive; returns its row (an operator may have set it draining). */
export async function heartbeatRunner(db: Db, id: string): Promise<Runner | undefined> {
  const [row] = await db
    .update(runners)
    .set({ heartbeatAt: sql`now()`, status: sql`CASE WHEN status = 'dead' THEN 'active'::runner_status ELSE status END` })
    .where(eq(runners.id, id))
    .returning();
  return row;
}

export async function setRunnerStatus(db: Db, id: string, status: Runner['status']): Promise<void> {
  await db.update(runners).set({ status }).where(eq(runners.id, id));
}

/** Marks runners that missed heartbeats for longer than staleMs as dead; returns their ids. */
export async function markDeadRunners(db: Db, staleMs: number): Promise<string[]> {
  const rows = await db
    .update(runners)
    .set({ status: 'dead' })
    .where(and(sql`status IN ('active', 'draining')`, lt(runners.heartbeatAt, sql`now() - make_interval(secs => ${staleMs / 1000})`)))
    .returning({ id: runners.id });
  return rows.map((r) => r.id);
}

export async function listRunners(db: Db): Promise<Runner[]> {
  return db.select().from(runners).orderBy(runners.createdAt);
}
