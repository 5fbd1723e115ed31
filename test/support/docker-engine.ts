// The Docker Engine API and a runner (builds and containers under runc) in the test process, on the
// test stack's Postgres and S3, with a docker CLI config that sends the admin token. The runner's
// containers use a bridge of their own; the debootstrapped base is cached on the machine.
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { count, inArray } from 'drizzle-orm';
import { createDb } from '../../db/client';
import { jobs } from '../../db/schema';
import { startDockerEngine } from '../../functions/docker-engine.node.ts';
import { freePort } from '../../infra/services';
import { createBuilder } from '../../runner/build/builder';
import { createContainerRuntime } from '../../runner/container/runtime';
import { startQueueWorker } from '../../runner/queue/worker';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface DockerFixture {
  home: string;
  /** The environment the docker CLI needs (DOCKER_HOST, DOCKER_CONFIG, …). */
  env: Record<string, string>;
  docker(args: string[], o?: { input?: string; timeoutMs?: number; cwd?: string }): Promise<CliRun>;
  stop(): Promise<void>;
}

export async function startDockerFixture(stack: { env: Record<string, string | undefined>; adminToken: string }, o: { bridge: string; subnet: string; name: string }): Promise<DockerFixture> {
  const suffix = Math.random().toString(36).slice(2, 8);
  const home = mkdtempSync(join(tmpdir(), `berth-${o.name}-${suffix}-`));
  chmodSync(home, 0o711);
  const runnerHome = join(home, 'runner');
  mkdirSync(runnerHome, { recursive: true, mode: 0o711 });
  const env = {
    ...stack.env,
    BERTH_PUBLIC_URL: 'http://127.0.0.1:8080',
    BERTH_DEBOOTSTRAP_CACHE: '/var/cache/berth-test/debootstrap',
    BERTH_BRIDGE: o.bridge,
    BERTH_SUBNET: o.subnet,
    BERTH_RUNNER_ATTACH_SOCKET: join(runnerHome, 'attach.sock'),
  };
  const { db, sql } = createDb(stack.env.DATABASE_URL!, { max: 6 });
  const runnerId = `run_${o.name}_${suffix}`;
  const builder = createBuilder({ home: runnerHome, runnerId, env });
  const runtime = createContainerRuntime({ databaseUrl: stack.env.DATABASE_URL!, home: runnerHome, id: runnerId }, env, () => {});
  const worker = startQueueWorker({ db, sql, runnerId, handlers: { build: builder.handler, ...runtime.handlers }, concurrency: 3, leaseMs: 30_000 });
  const port = await freePort();
  const engine = startDockerEngine(env, port);
  const dockerConfig = join(home, 'docker-config');
  mkdirSync(dockerConfig, { recursive: true });
  writeFileSync(join(dockerConfig, 'config.json'), JSON.stringify({ HttpHeaders: { Authorization: `Bearer ${stack.adminToken}` } }));
  await runtime.ready;
  const cliEnv = { PATH: process.env.PATH ?? '', HOME: home, DOCKER_HOST: `tcp://127.0.0.1:${port}`, DOCKER_CONFIG: dockerConfig, DOCKER_BUILDKIT: '0' };

  /** Runs the docker CLI without blocking this process (the Engine API and runner live here). */
  const docker = (args: string[], r: { input?: string; timeoutMs?: number; cwd?: string } = {}): Promise<CliRun> =>
    new Promise((resolve, reject) => {
      const child = spawn('docker', args, { cwd: r.cwd, env: cliEnv });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), r.timeoutMs ?? 60_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
      child.stdin.end(r.input);
    });

  return {
    home,
    env: cliEnv,
    docker,
    async stop() {
      const ps = await docker(['ps', '-aq']).catch(() => undefined);
      for (const id of ps?.stdout.split('\n').filter(Boolean) ?? []) await docker(['rm', '-f', id]).catch(() => {});
      // rm returns before the runner has freed the container's files: wait for its jobs to finish.
      for (let i = 0; i < 100; i++) {
        const [row] = await db.select({ n: count() }).from(jobs).where(inArray(jobs.status, ['queued', 'running']));
        if (!row?.n) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      await worker.stop(5_000);
      await runtime.stop();
      await engine.close();
      await sql.end();
      rmSync(home, { recursive: true, force: true });
    },
  };
}
