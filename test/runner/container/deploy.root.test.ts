// Deployments on a real runner process: a healthy deployment goes live; a deployment that never gets
// healthy fails without touching the live one; a rollback brings the earlier configuration back and
// retires what it replaces. Status in Postgres follows what runs.
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDb } from '../../../db/client';
import { enqueueJob } from '../../../db/queries/jobs';
import { newId } from '../../../functions/core/ids';
import { listDeploymentContainers } from '../../../db/queries/deployment-runs';
import { accounts, apps, containers, deployments } from '../../../db/schema';
import { runcIdFor } from '../../../runner/container/container-files';
import { teardownContainer } from '../../../runner/container/teardown';
import { DEFAULT_RUNC } from '../../../runner/sandbox/runc';
import { countLeftovers, TEST_NETWORK_SETTINGS } from '../../support/containers';
import { ensureNginxRootfs } from '../../support/nginx-rootfs';
import { waitFor } from '../../support/wait-for';
import { killRunner, startContainerRunner } from './fixtures/runner-process';

const stack = inject('stack');
const { db, sql } = createDb(stack.env.DATABASE_URL!, { max: 4 });
const suffix = randomBytes(4).toString('hex');
const runnerId = `run_dtest_${suffix}`;
const accountId = `acc_dtest_${suffix}`;
const appId = `app_dtest_${suffix}`;
let home: string;
let lower: string;
let runner: ChildProcess | undefined;

beforeAll(async () => {
  lower = await ensureNginxRootfs();
  home = mkdtempSync(join(tmpdir(), 'berth-deploy-'));
  chmodSync(home, 0o711);
  await db.insert(accounts).values({ id: accountId, name: `dtest-${suffix}` });
  await db.insert(apps).values({ id: appId, accountId, name: `dtest-${suffix}` });
  runner = (await startContainerRunner({ databaseUrl: stack.env.DATABASE_URL!, runnerId, home, lower })).child;
}, 400_000);

afterAll(async () => {
  if (runner) await killRunner(runner);
  const rows = await db.select().from(containers).where(eq(containers.appId, appId));
  for (const c of rows) await teardownContainer({ home, runc: DEFAULT_RUNC, networkSettings: TEST_NETWORK_SETTINGS }, runcIdFor(c.id));
  rmSync(home, { recursive: true, force: true });
  await sql.end();
});

const healthy = { instances: 2, ports: [{ containerPort: 80 }], restartPolicy: 'always', healthCheck: { type: 'http', path: '/', intervalSeconds: 1, timeoutSeconds: 3, retries: 5 } };
const neverHealthy = { ...healthy, instances: 1, healthCheck: { type: 'tcp', port: 81, intervalSeconds: 1, timeoutSeconds: 1, retries: 1 } };

let deployed = 0;
async function deploy(config: unknown) {
  // As the API's createDeployment, but the job carries this test's label: only its runner claims it.
  const [d] = await db.insert(deployments).values({ id: newId('dep'), appId, number: ++deployed, imageRef: 'test/nginx:latest', config }).returning();
  await enqueueJob(db, { kind: 'deploy', payload: { deploymentId: d!.id }, subjectId: d!.id, requiredLabels: { ctest: runnerId } });
  return waitFor(`deployment ${d!.number} settled`, async () => {
    const [row] = await db.select().from(deployments).where(eq(deployments.id, d!.id));
    return row && (row.status === 'active' || row.status === 'failed') && row;
  }, 60_000);
}

const live = async (deploymentId: string) => (await listDeploymentContainers(db, deploymentId)).filter((c) => c.status === 'running');

describe('deployments', () => {
  it('go live when healthy, fail without harm when not, and roll back', async () => {
    const first = await deploy(healthy);
    expect([first.status, first.error]).toEqual(['active', null]);
    const firstContainers = await live(first.id);
    expect(firstContainers.map((c) => c.health)).toEqual(['healthy', 'healthy']);
    const [app] = await db.select().from(apps).where(eq(apps.id, appId));
    expect(app!.currentDeploymentId).toBe(first.id);
    const port = (firstContainers[0]!.ports as Array<{ hostPort: number }>)[0]!.hostPort;
    expect(await fetch(`http://127.0.0.1:${port}/`).then((r) => r.text())).toBe('hello from berth on 80\n');

    const second = await deploy(neverHealthy);
    expect([second.status, second.error]).toEqual(['failed', 'container dtest-' + suffix + '-2-1 is unhealthy']);
    // The live deployment never noticed.
    expect((await live(first.id)).length).toBe(2);
    expect((await db.select().from(apps).where(eq(apps.id, appId)))[0]!.currentDeploymentId).toBe(first.id);
    await waitFor('failed deployment retired', async () => (await listDeploymentContainers(db, second.id)).every((c) => c.status === 'removed'));

    // Rollback = the API's new deployment of an earlier one's image and config.
    const third = await deploy(first.config);
    expect([third.status, third.error]).toEqual(['active', null]);
    await waitFor('first deployment retired', async () => (await listDeploymentContainers(db, first.id)).every((c) => c.status === 'removed'), 30_000);
    expect((await db.select().from(deployments).where(eq(deployments.id, first.id)))[0]!.status).toBe('superseded');
    expect((await live(third.id)).length).toBe(2);
    const retired = [...(await listDeploymentContainers(db, first.id)), ...(await listDeploymentContainers(db, second.id))];
    expect(countLeftovers(retired.map((c) => runcIdFor(c.id)))).toEqual([]);

    // More memory than the runner has (the fixture's runner offers 4096 MiB): refused, naming it.
    const fourth = await deploy({ ...healthy, instances: 1, resources: { cpus: 1, memoryMb: 100_000 } });
    expect(fourth.status).toBe('failed');
    expect(fourth.error).toContain('it asks for 100000 MiB of memory, more than a runner has (4096 MiB)');
    expect((await live(third.id)).length).toBe(2);
  });
});
