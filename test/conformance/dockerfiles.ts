// Conformance of Berth's builder with buildah (as a stand-in for Docker/BuildKit) on a corpus of
// realistic Dockerfiles: both build each case from the same debootstrapped base; the image configs
// (Env, Cmd, Entrypoint, WorkingDir, User, ExposedPorts, Volumes, Labels, StopSignal, Healthcheck,
// Shell, OnBuild) and the final filesystem trees (paths, modes, owners, link targets, hard links,
// content hashes; not times or layer counts) are compared and every difference printed. Malformed
// Dockerfiles must fail with an error naming the line.
//   npx tsx test/conformance/dockerfiles.ts [--apt] [--only name,name] [--bad-only]
// Differences are judged against Docker/BuildKit's behaviour: where buildah departs from it, the
// difference is listed in KNOWN_BUILDAH and reported but not counted.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { getBuild } from '../../db/queries/builds';
import { startCliBuild } from '../../runner/build/cli';
import { startBuilderBesideBuildah } from '../support/builder-beside-buildah';
import { exportOciLayout } from '../../runner/image/oci-layout';
import { readImageByDigest } from '../../runner/image/registry-images';
import { BAD, CORPUS, writeCase, type ConformanceCase } from './corpus';
import { describeTree, diffTrees } from './tree';

const { values: opts } = parseArgs({ options: { apt: { type: 'boolean', default: false }, only: { type: 'string' }, 'bad-only': { type: 'boolean', default: false } } });
const only = opts.only ? new Set(opts.only.split(',')) : undefined;

/**
 * Where buildah 1.28 departs from Docker/BuildKit and Berth follows Docker: such difference lines are
 * reported as buildah's, not counted.
 */
const KNOWN_BUILDAH: { pattern: RegExp; why: string }[] = [
  { pattern: /^\/(a\/b|final|final\/empty|owned|owned\/by|owned\/by\/user): berth dir .* \| buildah \(absent\)$/, why: 'BuildKit makes every WORKDIR when it runs, owned by the USER; buildah only the one a RUN uses' },
  { pattern: /^\/x\/(gz|plain): berth dir 0755 0:0 \| buildah dir 0755 \d+:\d+$/, why: "Docker's untar skips the archive's ./ entry over an existing directory; buildah applies it" },
  { pattern: /setuid: berth file 4755 .* \| buildah file 0755 /, why: 'Docker keeps setuid bits of context files; buildah drops them' },
  { pattern: /^config WorkingDir: berth "\/" \| buildah \(none\)$/, why: "BuildKit's FROM scratch has WORKDIR /" },
  { pattern: /^config Cmd: berth \["\/bin\/bash","-o","pipefail","-c","echo hi"\] \| buildah \["\/bin\/sh"/, why: 'Docker runs a shell-form CMD through SHELL; buildah ignores SHELL there' },
  { pattern: /^config ExposedPorts: berth .*"8001\/tcp".* \| buildah .*"8000-8002\/tcp"/, why: 'Docker expands EXPOSE ranges and lower-cases the protocol; buildah keeps them as written' },
  { pattern: /^\/(data|one|two): berth \(absent\) \| buildah dir 0755 0:0$/, why: 'BuildKit does not create VOLUME directories in the image; buildah does' },
  { pattern: /^config Env: berth \["P=C:\\\\path\\\\to"/, why: 'with # escape=` a backslash is literal (Docker); buildah still escapes' },
  { pattern: /^\/x\\y\.txt: berth file .* \| buildah \(absent\)$|^\/xy\.txt: berth \(absent\) \| buildah file /, why: 'with # escape=` a backslash is literal (Docker); buildah still escapes' },
];

const CONFIG_FIELDS = ['Env', 'Cmd', 'Entrypoint', 'WorkingDir', 'User', 'ExposedPorts', 'Volumes', 'Labels', 'StopSignal', 'Healthcheck', 'Shell', 'OnBuild'] as const;

function sh(argv: string[], o: { cwd?: string; allowFail?: boolean } = {}): { ok: boolean; out: string; err: string } {
  const r = spawnSync(argv[0]!, argv.slice(1), { cwd: o.cwd, encoding: 'utf8', maxBuffer: 256 << 20 });
  if (r.status !== 0 && !o.allowFail) throw new Error(`${argv.join(' ')} failed: ${r.stderr?.slice(-2000)}`);
  return { ok: r.status === 0, out: r.stdout, err: r.stderr };
}

/** Empty and absent are the same to a container; buildah adds its own version label. */
function normaliseConfig(c: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of CONFIG_FIELDS) {
    let v = c?.[f];
    if (f === 'Labels' && v) v = Object.fromEntries(Object.entries(v as Record<string, string>).filter(([k]) => k !== 'io.buildah.version'));
    if (v === null || v === undefined || v === '' || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && Object.keys(v as object).length === 0)) continue;
    out[f] = JSON.stringify(f === 'Env' ? [...(v as string[])].sort() : v, Object.keys(v as object).sort());
    if (typeof v === 'object' && !Array.isArray(v)) out[f] = JSON.stringify(Object.fromEntries(Object.entries(v as object).sort()));
  }
  return out;
}

const home = join(tmpdir(), `berth-conform-${Math.random().toString(36).slice(2, 10)}`);
mkdirSync(home);
chmodSync(home, 0o711);

async function main() {
  const { db, blobs, buildahRoot, stop } = await startBuilderBesideBuildah(home, 'conform', { leaseMs: 120000 });
  const report: string[] = [];
  let differing = 0;
  try {
    const berthBuild = async (ctx: string, c: { buildArgs?: Record<string, string>; target?: string }) => {
      const id = await startCliBuild(db, blobs, { account: 'admin', tags: ['admin/conform:latest'], context: ctx, file: 'Dockerfile', buildArgs: c.buildArgs ?? {}, target: c.target, noCache: true });
      for (;;) {
        const b = await getBuild(db, id);
        if (b && ['succeeded', 'failed', 'cancelled'].includes(b.status)) return b;
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    const unpack = (layout: string, tag: string, dest: string) => sh(['umoci', 'raw', 'unpack', '--image', `${layout}:${tag}`, dest]);

    for (const bad of opts['bad-only'] || !only ? BAD : []) {
      const ctx = mkdtempSync(join(home, 'bad-'));
      writeFileSync(join(ctx, 'Dockerfile'), bad.dockerfile);
      const b = await berthBuild(ctx, {});
      const h = sh(['buildah', ...buildahRoot, '--runtime', '/usr/sbin/runc', 'bud', '--pull-never', '--quiet', '-t', 'bad', ctx], { allowFail: true });
      const names = new RegExp(`(^Dockerfile:${bad.line}:|\\bline ${bad.line}\\b)`, 'i').test(b.error ?? '');
      const ok = b.status === 'failed' && names;
      if (!ok) differing++;
      report.push(`${ok ? 'ok  ' : 'DIFF'} bad/${bad.name}: berth ${b.status}: ${(b.error ?? '').slice(0, 200)}${h.ok ? ' | buildah SUCCEEDED' : ''}`);
      rmSync(ctx, { recursive: true, force: true });
    }

    for (const c of CORPUS as ConformanceCase[]) {
      if (opts['bad-only'] || (only && !only.has(c.name)) || (c.apt && !opts.apt && !only)) continue;
      const ctx = join(home, `ctx-${c.name}`);
      mkdirSync(ctx);
      writeCase(ctx, c);
      const t = performance.now();
      const b = await berthBuild(ctx, c);
      const berthSecs = (performance.now() - t) / 1000;
      const diffs: string[] = [];
      const berthRoot = join(home, `berth-${c.name}`);
      let berthConfig: Record<string, unknown> | undefined;
      if (b.status !== 'succeeded') diffs.push(`berth ${b.status}: ${b.error}`);
      else {
        const img = await readImageByDigest(blobs, b.manifestDigest!);
        berthConfig = img.config.config as Record<string, unknown>;
        await exportOciLayout(blobs, img, join(home, `berth-layout-${c.name}`), 'x');
        unpack(join(home, `berth-layout-${c.name}`), 'x', berthRoot);
        for (const [path, content] of Object.entries(c.expect ?? {})) {
          let got: string | undefined;
          try {
            got = readFileSync(join(berthRoot, path), 'utf8');
          } catch {
            got = undefined;
          }
          if (got !== content) diffs.push(`${path}: berth ${JSON.stringify(got)} | expected ${JSON.stringify(content)}`);
        }
      }
      let buildahSecs = 0;
      if (!c.buildahLacks) {
        const t2 = performance.now();
        const tag = `conform-${c.name}`;
        const args = Object.entries(c.buildArgs ?? {}).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]);
        const h = sh(['buildah', ...buildahRoot, '--runtime', '/usr/sbin/runc', 'bud', '--format', 'docker', '--layers', '--pull-never', '--quiet', '--network', 'host', ...args, ...(c.target ? ['--target', c.target] : []), '-t', tag, ctx], { allowFail: true });
        buildahSecs = (performance.now() - t2) / 1000;
        if (!h.ok) diffs.push(`buildah failed: ${h.err.slice(-600)}`);
        else if (berthConfig) {
          const docker = (JSON.parse(sh(['buildah', ...buildahRoot, 'inspect', '--type', 'image', tag]).out) as { Docker: { config: Record<string, unknown> } }).Docker.config;
          const a = normaliseConfig(berthConfig);
          const x = normaliseConfig(docker);
          for (const f of CONFIG_FIELDS) if (a[f] !== x[f]) diffs.push(`config ${f}: berth ${a[f] ?? '(none)'} | buildah ${x[f] ?? '(none)'}`);
          sh(['buildah', ...buildahRoot, 'push', '--quiet', tag, `oci:${join(home, `buildah-layout-${c.name}`)}:x`]);
          const buildahRootfs = join(home, `buildah-${c.name}`);
          unpack(join(home, `buildah-layout-${c.name}`), 'x', buildahRootfs);
          const ours = describeTree(berthRoot);
          const theirs = describeTree(buildahRootfs);
          // buildah leaves empty placeholders of the files it bind-mounts into a RUN; Docker does not.
          for (const f of ['/etc/hostname', '/etc/hosts', '/etc/resolv.conf']) if (!ours.has(f) && theirs.get(f)?.line.endsWith(' 0 e3b0c44298fc1c14')) theirs.delete(f);
          diffs.push(...diffTrees(ours, theirs, (p) => p.startsWith('/var/cache/apt') || p.startsWith('/var/log/') || p === '/var/cache/ldconfig/aux-cache'));
          rmSync(buildahRootfs, { recursive: true, force: true });
        }
      }
      rmSync(berthRoot, { recursive: true, force: true });
      const known = diffs.filter((d) => KNOWN_BUILDAH.some((k) => k.pattern.test(d)));
      const real = diffs.filter((d) => !known.includes(d));
      if (real.length) differing++;
      const lines = [...real.map((d) => `\n       ${d}`), ...known.map((d) => `\n       (buildah, not Docker) ${d}`)];
      report.push(`${real.length ? 'DIFF' : 'ok  '} ${c.name} (berth ${berthSecs.toFixed(1)} s, buildah ${buildahSecs.toFixed(1)} s)${lines.join('')}`);
      console.log(report[report.length - 1]);
    }
  } finally {
    await stop();
    rmSync(home, { recursive: true, force: true });
  }
  console.log(`\nDockerfile conformance: ${report.length - differing}/${report.length} as expected`);
  for (const r of report) console.log(r);
}

await main();
process.exit(0);
