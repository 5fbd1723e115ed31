// Global setup for integration tests: a private Postgres and S3 server on free ports under
// .berth-test/<run>, migrated, with an admin token; removed afterwards. Runs beside a live stack.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { migrateDatabase } from '../../db/migrate.node.ts';
import { ensureAdminToken } from '../../infra/admin';
import { freePort, repoRoot, startServices } from '../../infra/services';

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

function removeAbandonedRuns(base: string): void {
  if (!existsSync(base)) return;
  for (const name of readdirSync(base)) {
    const pidFile = join(base, name, 'postgres', 'data', 'postmaster.pid');
    if (existsSync(pidFile)) {
      const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
      try {
        process.kill(pid, 0);
        continue; // another test run is live
      } catch {
        // dead: fall through
      }
    }
    rmSync(join(base, name), { recursive: true, force: true });
  }
}

export default async function setup(project: TestProject) {
  const base = join(repoRoot, '.berth-test');
  removeAbandonedRuns(base);
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
