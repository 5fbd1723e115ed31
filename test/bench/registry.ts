// skopeo push and pull of the same ~150 MB image to Berth (Node entry + the embedded S3 server) and to CNCF
// distribution (Debian's docker-registry, filesystem driver), medians of a few runs, and the ratio.
//   npx tsx test/bench/registry.ts [runs=3] [megabytes=150]
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { createS3Client, readS3Config } from '../../functions/storage/s3';
import { migrateDatabase } from '../../db/migrate.node.ts';
import { ensureAdminToken } from '../../infra/admin';
import { freePort, spawnTs, startServices, stopChild, STREAMING_NODE_FLAGS } from '../../infra/services';
import { OciLayout } from '../functions/registry/oci-layout';
import { pullArgs, pushArgs, skopeo } from '../functions/registry/skopeo';

const runs = Number(process.argv[2] ?? 3);
const megabytes = Number(process.argv[3] ?? 150);

async function waitHttp(url: string, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      await fetch(url);
      return;
    } catch {
      if (Date.now() > until) throw new Error(`Cannot reach "${url}" within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function startDistribution(dir: string): Promise<{ host: string; child: ChildProcess }> {
  const port = await freePort();
  mkdirSync(dir, { recursive: true });
  const config = join(dir, 'config.yml');
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log: { level: error }',
      'storage:',
      `  filesystem: { rootdirectory: ${join(dir, 'data')} }`,
      '  delete: { enabled: true }',
      `http: { addr: "127.0.0.1:${port}" }`,
      '',
    ].join('\n'),
  );
  const env = { ...process.env };
  delete env.AWS_CA_BUNDLE;
  const child = spawn('docker-registry', ['serve', config], { env, stdio: 'ignore' });
  await waitHttp(`http://127.0.0.1:${port}/v2/`);
  return { host: `127.0.0.1:${port}`, child };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** CPU seconds (user + system) a process has used so far, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Wall seconds of a skopeo run, and the CPU seconds each server process spent meanwhile. */
async function timed(args: string[], servers: Record<string, number>): Promise<{ wall: number; cpu: Record<string, number> }> {
  const before = Object.fromEntries(Object.entries(servers).map(([k, pid]) => [k, cpuSeconds(pid)]));
  const t = performance.now();
  const r = await skopeo(args, 600_000);
  if (r.code !== 0) throw new Error(`skopeo ${args.join(' ')} failed: ${r.stderr}`);
  const wall = (performance.now() - t) / 1000;
  return { wall, cpu: Object.fromEntries(Object.entries(servers).map(([k, pid]) => [k, cpuSeconds(pid) - before[k]!])) };
}

async function main() {
  const home = mkdtempSync(join(tmpdir(), 'berth-bench-'));
  chmodSync(home, 0o755); // the embedded Postgres runs as its own user
  // skopeo keeps a blob-location cache under $HOME: a private one per run keeps it from mounting.
  process.env.HOME = join(home, 'home');
  mkdirSync(process.env.HOME, { recursive: true });
  const stops: (() => Promise<void>)[] = [];
  try {
    const services = await startServices({ home, env: { S3_BUCKET: 'bench', BERTH_PG_FSYNC: 'off' }, pgPort: await freePort(), s3Port: await freePort() });
    stops.push(() => services.stop());
    await migrateDatabase(services.env.DATABASE_URL!);
    const token = await ensureAdminToken(services.env.DATABASE_URL!, home);
    // The Node entry as `npm start` runs it: a client on this machine is redirected to the local S3
    // server for blob bytes (BERTH_REGISTRY_REDIRECT unset = local).
    const berthPort = await freePort();
    const berth = await spawnTs('functions/server.node.ts', [], {
      name: 'functions',
      readyText: 'functions listening',
      env: { ...services.env, BERTH_PORT: String(berthPort) },
      nodeFlags: STREAMING_NODE_FLAGS,
    });
    stops.push(() => stopChild(berth));
    // The same entry streaming every blob itself, as it does for clients on other machines.
    const streamPort = await freePort();
    const streaming = await spawnTs('functions/server.node.ts', [], {
      name: 'functions-streamed',
      readyText: 'functions listening',
      env: { ...services.env, BERTH_PORT: String(streamPort), BERTH_REGISTRY_REDIRECT: 'off' },
      nodeFlags: STREAMING_NODE_FLAGS,
    });
    stops.push(() => stopChild(streaming));
    const dist = await startDistribution(join(home, 'distribution'));
    stops.push(() => stopChild(dist.child));
    // The processes that serve each target: their CPU time is what the bytes cost the machine,
    // a figure that holds up on a loaded machine better than wall time does.
    const s3pid = services.pids.s3!;
    const targets: { name: string; host: string; creds: string; servers: Record<string, number> }[] = [
      { name: 'berth', host: `127.0.0.1:${berthPort}`, creds: `admin:${token}`, servers: { functions: berth.pid!, s3: s3pid } },
      { name: 'berth-streamed', host: `127.0.0.1:${streamPort}`, creds: `admin:${token}`, servers: { functions: streaming.pid!, s3: s3pid } },
      { name: 'distribution', host: dist.host, creds: 'x:x', servers: { registry: dist.child.pid! } },
    ];
    type Sample = { wall: number; cpu: Record<string, number> };
    const times: Record<string, { push: Sample[]; pull: Sample[] }> = Object.fromEntries(targets.map((t) => [t.name, { push: [], pull: [] }]));
    let bytes = 0;
    for (let run = 0; run < runs; run++) {
      // Fresh random layers each run, so no registry can skip a blob it already holds.
      const layout = new OciLayout(join(home, `layout-${run}`));
      const per = Math.floor((megabytes << 20) / 3);
      const image = layout.addImage([per, per, per]);
      layout.tag(image, 'bench');
      bytes = 3 * per;
      // Alternate the order so no target always runs on a warmer machine.
      for (const t of run % 2 ? [...targets].reverse() : targets) {
        const ref = `docker://${t.host}/admin/bench-${t.name}-${run}:bench`;
        times[t.name]!.push.push(await timed(pushArgs(`oci:${layout.dir}:bench`, ref, t.creds), t.servers));
        const dest = join(home, `pull-${t.name}-${run}`);
        times[t.name]!.pull.push(await timed(pullArgs(ref, `oci:${dest}:bench`, t.creds), t.servers));
        rmSync(dest, { recursive: true, force: true });
      }
      rmSync(layout.dir, { recursive: true, force: true });
    }
    const mbps = (s: number) => bytes / (1 << 20) / s;
    // The floor under Berth's numbers: the same bytes straight into and out of the S3 server.
    const s3config = readS3Config(services.env);
    const s3 = createS3Client(s3config);
    const s3times = { put: [] as number[], get: [] as number[] };
    for (let run = 0; run < runs; run++) {
      const part = randomBytes(bytes / 3);
      let t = performance.now();
      await Promise.all([0, 1, 2].map((i) => s3.send(new PutObjectCommand({ Bucket: s3config.bucket, Key: `bench/${run}/${i}`, Body: part, ContentLength: part.length }))));
      s3times.put.push((performance.now() - t) / 1000);
      t = performance.now();
      await Promise.all([0, 1, 2].map(async (i) => (await s3.send(new GetObjectCommand({ Bucket: s3config.bucket, Key: `bench/${run}/${i}` }))).Body!.transformToByteArray()));
      s3times.get.push((performance.now() - t) / 1000);
    }
    console.log(`image ${(bytes / (1 << 20)).toFixed(0)} MiB, ${runs} runs, medians:`);
    const wall = (xs: Sample[]) => median(xs.map((x) => x.wall));
    const cpu = (xs: Sample[]) =>
      Object.keys(xs[0]!.cpu)
        .map((k) => `${k} ${median(xs.map((x) => x.cpu[k]!)).toFixed(2)}`)
        .join(' + ');
    for (const t of targets) {
      const r = times[t.name]!;
      console.log(`  ${t.name.padEnd(14)} push ${wall(r.push).toFixed(2)} s (${mbps(wall(r.push)).toFixed(0)} MiB/s)   pull ${wall(r.pull).toFixed(2)} s (${mbps(wall(r.pull)).toFixed(0)} MiB/s)`);
    }
    console.log('  server CPU seconds per operation (medians):');
    for (const t of targets) console.log(`  ${t.name.padEnd(14)} push ${cpu(times[t.name]!.push)}   pull ${cpu(times[t.name]!.pull)}`);
    console.log(`  ${'S3 alone'.padEnd(14)} put  ${median(s3times.put).toFixed(2)} s (${mbps(median(s3times.put)).toFixed(0)} MiB/s)   get  ${median(s3times.get).toFixed(2)} s (${mbps(median(s3times.get)).toFixed(0)} MiB/s)   (3 objects at once, SDK in this process)`);
    const ratio = (name: string, k: 'push' | 'pull') => wall(times.distribution![k]) / wall(times[name]![k]);
    for (const name of ['berth', 'berth-streamed']) {
      console.log(`  ratio ${name}/distribution throughput: push ${ratio(name, 'push').toFixed(2)}x   pull ${ratio(name, 'pull').toFixed(2)}x`);
    }
    // Run by run (the targets of one run ran back to back), to show how far one run is from the next.
    const perRun = (name: string, k: 'push' | 'pull') => times[name]![k].map((x, i) => (times.distribution![k][i]!.wall / x.wall).toFixed(2)).join(' ');
    for (const name of ['berth', 'berth-streamed']) console.log(`  per run ${name}: push ${perRun(name, 'push')}   pull ${perRun(name, 'pull')}`);
  } finally {
    for (const s of stops.reverse()) await s().catch(() => {});
    rmSync(home, { recursive: true, force: true });
  }
}

await main();
