// Fixtures for tests that run real sandboxes: a private runner home, an overlay of the cached Debian
// rootfs per run, and a probe listing everything a container id may have left on the machine.
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { buildDefaultNetworkSettings, buildResolvConf, DEFAULT_IPAM_DIR, parsePortMapping, type NetworkSettings } from '../../runner/sandbox/cni-config';
import { buildCgroupsPath, CGROUP_ROOT, createParentCgroup } from '../../runner/sandbox/cgroup';
import { sandboxBundleDir, sandboxRootfsDir } from '../../runner/sandbox/cleanup';
import { DEFAULT_IDMAP } from '../../runner/sandbox/idmap';
import { USERNS_DIR } from '../../runner/sandbox/namespaces';
import { mountOverlay, removeOverlay, type OverlayLayout } from '../../runner/sandbox/overlay';
import { attachNetwork, pinNetns } from '../../runner/sandbox/network';
import { createContainer, createContainerId, DEFAULT_RUNC, startContainer } from '../../runner/sandbox/runc';
import { runSandboxed, type SandboxRunOptions } from '../../runner/sandbox/run';
import { buildRuntimeSpec } from '../../runner/sandbox/spec';
import type { SandboxResult } from '../../runner/sandbox/verdict';
import { ensureShiftedRootfs } from './rootfs';

export const DEBIAN_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface SandboxFixture {
  home: string;
  lower: string;
  networkSettings: NetworkSettings;
  resolvConf: string;
  remove(): void;
}

export async function createSandboxFixture(): Promise<SandboxFixture> {
  const lower = await ensureShiftedRootfs();
  const home = mkdtempSync(join(tmpdir(), 'berth-sandbox-test-'));
  // The container's root (host uid 100000) must be able to walk to its rootfs, like a runner home.
  chmodSync(home, 0o711);
  return {
    home,
    lower,
    networkSettings: buildDefaultNetworkSettings(home),
    resolvConf: buildResolvConf(readFileSync('/etc/resolv.conf', 'utf8'), ['1.1.1.1', '9.9.9.9']),
    remove: () => rmSync(home, { recursive: true, force: true }),
  };
}

export interface RunInOverlay {
  id: string;
  layout: OverlayLayout;
  result: SandboxResult;
  lines: Array<{ stream: 'stdout' | 'stderr'; line: string }>;
  stdout: string;
}

/** Mount an overlay of the Debian rootfs, run, collect output; the overlay is kept until `removeOverlay`. */
export async function runInOverlay(
  fx: SandboxFixture,
  args: string[],
  extra: Partial<Omit<SandboxRunOptions, 'home' | 'rootfs' | 'process' | 'networkSettings' | 'resolvConf'>> & { uid?: number; gid?: number } = {},
): Promise<RunInOverlay> {
  const id = createContainerId();
  const layout = await mountOverlay(sandboxRootfsDir(fx.home, id), [fx.lower], DEFAULT_IDMAP);
  const lines: RunInOverlay['lines'] = [];
  const { uid = 0, gid = 0, ...rest } = extra;
  try {
    const result = await runSandboxed({
      network: { mode: 'none' },
      ...rest,
      home: fx.home,
      containerId: id,
      rootfs: layout.merged,
      process: { args, env: [DEBIAN_PATH], cwd: '/', uid, gid },
      networkSettings: fx.networkSettings,
      resolvConf: fx.resolvConf,
      onOutput: (stream, line) => {
        lines.push({ stream, line });
        rest.onOutput?.(stream, line);
      },
    });
    return { id, layout, result, lines, stdout: lines.filter((l) => l.stream === 'stdout').map((l) => l.line).join('\n') };
  } catch (error) {
    await removeOverlay(layout.dir);
    throw error;
  }
}

function sh(argv: string[]): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  return r.stdout ?? '';
}

/** Everything on the machine that still names `id`: must be empty after a run. */
export function findLeftovers(fx: SandboxFixture, id: string): string[] {
  const found: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) if (line.includes(id)) found.push(`mount: ${line}`);
  if (existsSync(join('/run/netns', id))) found.push(`netns: ${id}`);
    if (existsSync(join(USERNS_DIR, id))) found.push(`userns pin: ${id}`);
  for (const table of ['nat', 'filter']) for (const line of sh(['iptables', '-w', '-t', table, '-S']).split('\n')) if (line.includes(id)) found.push(`iptables ${table}: ${line}`);
  for (const h of readdirSync(CGROUP_ROOT)) if (existsSync(join(CGROUP_ROOT, h, 'berth', id))) found.push(`cgroup: ${h}/berth/${id}`);
  if (existsSync(sandboxBundleDir(fx.home, id))) found.push(`bundle: ${id}`);
  if (existsSync(join(fx.networkSettings.stateDir, 'attachments', `${id}.json`))) found.push(`cni attachment: ${id}`);
  const ipamDir = join(fx.networkSettings.ipamDir ?? DEFAULT_IPAM_DIR, 'berth');
  if (existsSync(ipamDir)) for (const f of readdirSync(ipamDir)) if (readFileSync(join(ipamDir, f), 'utf8').includes(id)) found.push(`ipam: ${f}`);
  if (sh([DEFAULT_RUNC.binary, '--root', DEFAULT_RUNC.root, 'list', '-q']).split('\n').includes(id)) found.push(`runc: ${id}`);
  return found;
}

/** A long-running container made the Containers way: create → pin netns → CNI → start. */
export async function startDetachedSandbox(fx: SandboxFixture): Promise<string> {
  const id = createContainerId();
  const layout = await mountOverlay(sandboxRootfsDir(fx.home, id), [fx.lower], DEFAULT_IDMAP);
  const bundle = sandboxBundleDir(fx.home, id);
  mkdirSync(bundle, { recursive: true });
  await createParentCgroup(id, { pidsLimit: 50 });
  const spec = buildRuntimeSpec({
    process: { args: ['sleep', '1000'], env: [DEBIAN_PATH], cwd: '/', uid: 0, gid: 0, nofile: { soft: 1024, hard: 1024 } },
    root: { path: layout.merged, readonly: false },
    hostname: 'orphan',
    network: { kind: 'new' },
    idmap: DEFAULT_IDMAP,
    cgroupsPath: buildCgroupsPath(id),
    resources: { pidsLimit: 50 },
  });
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
  await createContainer(DEFAULT_RUNC, id, bundle, join(bundle, 'pid'), join(bundle, 'runc.log'));
  const pid = Number(readFileSync(join(bundle, 'pid'), 'utf8'));
  const netns = await pinNetns(id, pid);
  await attachNetwork(fx.networkSettings, id, netns, [parsePortMapping('127.0.0.1:0:80')]);
  await startContainer(DEFAULT_RUNC, id);
  return id;
}
