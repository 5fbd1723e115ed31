// Global setup for integration tests: a private Postgres and S3 server on free ports under
// .berth-test/<run>, migrated, with an admin token; removed afterwards. Runs beside a live stack.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { migrateDatabase } from '../../db/migrate.node.ts';
import { ensureAdminToken } from '../../infra/admin';
import { freePort, repoRoot, startServices } from '../../infra/services';
import { isProcessAlive } from '../../runner/container/shim';

export interface TestStack {
  env: Record<string, string>;
  adminToken: string;
  home: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    stack: TestStack;
  }
}


/**
 * Removes what earlier test runs left when they were killed before their teardown: a run dir is
 * named for the vitest process that made it; once that process is gone, its Postgres and S3 server
 * (which outlive it) are stopped and the dir removed. Runs whose process lives are left alone.
 */
async function removeAbandonedRuns(base: string): Promise<void> {
  if (!existsSync(base)) return;
  for (const name of readdirSync(base)) {
    const owner = Number(/^run-\d+-(\d+)$/.exec(name)?.[1]);
    if (owner && isProcessAlive(owner)) continue;
    const dir = join(base, name);
    spawnSync('pkill', ['-INT', '-f', dir]);
    const pidFile = join(dir, 'postgres', 'data', 'postmaster.pid');
    for (let i = 0; i < 100 && existsSync(pidFile); i++) {
      const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
      if (!pid || !isProcessAlive(pid)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

export default async function setup(project: TestProject) {
  const base = join(repoRoot, '.berth-test');
  await removeAbandonedRuns(base);
  const home = join(base, `run-${Date.now()}-${process.pid}`);
  mkdirSync(home, { recursive: true });
  const services = await startServices({
    home,
    env: { S3_BUCKET: 'berth-test', BERTH_PG_FSYNC: 'off' },
    pgPort: await freePort(),
    s3Port: await freePort(),
  });
  await migrateDatabase(services.env.DATABASE_URL!);
  const adminToken = await ensureAdminToken(services.env.DATABASE_URL!, home);
  project.provide('stack', { env: services.env, adminToken, home });
  return async () => {
    await services.stop();
    rmSync(home, { recursive: true, force: true });
  };
}
