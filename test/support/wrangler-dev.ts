// Runs functions/worker.ts under `wrangler dev` (workerd from npm) for tests, offline.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, repoRoot, stopChild } from '../../infra/services';

export interface WranglerDev {
  url: string;
  stop(): Promise<void>;
}

export async function startWranglerDev(vars: Record<string, string>, timeoutMs = 90_000): Promise<WranglerDev> {
  // A free port may be taken by another process before wrangler binds it: try fresh ones.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(vars, timeoutMs);
    } catch (err) {
      if (attempt >= 3 || !/Address already in use/.test((err as Error).message)) throw err;
    }
  }
}

async function startOnce(vars: Record<string, string>, timeoutMs: number): Promise<WranglerDev> {
  const port = await freePort();
  const inspector = await freePort();
  // Its own persistence and config dirs: runs beside a developer's wrangler and another test run.
  const state = mkdtempSync(join(tmpdir(), 'berth-wrangler-'));
  const args = ['dev', '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspector), '--persist-to', join(state, 'persist'), '--show-interactive-dev-session=false', '--log-level', 'warn'];
  for (const [k, v] of Object.entries(vars)) args.push('--var', `${k}:${v}`);
  const child: ChildProcess = spawn(join(repoRoot, 'node_modules/.bin/wrangler'), args, {
    cwd: repoRoot,
    env: {
      ...process.env,
      WRANGLER_SEND_METRICS: 'false',
      CLOUDFLARE_CF_FETCH_ENABLED: 'false',
      XDG_CONFIG_HOME: join(state, 'config'),
      CI: 'true',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) {
      rmSync(state, { recursive: true, force: true });
      throw new Error(`wrangler dev exited (${child.exitCode}):\n${output}`);
    }
    try {
      const res = await fetch(`${url}/healthz`);
      await res.arrayBuffer();
      break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stopChild(child, 2000);
      throw new Error(`wrangler dev did not answer within ${timeoutMs} ms:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url,
    async stop() {
      await stopChild(child, 5000);
      rmSync(state, { recursive: true, force: true });
    },
  };
}
