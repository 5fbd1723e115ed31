// The runner's side of deployments: a deployment's containers created and queued, watched, and the
// switch-over (new one active, older ones superseded and their containers stopped) in one transaction.
import { and, eq, inArray, ne, sql } from 'drizzle-orm';
import { newHexId } from '../../functions/core/ids';
import type { Db } from '../client';
import { appSecrets, apps, containers, deployments, type App, type Container, type Deployment } from '../schema';
import { enqueueJob } from './jobs';
import { LIVE_STATUSES } from './container-runs';

export async function getDeploymentWithApp(db: Db, id: string): Promise<{ deployment: Deployment; app: App } | undefined> {
  const [row] = await db.select().from(deployments).innerJoin(apps, eq(apps.id, deployments.appId)).where(eq(deployments.id, id));
  return row ? { deployment: row.deployments, app: row.apps } : undefined;
}

export async function readAppSecrets(db: Db, appId: string): Promise<Record<string, string>> {
  const rows = await db.select().from(appSecrets).where(eq(appSecrets.appId, appId));
  return Object.fromEntries(rows.map((r) => [r.name, r.value]));
}

export async function setDeploymentStatus(db: Db, id: string, status: Deployment['status'], error: string | null = null): Promise<void> {
  const finished = status === 'active' || status === 'failed' ? sql`now()` : null;
  await db.update(deployments).set({ status, error, finishedAt: finished }).where(eq(deployments.id, id));
}

/** The deployment's containers (created once: a retried job finds the ones its first attempt made). */
/** `requiredLabels` carry the deploy job's placement constraints over to its containers' 'run' jobs. */
export async function ensureDeploymentContainers(
  db: Db,
  d: Deployment,
  app: App,
  rows: Array<Omit<typeof containers.$inferInsert, 'id' | 'accountId' | 'appId' | 'deploymentId'>>,
  requiredLabels: Record<string, string> = {},
): Promise<Container[]> {
  const existing = await db.select().from(containers).where(eq(containers.deploymentId, d.id));
  if (existing.length > 0) return existing;
  const out: Container[] = [];
  for (const r of rows) {
    const [c] = await db.insert(containers).values({ ...r, id: newHexId(), accountId: app.accountId, appId: app.id, deploymentId: d.id }).returning();
    await enqueueJob(db, { kind: 'run', payload: { containerId: c!.id }, subjectId: c!.id, requiredLabels });
    out.push(c!);
  }
  return out;
}

export async function listDeploymentContainers(db: Db, deploymentId: string): Promise<Container[]> {
  return db.select().from(containers).where(eq(containers.deploymentId, deploymentId));
}

/** Queues a stop that removes the container afterwards, on the runner it is placed on. */
async function retire(db: Db, c: Container): Promise<void> {
  if (!c.runnerId) {
    await db.update(containers).set({ status: 'removed' }).where(eq(containers.id, c.id));
    return;
  }
  await enqueueJob(db, { kind: 'stop', payload: { containerId: c.id, signal: 'SIGTERM', graceSeconds: 10, remove: true }, subjectId: c.id, runnerId: c.runnerId, priority: 10 });
}

/** The new deployment goes live: it becomes the app's current one; older live ones are superseded and their containers retired. */
export async function activateDeployment(db: Db, d: Deployment): Promise<{ retired: string[] }> {
  await db.update(deployments).set({ status: 'active', error: null, finishedAt: sql`now()` }).where(eq(deployments.id, d.id));
  await db.update(apps).set({ currentDeploymentId: d.id, updatedAt: sql`now()` }).where(eq(apps.id, d.appId));
  await db.update(deployments).set({ status: 'superseded' }).where(and(eq(deployments.appId, d.appId), ne(deployments.id, d.id), eq(deployments.status, 'active')));
  const old = await db
    .select()
    .from(containers)
    .where(and(eq(containers.appId, d.appId), sql`${containers.deploymentId} IS DISTINCT FROM ${d.id}`, inArray(containers.status, [...LIVE_STATUSES, 'created'])));
  for (const c of old) await retire(db, c);
  return { retired: old.map((c) => c.id) };
}

/** A failed deployment: its own containers are retired; the app keeps running the current one. */
export async function failDeployment(db: Db, d: Deployment, error: string): Promise<void> {
  await setDeploymentStatus(db, d.id, 'failed', error);
  for (const c of await listDeploymentContainers(db, d.id)) if (c.status !== 'removed') await retire(db, c);
}
