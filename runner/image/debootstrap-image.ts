// `debian:<suite>` and `ubuntu:<suite>` made offline from the package mirror with
// `debootstrap --variant=minbase`, configured like the official images (PATH, CMD ["bash"]). The
// result is one gzipped layer; a cache directory (tests, or a runner's disk) keeps it by suite so the
// ~25 s bootstrap happens once per machine, and S3 keeps the image once for every runner after that.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImageConfig } from '../../functions/core/oci/types';
import { writeLayer, type LayerBlob } from './layer-writer';

export const OFFICIAL_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const DEBIAN_SUITES: Record<string, string> = {
  '10': 'buster', '11': 'bullseye', '12': 'bookworm', '13': 'trixie', latest: 'bookworm', stable: 'bookworm',
  buster: 'buster', bullseye: 'bullseye', bookworm: 'bookworm', trixie: 'trixie', sid: 'sid', unstable: 'sid', testing: 'trixie',
};
const UBUNTU_SUITES: Record<string, string> = {
  '20.04': 'focal', '22.04': 'jammy', '24.04': 'noble', latest: 'noble', focal: 'focal', jammy: 'jammy', noble: 'noble',
};

export interface BootstrapTarget {
  distro: 'debian' | 'ubuntu';
  suite: string;
}

/**
 * Which suite a `docker.io/library/{debian,ubuntu}` tag asks for (`bookworm`, `12`, `bookworm-slim`),
 * or undefined when debootstrap cannot make it.
 */
export function bootstrapTargetFor(registry: string, repository: string, tag: string | undefined): BootstrapTarget | undefined {
  if (registry !== 'docker.io') return undefined;
  const t = (tag ?? 'latest').replace(/-slim$/, '');
  if (repository === 'library/debian' && DEBIAN_SUITES[t]) return { distro: 'debian', suite: DEBIAN_SUITES[t]! };
  if (repository === 'library/ubuntu' && UBUNTU_SUITES[t]) return { distro: 'ubuntu', suite: UBUNTU_SUITES[t]! };
  return undefined;
}

export interface BootstrapOptions {
  workDir: string;
  /** Keeps the layer by suite across runs; a lock dir serialises parallel runs. */
  cacheDir?: string;
  mirrors?: Partial<Record<BootstrapTarget['distro'], string>>;
  log?: (line: string) => void;
}

export interface BootstrappedImage {
  layer: LayerBlob;
  config: ImageConfig;
}

/** What the official images add for container use (debuerreotype's minimizing config). */
const CONTAINER_FILES: [string, string, number][] = [
  [
    'etc/apt/apt.conf.d/docker-clean',
    'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };\n' +
      'APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };\n' +
      'Dir::Cache::pkgcache "";\nDir::Cache::srcpkgcache "";\n',
    0o644,
  ],
  ['etc/apt/apt.conf.d/docker-autoremove-suggests', 'Apt::AutoRemove::SuggestsImportant "false";\n', 0o644],
  ['etc/apt/apt.conf.d/docker-no-languages', 'Acquire::Languages "none";\n', 0o644],
  ['etc/apt/apt.conf.d/docker-gzip-indexes', 'Acquire::GzipIndexes "true";\n', 0o644],
  ['usr/sbin/policy-rc.d', '#!/bin/sh\nexit 101\n', 0o755],
];

/** Bumped when what a bootstrapped image holds changes, so caches keyed by suite are rebuilt. */
const RECIPE = 'v3';

const DEFAULT_MIRRORS = { debian: 'http://deb.debian.org/debian', ubuntu: 'http://archive.ubuntu.com/ubuntu' };

/** The config the official images carry, with the layer's diff_id. */
export function buildOfficialConfig(diffId: string, created: string, suite: string): ImageConfig {
  return {
    created,
    architecture: 'amd64',
    os: 'linux',
    config: { Env: [OFFICIAL_PATH], Cmd: ['bash'] },
    rootfs: { type: 'layers', diff_ids: [diffId] },
    history: [{ created, created_by: `debootstrap --variant=minbase ${suite}` }],
  };
}

function run(argv: string[], log?: (line: string) => void, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], signal });
    let tail = '';
    const onData = (b: Buffer) => {
      tail = (tail + b.toString()).slice(-4000);
      for (const l of b.toString().split('\n')) if (l.trim()) log?.(l);
    };
    c.stdout.on('data', onData);
    c.stderr.on('data', onData);
    c.on('error', reject);
    c.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${argv[0]} exited ${code}: ${tail.trim().split('\n').slice(-3).join(' / ')}`))));
  });
}

async function withLock<T>(lockDir: string, fn: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      await mkdir(lockDir);
      await writeFile(join(lockDir, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(await readFile(join(lockDir, 'pid'), 'utf8').catch(() => '0'));
      let alive = pid > 0;
      try {
        if (pid) process.kill(pid, 0);
      } catch {
        alive = false;
      }
      if (!alive && i > 2) await rm(lockDir, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(join(lockDir, 'pid'), { force: true });
    await rmdir(lockDir).catch(() => {});
  }
}

async function bootstrapFresh(t: BootstrapTarget, outPath: string, o: BootstrapOptions, signal?: AbortSignal): Promise<BootstrappedImage> {
  const rootfs = join(o.workDir, `rootfs-${t.distro}-${t.suite}-${process.pid}-${Date.now()}`);
  try {
    const mirror = o.mirrors?.[t.distro] ?? DEFAULT_MIRRORS[t.distro];
    await run(['debootstrap', '--variant=minbase', t.suite, rootfs, mirror], o.log, signal);
    // As the official images: no package lists or downloaded debs left in the layer, and the apt
    // and dpkg settings they ship for containers (cleaned caches, no daemons started by installs).
    // debootstrap copies the host's resolv.conf and hostname in: they must not reach the image.
    await run(['sh', '-c', 'rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/var/cache/apt/archives/*.deb "$1"/etc/resolv.conf "$1"/etc/hostname', 'sh', rootfs]);
    for (const [path, content, mode] of CONTAINER_FILES) await writeFile(join(rootfs, path), content, { mode });
    const created = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const epoch = Math.floor(Date.parse(created) / 1000);
    const layer = await writeLayer(rootfs, outPath, {
      sourceDateEpoch: epoch,
      exclude: (p) => /^(proc|sys|dev)\/./.test(p),
    });
    return { layer, config: buildOfficialConfig(layer.diffId, created, t.suite) };
  } finally {
    await rm(rootfs, { recursive: true, force: true });
  }
}

/** Bootstraps (or takes from the cache) the layer and config for a suite; the layer lands at outPath. */
export async function bootstrapImage(t: BootstrapTarget, outPath: string, o: BootstrapOptions, signal?: AbortSignal): Promise<BootstrappedImage> {
  await mkdir(o.workDir, { recursive: true });
  if (!o.cacheDir) return bootstrapFresh(t, outPath, o, signal);
  const cacheDir = o.cacheDir;
  await mkdir(cacheDir, { recursive: true });
  const base = join(cacheDir, `${t.distro}-${t.suite}-amd64-${RECIPE}`);
  return withLock(`${base}.lock`, async () => {
    if (existsSync(`${base}.json`) && existsSync(`${base}.tar.gz`)) {
      const cached = JSON.parse(await readFile(`${base}.json`, 'utf8')) as BootstrappedImage;
      await copyFile(`${base}.tar.gz`, outPath);
      return { layer: { ...cached.layer, path: outPath }, config: cached.config };
    }
    const fresh = await bootstrapFresh(t, `${base}.tar.gz.tmp`, o, signal);
    await rename(`${base}.tar.gz.tmp`, `${base}.tar.gz`);
    await writeFile(`${base}.json`, JSON.stringify({ layer: { ...fresh.layer, path: `${base}.tar.gz` }, config: fresh.config }));
    await copyFile(`${base}.tar.gz`, outPath);
    return { layer: { ...fresh.layer, path: outPath }, config: fresh.config };
  });
}
