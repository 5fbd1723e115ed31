// The runner daemon: registers, heartbeats, claims jobs from Postgres and runs them.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { createDb } from '../db/client';
import { registerRunner, setRunnerStatus } from '../db/queries/runners';
import { BlobStore } from '../functions/storage/blob-store';
import { readS3Config } from '../functions/storage/s3';
import { createNodeS3Client } from '../functions/storage/s3-client.node.ts';
import { createBuilder } from './build/builder';
import { listContainerDirs } from './container/container-files';
import { createContainerRuntime } from './container/runtime';
import { createGitHandlers } from './git/handlers';
import { startQueueWorker, type JobHandler } from './queue/worker';
import { cleanupOrphans, type CleanupReport } from './sandbox/cleanup';
import { buildDefaultNetworkSettings, type NetworkSettings } from './sandbox/cni-config';
import { DEFAULT_RUNC } from './sandbox/runc';

export interface RunnerConfig {
  databaseUrl: string;
  home: string;
  id: string;
  address: string;
  labels: Record<string, string>;
  concurrency: number;
  leaseMs: number;
  /** The network builds and containers use (its CNI state lives under `home`). */
  networkSettings?: NetworkSettings;
}

function runnerId(home: string): string {
  const file = join(home, 'runner-id');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const id = `run_${hostname().toLowerCase().replace(/[^a-z0-9-]/g, '-')}_${randomBytes(4).toString('hex')}`;
  mkdirSync(home, { recursive: true });
  writeFileSync(file, id + '\n');
  return id;
}

export function readRunnerConfig(env: NodeJS.ProcessEnv): RunnerConfig {
  const databaseUrl = env.DATABASE_URL;
  if (!databaseUrl) throw new Error('Cannot start the runner: DATABASE_URL is not set');
  const home = env.BERTH_RUNNER_HOME ?? join(env.BERTH_HOME ?? '/var/lib/berth', 'runner');
  const labels: Record<string, string> = {};
  for (const pair of (env.BERTH_RUNNER_LABELS ?? '').split(',').filter(Boolean)) {
    const [k, v = 'true'] = pair.split('=');
    labels[k!.trim()] = v.trim();
  }
  return {
    databaseUrl,
    home,
    id: env.BERTH_RUNNER_ID ?? runnerId(home),
    address: env.BERTH_RUNNER_ADDRESS ?? '127.0.0.1',
    labels,
    concurrency: Number(env.BERTH_RUNNER_CONCURRENCY ?? 2),
    leaseMs: Number(env.BERTH_LEASE_MS ?? 30_000),
    networkSettings: {
      ...buildDefaultNetworkSettings(home),
      cniPath: env.BERTH_CNI_PATH ?? '/usr/lib/cni',
      bridge: env.BERTH_BRIDGE ?? 'berth0',
      subnet: env.BERTH_SUBNET ?? '10.213.0.0/16',
    },
  };
}

/**
 * What a previous process of this runner left on the machine — the sandboxes of builds it was running
 * (runc, network, namespaces, cgroups, overlays, bundles) — is removed before any job is claimed.
 * Containers with a state dir are the container side's to adopt or remove (its reconcile), so they
 * are kept here; only this runner's home is looked at.
 */
export async function cleanRunnerHome(config: Pick<RunnerConfig, 'home' | 'networkSettings'>, log = (m: string) => console.log(m)): Promise<CleanupReport> {
  const keep = new Set(await listContainerDirs(config.home));
  const report = await cleanupOrphans({ home: config.home, runc: DEFAULT_RUNC, networkSettings: config.networkSettings ?? buildDefaultNetworkSettings(config.home), keep });
  const removed = new Set([...report.containers, ...report.attachments, ...report.netns, ...report.userns, ...report.cgroups, ...report.overlays, ...report.bundles]);
  if (removed.size > 0) log(`cleaned up after ${removed.size} sandbox(es) a previous runner process left: ${[...removed].join(', ')}`);
  for (const e of report.errors) log(`clean-up: ${e}`);
  return report;
}

/** The job kinds this runner executes. Each area of the runner adds its own. */
export function createHandlers(config?: RunnerConfig, env: NodeJS.ProcessEnv = process.env): Record<string, JobHandler> {
  const handlers: Record<string, JobHandler> = {};
  if (config) handlers.build = createBuilder({ home: config.home, runnerId: config.id, env, log: (m) => console.log(`[build] ${m}`) }).handler;
  // run, stop, remove, exec, deploy; reconciles this runner's containers before the first of them.
  if (config) Object.assign(handlers, createContainerRuntime(config, env).handlers);
  if (config) {
    const s3 = readS3Config(env);
    Object.assign(handlers, createGitHandlers({ blobs: new BlobStore(createNodeS3Client(s3), s3.bucket), home: config.home }));
  }
  return handlers;
}

export async function runRunner(config: RunnerConfig, handlers: Record<string, JobHandler>, log = (m: string) => console.log(m)) {
  await cleanRunnerHome(config, log);
  const { db, sql } = createDb(config.databaseUrl, { max: config.concurrency + 4 });
  await registerRunner(db, {
    id: config.id,
    hostname: hostname(),
    address: config.address,
    capacity: { jobs: config.concurrency },
    labels: config.labels,
    version: '0.1.0',
  });
  const worker = startQueueWorker({ db, sql, runnerId: config.id, labels: config.labels, handlers, concurrency: config.concurrency, leaseMs: config.leaseMs, log });
  log(`runner ${config.id} ready (${Object.keys(handlers).join(', ') || 'no job kinds'})`);
  return {
    async stop(graceMs = 10_000) {
      await setRunnerStatus(db, config.id, 'draining').catch(() => {});
      await worker.stop(graceMs);
      await setRunnerStatus(db, config.id, 'stopped').catch(() => {});
      await sql.end({ timeout: 5 });
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const config = readRunnerConfig(process.env);
  const runner = await runRunner(config, createHandlers(config));
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    console.log('stopping: finishing or releasing jobs');
    void runner.stop().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
