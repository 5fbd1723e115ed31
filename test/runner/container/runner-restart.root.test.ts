// A runner with running containers is SIGKILLed and started again: it adopts what Postgres still
// wants (which keeps serving throughout), removes what Postgres no longer wants, and afterwards the
// machine holds nothing of either: mounts, network namespaces, iptables rules, cgroups, runc records.
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDb, type Db } from '../../../db/client';
import { enqueueContainerJob } from '../../../db/queries/containers';
import { enqueueJob } from '../../../db/queries/jobs';
import { newHexId } from '../../../functions/core/ids';
import { getContainer } from '../../../db/queries/container-runs';
import { readLogLines } from '../../../db/queries/logs';
import { accounts, containers } from '../../../db/schema';
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
const runnerId = `run_ctest_${suffix}`;
const accountId = `acc_ctest_${suffix}`;
let home: string;
let lower: string;
const children: ChildProcess[] = [];
const runcIds: string[] = [];

beforeAll(async () => {
  lower = await ensureNginxRootfs();
  home = mkdtempSync(join(tmpdir(), 'berth-runner-restart-'));
  chmodSync(home, 0o711);
  await db.insert(accounts).values({ id: accountId, name: `ctest-${suffix}` });
}, 400_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  for (const id of runcIds) await teardownContainer({ home, runc: DEFAULT_RUNC, networkSettings: TEST_NETWORK_SETTINGS }, id);
  rmSync(home, { recursive: true, force: true });
  await sql.end();
});

const startRunner = () => startContainerRunner({ databaseUrl: stack.env.DATABASE_URL!, runnerId, home, lower }).then((r) => (children.push(r.child), r));
const killAndWait = killRunner;

/** A container row and its 'run' job, which only this test's runner may claim. */
async function createContainer(db: Db, input: Omit<typeof containers.$inferInsert, 'id'>) {
  const [c] = await db.insert(containers).values({ ...input, id: newHexId() }).returning();
  await enqueueJob(db, { kind: 'run', payload: { containerId: c!.id }, subjectId: c!.id, requiredLabels: { ctest: runnerId } });
  return c;
}

describe('a runner restart', () => {
  it('adopts wanted containers, cleans unwanted ones, and leaks nothing', async () => {
    const first = await startRunner();
    const web = await createContainer(db, {
      accountId,
      name: `web-${suffix}`,
      imageRef: 'test/nginx:latest',
      spec: {},
      ports: [
        { hostIp: '127.0.0.1', hostPort: null, containerPort: 80, protocol: 'tcp' },
        { hostIp: '127.0.0.1', hostPort: null, containerPort: 443, protocol: 'tcp' },
      ],
      restartPolicy: 'on-failure',
      autoRemove: false,
    });
    const chatty = await createContainer(db, {
      accountId,
      name: `chatty-${suffix}`,
      imageRef: 'test/nginx:latest',
      spec: { cmd: ['/bin/bash', '-c', 'echo hello from the container; echo to stderr >&2; exec sleep 1000'] },
      ports: [],
      restartPolicy: 'no',
      autoRemove: false,
    });
    runcIds.push(runcIdFor(web!.id), runcIdFor(chatty!.id));
    expect(countLeftovers(runcIds)).toEqual([]);

    const running = await waitFor('web running', async () => {
      const c = await getContainer(db, web!.id);
      return c?.status === 'running' && c;
    });
    expect(running.runnerId).toBe(runnerId);
    const ports = running.ports as Array<{ hostPort: number; containerPort: number }>;
    const httpPort = ports.find((p) => p.containerPort === 80)!.hostPort;
    const get = () => fetch(`http://127.0.0.1:${httpPort}/`).then((r) => r.text());
    expect(await waitFor('nginx answering', () => get().catch(() => ''))).toBe('hello from berth on 80\n');
    await waitFor('chatty logs', async () => {
      const lines = await readLogLines(db, { kind: 'container', id: chatty!.id });
      return lines.length >= 2 && lines;
    }).then((lines) => expect(lines.map((l) => `${l.stream}:${l.line}`).sort()).toEqual(['stderr:to stderr', 'stdout:hello from the container']));

    await killAndWait(first.child);
    // The containers outlive their runner process.
    expect(await get()).toBe('hello from berth on 80\n');
    // Meanwhile Postgres stops wanting one of them.
    await db.update(containers).set({ status: 'removed' }).where(eq(containers.id, chatty!.id));

    const second = await startRunner();
    expect(second.output()).toMatch(/"adopted":\["[0-9a-f]{64}"\]/);
    expect(second.output()).toContain(`"cleaned":["${runcIdFor(chatty!.id)}"]`);
    expect(countLeftovers([runcIdFor(chatty!.id)])).toEqual([]);
    expect(await get()).toBe('hello from berth on 80\n');

    // The adopted container is fully supervised again: stop, then remove.
    await enqueueContainerJob(db, (await getContainer(db, web!.id))!, 'stop', { signal: 'SIGTERM', graceSeconds: 5 });
    const stopped = await waitFor('web exited', async () => {
      const c = await getContainer(db, web!.id);
      return c?.status === 'exited' && c;
    });
    expect([stopped.exitCode, stopped.exitReason]).toEqual([0, 'exited with code 0']);
    await enqueueContainerJob(db, stopped, 'remove', {});
    await waitFor('web removed', async () => (await getContainer(db, web!.id))?.status === 'removed');
    expect(countLeftovers(runcIds)).toEqual([]);
    await killAndWait(second.child);
  });
});
