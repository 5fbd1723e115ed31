// The 'deploy' job: an app's service configuration → N containers placed by the queue on runners with
// room ('run' jobs any runner may claim). It comes back until every new container runs and, when a
// health check applies, is healthy; only then does the deployment become active and the previous one's
// containers stop. A deployment that does not come up fails and takes only its own containers down.
// Rollback is a new deployment of an older one's image and configuration (the API creates it).
import type { Db } from '../../db/client';
import { activateDeployment, ensureDeploymentContainers, failDeployment, getDeploymentWithApp, listDeploymentContainers, readAppSecrets, setDeploymentStatus } from '../../db/queries/deployment-runs';
import { enqueueJob, withLease } from '../../db/queries/jobs';
import { appendLogLines } from '../../db/queries/logs';
import type { Container } from '../../db/schema';
import { readAppConfig, type AppConfig } from '../../functions/api/app-config';
import type { JobHandler } from '../queue/worker';
import type { HealthPlan } from './config';

export const HEALTH_START_PERIOD_MS = 5_000;

/** The app config's health check in the supervisor's terms. */
export function toHealthPlan(h: AppConfig['healthCheck'], firstPort: number | undefined): HealthPlan | undefined {
  if (!h) return undefined;
  // A start period forgives a slow boot (failures in it do not count), so a deployment is judged on
  // the app once it is up, not on how fast a loaded runner starts it.
  const timing = { intervalMs: h.intervalSeconds * 1000, timeoutMs: h.timeoutSeconds * 1000, startPeriodMs: HEALTH_START_PERIOD_MS, retries: h.retries };
  if (h.type === 'command') return { probe: { kind: 'exec', argv: h.command! }, ...timing };
  const port = h.port ?? firstPort;
  if (!port) throw new Error(`Cannot use a ${h.type} health check: no port given and the app publishes none`);
  return h.type === 'http' ? { probe: { kind: 'http', port, path: h.path ?? '/' }, ...timing } : { probe: { kind: 'tcp', port }, ...timing };
}

/** The rows of the deployment's containers, from the frozen configuration. */
export function buildDeploymentContainers(appName: string, number: number, imageRef: string, manifestDigest: string | null, config: AppConfig, secrets: Record<string, string>) {
  const health = toHealthPlan(config.healthCheck, config.ports[0]?.containerPort);
  return Array.from({ length: config.instances }, (_, i) => ({
    name: `${appName}-${number}-${i + 1}`,
    imageRef,
    manifestDigest,
    spec: { env: { ...config.env, ...secrets }, memoryMb: config.resources.memoryMb, cpus: config.resources.cpus, health: health ?? null },
    ports: config.ports.map((p) => ({ hostIp: '0.0.0.0', hostPort: null, containerPort: p.containerPort, protocol: p.protocol === 'udp' ? 'udp' : 'tcp' })),
    restartPolicy: config.restartPolicy,
    autoRemove: false,
  }));
}

export type Readiness = 'ready' | 'waiting' | { failed: string };

/** Whether every container is up (and healthy where checked); pure. */
export function judgeReadiness(rows: Pick<Container, 'name' | 'status' | 'health' | 'exitReason' | 'restartPolicy'>[], healthChecked: boolean): Readiness {
  for (const c of rows) {
    if (c.status === 'dead' || c.status === 'removed' || (c.status === 'exited' && c.restartPolicy !== 'always' && c.restartPolicy !== 'unless-stopped')) {
      return { failed: `container ${c.name} ${c.status}: ${c.exitReason ?? 'no reason recorded'}` };
    }
    if (c.health === 'unhealthy') return { failed: `container ${c.name} is unhealthy` };
  }
  // A HEALTHCHECK in the image counts too: its status starts as "starting" with the running state.
  return rows.every((c) => c.status === 'running' && (healthChecked ? c.health === 'healthy' : c.health === null || c.health === 'healthy')) ? 'ready' : 'waiting';
}

export function createDeployHandler(o: { timeoutMs?: number; pollMs?: number } = {}): JobHandler {
  const timeoutMs = o.timeoutMs ?? 300_000;
  const pollMs = o.pollMs ?? 500;
  // A deploy never holds a runner's job slot while it waits: its containers start through 'run' jobs
  // that may need that very slot. Each pass places what is missing, judges once, and when it must
  // wait queues the next pass of the same deployment (after pollMs) and returns.
  return async ({ job, lease, db }) => {
    const id = (job.payload as { deploymentId?: unknown } | null)?.deploymentId;
    if (typeof id !== 'string' || id.length > 100) throw new Error(`Cannot deploy: payload deploymentId "${String(id)}" is not a deployment id`);
    const found = await getDeploymentWithApp(db, id);
    if (!found) throw new Error(`Cannot deploy "${id}": the deployment does not exist`);
    const { deployment: d, app } = found;
    if (d.status === 'active' || d.status === 'superseded' || d.status === 'failed' || d.status === 'rolled_back') return { status: d.status };
    const labels = (job.requiredLabels ?? {}) as Record<string, string>;
    const log = (line: string) => appendLogLines(db, { kind: 'deployment', id: d.id }, [{ stream: 'system', line }]);
    const config = readAppConfig(d.config);
    if (d.status === 'pending') {
      const secrets = await readAppSecrets(db, app.id);
      const wanted = buildDeploymentContainers(app.name, d.number, d.imageRef, d.manifestDigest, config, secrets);
      const created = await withLease(db, lease, async (tx: Db) => {
        await setDeploymentStatus(tx, d.id, 'deploying');
        return ensureDeploymentContainers(tx, d, app, wanted, labels);
      });
      await log(`deployment ${d.number}: ${created.length} container(s) of ${d.imageRef} queued`);
    }
    const rows = await listDeploymentContainers(db, d.id);
    let verdict = judgeReadiness(rows, config.healthCheck !== null);
    if (verdict === 'waiting' && Date.now() - d.createdAt.getTime() > timeoutMs) verdict = { failed: `not ready within ${Math.round(timeoutMs / 1000)} s` };
    if (verdict === 'waiting') {
      await withLease(db, lease, (tx: Db) =>
        enqueueJob(tx, { kind: 'deploy', payload: { deploymentId: d.id }, subjectId: d.id, requiredLabels: labels, runAfter: new Date(Date.now() + pollMs) }),
      );
      return { status: 'deploying' };
    }
    if (verdict === 'ready') {
      const { retired } = await withLease(db, lease, (tx: Db) => activateDeployment(tx, d));
      await log(`deployment ${d.number} is live; ${retired.length} old container(s) stopping`);
      return { status: 'active', containers: rows.map((c) => c.id), retired };
    }
    await withLease(db, lease, (tx: Db) => failDeployment(tx, d, verdict.failed));
    await log(`deployment ${d.number} failed: ${verdict.failed}; the previous deployment keeps serving`);
    throw new Error(`Cannot deploy "${d.id}": ${verdict.failed}`);
  };
}
