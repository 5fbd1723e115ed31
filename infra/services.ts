// Brings up the services Berth needs, embedded where no external one is configured.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmbeddedPostgres } from './postgres';
import { LOCAL_S3_CREDENTIALS } from './s3/credentials';

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));
/**
 * argv that runs a TypeScript entry in ONE process (node with tsx's loader). The tsx CLI forks a
 * child, so a signal sent to it — SIGKILL above all — would miss the real process.
 */
export function tsArgv(entry: string, args: string[] = [], nodeFlags: string[] = []): [string, string[]] {
  return [process.execPath, [...nodeFlags, '--import', 'tsx', join(repoRoot, entry), ...args]];
}

/**
 * Node flags for the processes that stream blob bytes (functions, Docker Engine API, S3 server).
 * Each 64 KiB piece of a request body is memory outside V8's heap, and with V8's small starting
 * limits a process could run a full collection every ~20 MiB of upload: measured on the functions,
 * 20 mark-compacts in three 150 MiB pushes instead of 5, and 0.5 s of CPU per push instead of 0.3.
 * Which processes it hit depended on their start-up. A 128 MB initial heap: 0.24-0.37 s for all of
 * them (64 MB: 0.27-0.41 s).
 */
export const STREAMING_NODE_FLAGS = ['--initial-heap-size=128'];

export interface Services {
  env: Record<string, string>;
  /** Process ids of the embedded servers started (for measurements), by name. */
  pids: Record<string, number>;
  stop(): Promise<void>;
}

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

/** Spawns a TypeScript entry with tsx and resolves once it prints `readyText`. */
export function spawnTs(
  entry: string,
  args: string[],
  opts: { env?: Record<string, string | undefined>; readyText: string; name: string; log?: (line: string) => void; timeoutMs?: number; nodeFlags?: string[] },
): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const [cmd, argv] = tsArgv(entry, args, opts.nodeFlags);
    const child = spawn(cmd, argv, {
      cwd: repoRoot,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let ready = false;
    const timer = setTimeout(() => {
      if (!ready) {
        child.kill('SIGKILL');
        reject(new Error(`${opts.name} did not become ready within ${opts.timeoutMs ?? 30000} ms`));
      }
    }, opts.timeoutMs ?? 30000);
    const onLine = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (!line) continue;
        opts.log?.(`[${opts.name}] ${line}`);
        if (!ready && line.includes(opts.readyText)) {
          ready = true;
          clearTimeout(timer);
          resolve(child);
        }
      }
    };
    child.stdout!.on('data', onLine);
    child.stderr!.on('data', onLine);
    child.on('exit', (code, signal) => {
      if (!ready) {
        clearTimeout(timer);
        reject(new Error(`${opts.name} exited before it was ready (code ${code}, signal ${signal})`));
      }
    });
  });
}

export function stopChild(child: ChildProcess, graceMs = 15000): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export interface ServiceOptions {
  home: string;
  env: Record<string, string | undefined>;
  pgPort: number;
  s3Port: number;
  log?: (line: string) => void;
}

/** Postgres and S3: the configured ones, or embedded ones under `home`. */
export async function startServices(o: ServiceOptions): Promise<Services> {
  const env: Record<string, string> = {};
  const pids: Record<string, number> = {};
  const stops: (() => Promise<void>)[] = [];
  try {
    if (o.env.DATABASE_URL) {
      env.DATABASE_URL = o.env.DATABASE_URL;
    } else {
      const pg = await startEmbeddedPostgres({ dir: join(o.home, 'postgres'), port: o.pgPort, fsync: o.env.BERTH_PG_FSYNC !== 'off', log: o.log });
      env.DATABASE_URL = pg.url;
      stops.push(() => pg.stop());
    }
    if (o.env.S3_ENDPOINT) {
      for (const k of ['S3_ENDPOINT', 'S3_REGION', 'S3_BUCKET', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY', 'S3_FORCE_PATH_STYLE']) {
        const v = o.env[k];
        if (v) env[k] = v;
      }
    } else {
      const bucket = o.env.S3_BUCKET ?? 'berth';
      const child = await spawnTs('infra/s3-server.ts', [join(o.home, 's3'), String(o.s3Port), bucket], {
        nodeFlags: STREAMING_NODE_FLAGS,
        name: 's3',
        readyText: 's3 ready',
        log: o.log,
      });
      Object.assign(env, {
        S3_ENDPOINT: `http://127.0.0.1:${o.s3Port}`,
        S3_BUCKET: bucket,
        S3_REGION: 'us-east-1',
        S3_ACCESS_KEY_ID: LOCAL_S3_CREDENTIALS.accessKeyId,
        S3_SECRET_ACCESS_KEY: LOCAL_S3_CREDENTIALS.secretAccessKey,
        S3_FORCE_PATH_STYLE: 'true',
      });
      if (child.pid) pids.s3 = child.pid;
      stops.push(() => stopChild(child));
    }
  } catch (err) {
    for (const s of stops.reverse()) await s().catch(() => {});
    throw err;
  }
  return {
    env,
    pids,
    async stop() {
      for (const s of stops.reverse()) await s().catch(() => {});
    },
  };
}
