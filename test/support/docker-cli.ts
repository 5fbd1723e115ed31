// The unmodified docker CLI against Berth's Engine API, with a real runner in the test process
// (builds and containers under runc) on the test stack's Postgres and S3. `useDockerCli()` registers
// the suite's beforeAll/afterAll; the debootstrapped base is cached on the machine, and the
// containers use a bridge of their own.
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, inject } from 'vitest';
import { count, inArray } from 'drizzle-orm';
import { createDb } from '../../db/client';
import { jobs } from '../../db/schema';
import { startDockerEngine } from '../../functions/docker-engine.node.ts';
import { freePort } from '../../infra/services';
import { createBuilder } from '../../runner/build/builder';
import { createContainerRuntime } from '../../runner/container/runtime';
import { startQueueWorker, type QueueWorker } from '../../runner/queue/worker';

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface DockerCli {
  suffix: string;
  home: string;
  dockerConfig: string;
  /** tcp://127.0.0.1:<port>, set once the suite's beforeAll ran. */
  readonly dockerHost: string;
  adminToken: string;
  db: ReturnType<typeof createDb>['db'];
  /** Runs the docker CLI without blocking this process (the Engine API and runner live here). */
  docker(args: string[], o?: { input?: string; timeoutMs?: number; cwd?: string; env?: Record<string, string> }): Promise<Run>;
  writeContext(files: Record<string, string>): string;
}

export function useDockerCli(): DockerCli {
  const stack = inject('stack');
  const suffix = Math.random().toString(36).slice(2, 8);
  const home = mkdtempSync(join(tmpdir(), `berth-docker-test-${suffix}-`));
  chmodSync(home, 0o711);
  const dockerConfig = join(home, 'docker-config');
  const { db, sql } = createDb(stack.env.DATABASE_URL!, { max: 6 });
  let worker: QueueWorker | undefined;
  let engine: ReturnType<typeof startDockerEngine> | undefined;
  let runtime: ReturnType<typeof createContainerRuntime> | undefined;
  let dockerHost = '';

  const docker: DockerCli['docker'] = (args, o = {}) =>
    new Promise((resolve, reject) => {
      const child = spawn('docker', args, {
        cwd: o.cwd,
        env: { PATH: process.env.PATH, HOME: home, DOCKER_HOST: dockerHost, DOCKER_CONFIG: dockerConfig, DOCKER_BUILDKIT: '0', ...o.env },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 60_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
      if (o.input !== undefined) child.stdin.end(o.input);
      else child.stdin.end();
    });

  beforeAll(async () => {
    const port = await freePort();
    const runnerHome = join(home, 'runner');
    mkdirSync(runnerHome, { recursive: true, mode: 0o711 });
    const env = {
      ...stack.env,
      BERTH_PUBLIC_URL: 'http://127.0.0.1:8080',
      BERTH_DEBOOTSTRAP_CACHE: '/var/cache/berth-test/debootstrap',
      BERTH_BRIDGE: 'berthd0',
      BERTH_SUBNET: '10.215.0.0/16',
      BERTH_RUNNER_ATTACH_SOCKET: join(runnerHome, 'attach.sock'),
    };
    const runnerId = `run_docker_${suffix}`;
    const builder = createBuilder({ home: runnerHome, runnerId, env });
    runtime = createContainerRuntime({ databaseUrl: stack.env.DATABASE_URL!, home: runnerHome, id: runnerId }, env, () => {});
    worker = startQueueWorker({ db, sql, runnerId, handlers: { build: builder.handler, ...runtime.handlers }, concurrency: 3, leaseMs: 30_000 });
    engine = startDockerEngine(env, port);
    dockerHost = `tcp://127.0.0.1:${port}`;
    mkdirSync(dockerConfig, { recursive: true });
    writeFileSync(join(dockerConfig, 'config.json'), JSON.stringify({ HttpHeaders: { Authorization: `Bearer ${stack.adminToken}` } }));
    await runtime.ready;
  }, 60_000);

  afterAll(async () => {
    const ps = await docker(['ps', '-aq']).catch(() => undefined);
    for (const id of ps?.stdout.split('\n').filter(Boolean) ?? []) await docker(['rm', '-f', id]).catch(() => {});
    // rm returns before the runner has freed the container's files: wait for its jobs to finish.
    for (let i = 0; i < 100; i++) {
      const [row] = await db.select({ n: count() }).from(jobs).where(inArray(jobs.status, ['queued', 'running']));
      if (!row?.n) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    await worker?.stop(5_000);
    await runtime?.stop();
    await engine?.close();
    await sql.end();
    rmSync(home, { recursive: true, force: true });
  }, 60_000);

  return {
    suffix,
    home,
    dockerConfig,
    get dockerHost() {
      return dockerHost;
    },
    adminToken: stack.adminToken,
    db,
    docker,
    writeContext(files) {
      const dir = mkdtempSync(join(home, 'ctx-'));
      for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
      return dir;
    },
  };
}
