// Container start latency (not a timed test): `npx tsx test/bench/containers.ts` (root).
// From the start request to "process running" and to "published port accepting", medians over ROUNDS:
//   present — the nginx image's layer already in the runner's layer store (Supervisor.start),
//   pulled  — a fresh layer store that must pull the layer from S3 (the local S3 server here), verify and unpack,
//   floor   — a bare `runc run --detach` of the same rootfs (host network, no user namespace, no
//             CNI, no hook), nginx on a host port: what runc alone costs.
// Target: present start-to-port-open <= 2 x floor + 50 ms.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobStore, blobKey } from '../../functions/storage/blob-store';
import { createS3Client } from '../../functions/storage/s3';
import { serveS3 } from '../../infra/s3-server';
import { LOCAL_S3_CREDENTIALS } from '../../infra/s3/credentials';
import { buildContainerPlan } from '../../runner/container/config';
import { runcIdFor, type ContainerMeta } from '../../runner/container/container-files';
import { Supervisor } from '../../runner/container/supervisor';
import { teardownContainer } from '../../runner/container/teardown';
import { LayerStore } from '../../runner/image/layer-store';
import { writeLayer } from '../../runner/image/layer-writer';
import { buildCgroupsPath, removeCgroups } from '../../runner/sandbox/cgroup';
import { DEFAULT_IDMAP } from '../../runner/sandbox/idmap';
import { mountOverlay, removeOverlay } from '../../runner/sandbox/overlay';
import { createContainerId, DEFAULT_RUNC, deleteContainer, killContainer } from '../../runner/sandbox/runc';
import { buildRuntimeSpec } from '../../runner/sandbox/spec';
import { createContainerFixture, recordEvents } from '../support/containers';
import { ensureNginxRootfs } from '../support/nginx-rootfs';
import { TEST_CACHE_DIR } from '../support/rootfs';

const ROUNDS = Number(process.env.ROUNDS ?? 9);
const PULL_ROUNDS = Number(process.env.PULL_ROUNDS ?? 3);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1' }, () => (s.destroy(), resolve(true)));
    s.on('error', () => resolve(false));
  });
}

async function waitPort(port: number): Promise<void> {
  const end = Date.now() + 20_000;
  while (!(await canConnect(port))) {
    if (Date.now() > end) throw new Error(`Port ${port} never opened`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

function run(argv: string[]): Promise<number> {
  return new Promise((resolve) => {
    const c = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' });
    c.on('close', (code) => resolve(code ?? 1));
  });
}

/** runc alone: a detached nginx on the host network, as root, from an overlay of the same rootfs. */
async function floorRound(home: string, lower: string): Promise<{ running: number; port: number }> {
  const id = createContainerId();
  const dir = join(home, 'floor', id);
  const layout = await mountOverlay(join(dir, 'rootfs'), [lower], DEFAULT_IDMAP);
  const port = await freePort();
  const site = join(dir, 'site');
  writeFileSync(site, `server { listen 127.0.0.1:${port}; location / { return 200 "floor\\n"; } }\n`);
  const spec = buildRuntimeSpec({
    process: { args: ['nginx', '-g', 'daemon off;'], env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'], cwd: '/', uid: 0, gid: 0, nofile: { soft: 1024, hard: 1024 } },
    root: { path: layout.merged, readonly: false },
    hostname: 'floor',
    mounts: [{ kind: 'bind', source: site, destination: '/etc/nginx/sites-enabled/default', readonly: true }],
    network: { kind: 'new' },
    idmap: DEFAULT_IDMAP,
    cgroupsPath: buildCgroupsPath(id),
  });
  const linux = spec.linux as { namespaces: Array<{ type: string }>; uidMappings?: unknown; gidMappings?: unknown };
  linux.namespaces = linux.namespaces.filter((n) => n.type !== 'user' && n.type !== 'network');
  delete linux.uidMappings;
  delete linux.gidMappings;
  spec.mounts = spec.mounts.filter((m) => m.type !== 'sysfs' && m.type !== 'cgroup');
  writeFileSync(join(dir, 'config.json'), JSON.stringify(spec));
  const t0 = performance.now();
  const code = await run([DEFAULT_RUNC.binary, '--root', DEFAULT_RUNC.root, 'run', '--detach', '--bundle', dir, id]);
  const running = performance.now() - t0;
  if (code !== 0) throw new Error(`Bare runc run failed (${code})`);
  await waitPort(port);
  const portOpen = performance.now() - t0;
  await killContainer(DEFAULT_RUNC, id, 'SIGKILL', true);
  for (let i = 0; i < 20; i++) {
    try {
      await deleteContainer(DEFAULT_RUNC, id);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  await removeCgroups(id);
  await removeOverlay(layout.dir);
  rmSync(dir, { recursive: true, force: true });
  return { running, port: portOpen };
}

async function main() {
  const lower = await ensureNginxRootfs();
  const fx = createContainerFixture();
  const results: Record<string, number[]> = {};
  const record = (k: string, v: number) => (results[k] ??= []).push(v);

  // The image as a layer in S3: written once from the cached rootfs, uploaded to a private S3 server.
  const layerFile = join(TEST_CACHE_DIR, 'bench-nginx-layer.tar.gz');
  if (!existsSync(`${layerFile}.json`)) {
    const blob = await writeLayer(lower, `${layerFile}.tmp`, { idmap: DEFAULT_IDMAP, level: 1, exclude: (rel) => /^(dev|proc|sys)\/./.test(rel) });
    renameSync(`${layerFile}.tmp`, layerFile);
    writeFileSync(`${layerFile}.json`, JSON.stringify({ digest: blob.digest, diffId: blob.diffId, size: blob.size }));
  }
  const layer = JSON.parse(readFileSync(`${layerFile}.json`, 'utf8')) as { digest: string; diffId: string; size: number };
  const s3dir = mkdtempSync(join(tmpdir(), 'berth-bench-s3-'));
  const s3port = await freePort();
  const s3 = await serveS3(s3dir, s3port, 'bench').catch((e: unknown) => {
    rmSync(s3dir, { recursive: true, force: true });
    throw e;
  });
  const cleanup = async () => {
    await s3.close();
    rmSync(s3dir, { recursive: true, force: true });
    chmodSync(fx.home, 0o700);
    fx.remove();
  };
  try {
    const blobs = new BlobStore(createS3Client({ endpoint: `http://127.0.0.1:${s3port}`, region: 'us-east-1', bucket: 'bench', ...LOCAL_S3_CREDENTIALS, forcePathStyle: true }), 'bench');
    await blobs.put(blobKey(layer.digest), new Uint8Array(readFileSync(layerFile)), layer.size);
    const warm = new LayerStore({ root: join(fx.home, 'layers-warm'), blobs, idmap: DEFAULT_IDMAP });
    await warm.open();
    await warm.ensure(layer);

    const ev = recordEvents();
    let phaseStart = 0;
    let last = 0;
    const trace = (phase: string) => {
      const now = performance.now();
      record(`  phase: ${phase}`, now - (last || phaseStart));
      last = now;
    };
    const sup = new Supervisor({ trace, runc: DEFAULT_RUNC, idmap: DEFAULT_IDMAP, home: fx.home, networkSettings: fx.networkSettings, resolvConf: fx.resolvConf, events: ev });
    const startOnce = async (store: LayerStore, label: string) => {
      const key = [...crypto.getRandomValues(new Uint8Array(32))].map((b) => b.toString(16).padStart(2, '0')).join('');
      const t0 = performance.now();
      phaseStart = t0;
      last = 0;
      const dir = await store.ensure(layer);
      const meta: ContainerMeta = {
        key,
        runcId: runcIdFor(key),
        lowerDirs: [dir],
        plan: buildContainerPlan({ Cmd: ['nginx', '-g', 'daemon off;'] }, {}, {}, 'bench'),
        ports: [{ hostIp: '127.0.0.1', hostPort: 0, containerPort: 80, protocol: 'tcp' }],
        resources: { pidsLimit: 256 },
        restartPolicy: 'no',
        autoRemove: false,
        stopGraceMs: 1000,
        restartCount: 0,
      };
      try {
        const info = await sup.start(meta);
        record(`${label}: running`, performance.now() - t0);
        await waitPort(info.ports[0]!.hostPort);
        record(`${label}: port open`, performance.now() - t0);
        await sup.remove(key);
      } finally {
        await teardownContainer({ home: fx.home, runc: DEFAULT_RUNC, networkSettings: fx.networkSettings }, meta.runcId);
      }
    };

    for (let i = 0; i < ROUNDS; i++) {
      const f = await floorRound(fx.home, lower);
      record('floor (bare runc run): running', f.running);
      record('floor (bare runc run): port open', f.port);
      await startOnce(warm, 'image present');
    }
    for (let i = 0; i < PULL_ROUNDS; i++) {
      const cold = new LayerStore({ root: join(fx.home, `layers-cold-${i}`), blobs, idmap: DEFAULT_IDMAP });
      await cold.open();
      await startOnce(cold, `image pulled (${Math.round(layer.size / 1024 / 1024)} MiB layer)`);
      rmSync(join(fx.home, `layers-cold-${i}`), { recursive: true, force: true });
    }
  } finally {
    await cleanup();
  }
  console.log(`container start on this machine, medians (${ROUNDS} rounds; ${PULL_ROUNDS} for pulls):`);
  for (const [k, v] of Object.entries(results)) console.log(`  ${k.padEnd(44)} ${median(v).toFixed(1).padStart(8)} ms`);
  const floor = median(results['floor (bare runc run): port open']!);
  const present = median(results['image present: port open']!);
  const target = 2 * floor + 50;
  console.log(`ratio image-present / floor (port open): ${(present / floor).toFixed(2)}x; target <= 2 x floor + 50 ms = ${target.toFixed(1)} ms: ${present <= target ? 'met' : 'NOT met'}`);
  mkdirSync(TEST_CACHE_DIR, { recursive: true });
}

await main();
