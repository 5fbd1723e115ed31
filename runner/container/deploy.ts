// The 'deploy' job: an app's service configuration → N containers placed by the queue on runners with
// room ('run' jobs any runner may claim). It waits until every new container runs and, when a health
// check applies, is healthy; only then does the deployment become active and the previous one's
// containers stop. A deployment that does not come up fails and takes only its own containers down.
// Rollback is a new deployment of an older one's image and configuration (the API creates it).
import type { Db } from '../../db/client';
import { activateDeployment, ensureDeploymentContainers, failDeployment, getDeploymentWithApp, listDeploymentContainers, readAppSecrets, setDeploymentStatus } from '../../db/queries/deployment-runs';
import { withLease } from '../../db/queries/jobs';
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
  return async ({ job, lease, db, signal }) => {
    const id = (job.payload as { deploymentId?: unknown } | null)?.deploymentId;
    if (typeof id !== 'string' || id.length > 100) throw new Error(`Cannot deploy: payload deploymentId "${String(id)}" is not a deployment id`);
    const found = await getDeploymentWithApp(db, id);
    if (!found) throw new Error(`Cannot deploy "${id}": the deployment does not exist`);
    const { deployment: d, app } = found;
    if (d.status === 'active' || d.status === 'superseded' || d.status === 'failed') return { status: d.status };
    const log = (line: string) => appendLogLines(db, { kind: 'deployment', id: d.id }, [{ stream: 'system', line }]);
    const config = readAppConfig(d.config);
    const secrets = await readAppSecrets(db, app.id);
    const wanted = buildDeploymentContainers(app.name, d.number, d.imageRef, d.manifestDigest, config, secrets);
    const created = await withLease(db, lease, async (tx: Db) => {
      await setDeploymentStatus(tx, d.id, 'deploying');
      return ensureDeploymentContainers(tx, d, app, wanted, (job.requiredLabels ?? {}) as Record<string, string>);
    });
    await log(`deployment ${d.number}: ${created.length} container(s) of ${d.imageRef} queued`);
    const deadline = Date.now() + (o.timeoutMs ?? 300_000);
    let verdict: Readiness = 'waiting';
    while (!signal.aborted && Date.now() < deadline) {
      verdict = judgeReadiness(await listDeploymentContainers(db, d.id), config.healthCheck !== null);
      if (verdict !== 'waiting') break;
      await new Promise((r) => setTimeout(r, o.pollMs ?? 500));
    }
    if (signal.aborted) throw new Error(`Cannot deploy "${d.id}": ${String(signal.reason)}`);
    if (verdict === 'ready') {
      const { retired } = await withLease(db, lease, (tx: Db) => activateDeployment(tx, d));
      await log(`deployment ${d.number} is live; ${retired.length} old container(s) stopping`);
      return { status: 'active', containers: created.map((c) => c.id), retired };
    }
    const reason = verdict === 'waiting' ? `not ready within ${Math.round((o.timeoutMs ?? 300_000) / 1000)} s` : verdict.failed;
    await withLease(db, lease, (tx: Db) => failDeployment(tx, d, reason));
    await log(`deployment ${d.number} failed: ${reason}; the previous deployment keeps serving`);
    throw new Error(`Cannot deploy "${d.id}": ${reason}`);
  };
}
