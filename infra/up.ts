// `npm start`: the whole stack on embedded defaults, in the foreground. Ctrl-C stops everything it started.
import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { migrateDatabase } from '../db/migrate.node.ts';
import { ensureAdminToken } from './admin';
import { repoRoot, spawnTs, startServices, stopChild, STREAMING_NODE_FLAGS } from './services';

const env = process.env;
const home = resolve(env.BERTH_HOME ?? join(repoRoot, '.berth'));
const port = Number(env.BERTH_PORT ?? 8080);
const dockerPort = Number(env.BERTH_DOCKER_PORT ?? 2375);
const log = (line: string) => console.log(line);
mkdirSync(home, { recursive: true });

const services = await startServices({
  home,
  env,
  pgPort: Number(env.BERTH_PG_PORT ?? 54329),
  s3Port: Number(env.BERTH_S3_PORT ?? 9000),
  log,
});
const children: ChildProcess[] = [];
let stopping = false;

async function shutdown(code: number) {
  if (stopping) return;
  stopping = true;
  log('stopping Berth…');
  for (const c of children.reverse()) await stopChild(c);
  await services.stop();
  log('stopped');
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

try {
  await migrateDatabase(services.env.DATABASE_URL!);
  const token = await ensureAdminToken(services.env.DATABASE_URL!, home);
  const childEnv = { ...services.env, BERTH_HOME: home, BERTH_PORT: String(port), BERTH_PUBLIC_URL: env.BERTH_PUBLIC_URL ?? `http://127.0.0.1:${port}` };
  children.push(await spawnTs('functions/server.node.ts', [], { name: 'functions', env: childEnv, readyText: 'functions listening', log, nodeFlags: STREAMING_NODE_FLAGS }));
  children.push(await spawnTs('functions/docker-engine.node.ts', [], { name: 'docker', env: { ...childEnv, BERTH_DOCKER_PORT: String(dockerPort) }, readyText: 'docker engine listening', log, nodeFlags: STREAMING_NODE_FLAGS }));
  children.push(await spawnTs('runner/main.ts', [], { name: 'runner', env: childEnv, readyText: 'ready', log, timeoutMs: 120_000 }));
  for (const c of children) {
    c.on('exit', (code, signal) => {
      if (!stopping) {
        log(`a Berth process exited unexpectedly (code ${code}, signal ${signal}); stopping`);
        void shutdown(1);
      }
    });
  }
  log('');
  log(`Berth is up.`);
  log(`  web and API:   http://127.0.0.1:${port}/   (health: http://127.0.0.1:${port}/healthz)`);
  log(`  registry:      127.0.0.1:${port}   (user admin, password = the token)`);
  log(`  docker:        DOCKER_HOST=tcp://127.0.0.1:${dockerPort}   (config.json "HttpHeaders": {"Authorization": "Bearer <token>"})`);
  log(`  admin token:   ${token}   (also in ${join(home, 'token')})`);
  log(`  state:         ${home}`);
  log('Press Ctrl-C to stop.');
} catch (err) {
  console.error(`Berth failed to start: ${err instanceof Error ? err.message : String(err)}`);
  await shutdown(1);
}
