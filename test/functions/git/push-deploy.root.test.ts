// The whole path with real parts: git push → the edge stores the pack and queues the build → a runner
// materialises the commit (git-context) and builds it with runc (build) → the push streams the steps
// and exits 0; a second push whose RUN fails exits non-zero with its ref still recorded.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { and, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { registerRunner } from '../../../db/queries/runners';
import { builds, containers, deployments } from '../../../db/schema';
import { runcIdFor } from '../../../runner/container/container-files';
import { teardownContainer } from '../../../runner/container/teardown';
import { DEFAULT_RUNC } from '../../../runner/sandbox/runc';
import { newId } from '../../../functions/core/ids';
import { createHandlers } from '../../../runner/main';
import { startQueueWorker, type QueueWorker } from '../../../runner/queue/worker';
import { commitFiles, git, initRepo, startGitServer } from './git-server';

const stack = inject('stack');
let server: Awaited<ReturnType<typeof startGitServer>>;
let worker: QueueWorker;
const home = mkdtempSync(join(tmpdir(), 'berth-git-deploy-'));
const appIds: string[] = [];
// A bridge of its own: the local stack's (berth0) may be running beside this test.
const network = { cniPath: '/usr/lib/cni', bridge: 'berthg0', subnet: '10.217.0.0/16', stateDir: join(home, 'cni') };
let handlers: ReturnType<typeof createHandlers>;

beforeAll(async () => {
  chmodSync(home, 0o711);
  server = await startGitServer(stack);
  const runnerId = newId('run');
  await registerRunner(server.db, { id: runnerId, hostname: 'test', address: '127.0.0.1', capacity: {}, labels: server.jobLabels, version: 'test' });
  const env = { ...stack.env, BERTH_DEBOOTSTRAP_CACHE: '/var/cache/berth-test/debootstrap', BERTH_PUBLIC_URL: server.platform.publicUrl, BERTH_BRIDGE: network.bridge, BERTH_SUBNET: network.subnet };
  // The runner's own handler table, as runner/main.ts builds it.
  handlers = createHandlers({ databaseUrl: stack.env.DATABASE_URL!, home, id: runnerId, address: '127.0.0.1', labels: server.jobLabels, concurrency: 1, leaseMs: 30_000 }, env);
  expect(Object.keys(handlers)).toEqual(expect.arrayContaining(['build', 'git-context']));
  worker = startQueueWorker({ db: server.db, runnerId, labels: server.jobLabels, handlers, concurrency: 1, leaseMs: 30_000, pollMinMs: 50, pollMaxMs: 250 });
});

afterAll(async () => {
  await worker?.stop(5_000);
  // The deployed app's containers: stopped and removed by the runner's own stop handler, so its
  // supervisor does not restart them (restart policy "always") behind a plain teardown; then torn
  // down for anything a failed test left.
  const rows = await server.db.select().from(containers).where(inArray(containers.appId, appIds));
  for (const c of rows) {
    await handlers.stop!({ job: { payload: { containerId: c.id, remove: true } }, db: server.db } as unknown as Parameters<NonNullable<typeof handlers.stop>>[0]).catch(() => {});
  }
  for (const c of rows) await teardownContainer({ home, runc: DEFAULT_RUNC, networkSettings: network }, runcIdFor(c.id));
  await server?.close();
  rmSync(home, { recursive: true, force: true });
});

describe('git push to deploy', () => {
  it('streams a multi-stage build and exits 0; a failing RUN makes the next push exit non-zero', async () => {
    const app = await server.createApp({ deployBranch: 'main' });
    appIds.push(app.id);
    const dir = initRepo(join(server.work, `${app.name}-src`), {
      Dockerfile: 'FROM debian:bookworm AS build\nCOPY hello.txt /src/hello.txt\nRUN tr a-z A-Z < /src/hello.txt > /src/out.txt\n\nFROM debian:bookworm\nCOPY --from=build /src/out.txt /out.txt\nCMD ["sh", "-c", "cat /out.txt && exec sleep 600"]\n',
      'hello.txt': 'hello from git\n',
    });
    const ok = await git(dir, ['push', server.url(app.name), 'main']);
    expect(ok.stderr).toContain('remote: Step 1/6 : FROM debian:bookworm AS build');
    expect(ok.stderr).toMatch(/remote: Step 3\/6 : RUN tr a-z A-Z/);
    expect(ok.stderr).toMatch(/remote: Deployed to \S+ \(deployment 1\)/);
    expect(ok.status).toBe(0);
    const [deployment] = await server.db.select().from(deployments).where(eq(deployments.appId, app.id));
    expect(deployment!.status).toBe('active');
    const [built] = await server.db.select().from(builds).where(and(eq(builds.appId, app.id), eq(builds.status, 'succeeded')));
    expect(built!.imageRef).toContain(`admin/${app.name}:latest`);

    const head = commitFiles(dir, { Dockerfile: 'FROM debian:bookworm\nRUN echo about to fail && exit 3\n' }, 'break the build');
    const failed = await git(dir, ['push', server.url(app.name), 'main']);
    expect(failed.stderr).toContain('remote: about to fail');
    expect(failed.stderr).toMatch(/failed: .*exit(ed)? .*3/i);
    expect(failed.status).not.toBe(0);
    expect((await git(dir, ['ls-remote', server.url(app.name), 'refs/heads/main'])).stdout).toContain(head);
  });
});
