// Container start latency on this machine (not a timed test): `npx tsx test/bench/sandbox-start.ts`.
// Prints medians for: a bare `runc run` of the cached rootfs (the floor), runSandboxed without
// network, with NAT (to "process running"), and with a published port (to "port accepting").
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { parsePortMapping } from '../../runner/sandbox/cni-config';
import { DEFAULT_IDMAP } from '../../runner/sandbox/idmap';
import { mountOverlay, removeOverlay } from '../../runner/sandbox/overlay';
import { createContainerId, DEFAULT_RUNC } from '../../runner/sandbox/runc';
import { runSandboxed } from '../../runner/sandbox/run';
import { buildRuntimeSpec } from '../../runner/sandbox/spec';
import { createSandboxFixture, DEBIAN_PATH } from '../support/sandbox';

const ROUNDS = Number(process.env.ROUNDS ?? 10);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1' }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

async function main() {
  const fx = await createSandboxFixture();
  const results: Record<string, number[]> = {};
  const record = (name: string, ms: number) => (results[name] ??= []).push(ms);
  try {
    for (let round = 0; round < ROUNDS; round++) {
      // Floor: runc run with the same spec, no hook, no network set-up, no cgroup bookkeeping.
      {
        const id = createContainerId();
        const t0 = performance.now();
        const layout = await mountOverlay(join(fx.home, 'sandbox', 'rootfs', id), [fx.lower], DEFAULT_IDMAP);
        record('overlay mount', performance.now() - t0);
        const bundle = join(fx.home, 'bare', id);
        mkdirSync(bundle, { recursive: true });
        const spec = buildRuntimeSpec({
          process: { args: ['true'], env: [DEBIAN_PATH], cwd: '/', uid: 0, gid: 0, nofile: { soft: 1024, hard: 1024 } },
          root: { path: layout.merged, readonly: false },
          hostname: 'bare',
          network: { kind: 'new' },
          idmap: DEFAULT_IDMAP,
          cgroupsPath: `/berth/${id}`,
        });
        writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
        const t1 = performance.now();
        await new Promise((r) => spawn('runc', ['--root', DEFAULT_RUNC.root, 'run', '--bundle', bundle, id], { stdio: 'ignore' }).on('exit', r));
        record('bare runc run `true` (floor)', performance.now() - t1);
        await removeOverlay(layout.dir);
      }
      for (const mode of ['none', 'nat'] as const) {
        const id = createContainerId();
        const layout = await mountOverlay(join(fx.home, 'sandbox', 'rootfs', id), [fx.lower], DEFAULT_IDMAP);
        const t0 = performance.now();
        await runSandboxed({
          home: fx.home,
          containerId: id,
          rootfs: layout.merged,
          process: { args: ['true'], env: [DEBIAN_PATH], cwd: '/', uid: 0, gid: 0 },
          network: { mode },
          networkSettings: fx.networkSettings,
          resolvConf: fx.resolvConf,
          resources: { memoryBytes: 512 * 1024 * 1024, pidsLimit: 512 },
          onStarted: () => record(`runSandboxed ${mode}: to process running`, performance.now() - t0),
        });
        record(`runSandboxed ${mode}: \`true\` start to cleaned up`, performance.now() - t0);
        await removeOverlay(layout.dir);
      }
      {
        const id = createContainerId();
        const layout = await mountOverlay(join(fx.home, 'sandbox', 'rootfs', id), [fx.lower], DEFAULT_IDMAP);
        const ac = new AbortController();
        let tAbort = 0;
        const t0 = performance.now();
        const server = 'use IO::Socket::IP; my $s = IO::Socket::IP->new(LocalHost => "::", LocalPort => 80, Listen => 5, V6Only => 0) or die; while (my $c = $s->accept) { close $c }';
        await runSandboxed({
          home: fx.home,
          containerId: id,
          rootfs: layout.merged,
          process: { args: ['perl', '-e', server], env: [DEBIAN_PATH], cwd: '/', uid: 0, gid: 0 },
          network: { mode: 'nat', ports: [parsePortMapping('127.0.0.1:0:80')] },
          networkSettings: fx.networkSettings,
          resolvConf: fx.resolvConf,
          signal: ac.signal,
          onStarted: (info) => {
            record('published port: to process running', performance.now() - t0);
            void (async () => {
              const port = info.network!.ports[0]!.hostPort;
              while (!(await canConnect(port))) await new Promise((r) => setTimeout(r, 2));
              record('published port: to port accepting', performance.now() - t0);
              tAbort = performance.now();
              ac.abort();
            })();
          },
        });
        record('published port: cancel to cleaned up', performance.now() - tAbort);
        await removeOverlay(layout.dir);
      }
    }
  } finally {
    fx.remove();
  }
  for (const [name, xs] of Object.entries(results)) console.log(`${name.padEnd(50)} median ${median(xs).toFixed(1)} ms  (n=${xs.length}, min ${Math.min(...xs).toFixed(1)}, max ${Math.max(...xs).toFixed(1)})`);
}

await main();
