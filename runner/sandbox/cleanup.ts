// Leftovers of containers that no longer exist — after a runner crash, a SIGKILL, a power cut — found
// by name on the machine and removed: runc containers, CNI allocations and masquerade rules, pinned
// network and user namespaces, cgroups, overlay mounts and bundle dirs. Run at runner start, before any job.
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { listBerthCgroups, removeCgroups } from './cgroup';
import type { NetworkSettings } from './cni-config';
import { runCommand } from './exec';
import { detachNetwork, listAttachments, NETNS_DIR, unpinNetns } from './network';
import { unpinUserNamespace, USERNS_DIR } from './namespaces';
import { listMountsUnder, removeOverlay } from './overlay';
import { deleteContainer, isBerthContainerId, killContainer, listBerthContainers, type Runc } from './runc';

export interface CleanupOptions {
  home: string;
  runc: Runc;
  networkSettings: NetworkSettings;
  /** Containers to leave alone (adopted by the Containers side after reconciling with Postgres). */
  keep: ReadonlySet<string>;
}

export interface CleanupReport {
  containers: string[];
  attachments: string[];
  masqueradeRules: string[];
  netns: string[];
  userns: string[];
  cgroups: string[];
  overlays: string[];
  bundles: string[];
  errors: string[];
}

/** Where runSandboxed's callers mount a container's overlay, so cleanup can find it by id. */
export function sandboxRootfsDir(home: string, containerId: string): string {
  return join(home, 'sandbox', 'rootfs', containerId);
}

export function sandboxBundleDir(home: string, containerId: string): string {
  return join(home, 'sandbox', 'bundles', containerId);
}

async function listNames(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}

/** `-A POSTROUTING … id: "berth-…" … -j CNI-…` lines of the bridge plugin's masquerade, as delete argv. */
export function findMasqueradeRules(postroutingRules: string, isOrphan: (id: string) => boolean): Array<{ id: string; deleteArgv: string[]; chain: string }> {
  const found: Array<{ id: string; deleteArgv: string[]; chain: string }> = [];
  for (const line of postroutingRules.split('\n')) {
    const m = /^-A POSTROUTING (.*)-j (CNI-[0-9a-f]+)\s*$/.exec(line.trim());
    const id = /id: \\"(berth-[0-9a-z-]+)\\"/.exec(line)?.[1];
    if (!m || !id || !isOrphan(id)) continue;
    // iptables -S quotes the comment; split the rule back into argv, honouring the quotes.
    const args = [...`POSTROUTING ${m[1]}-j ${m[2]}`.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((t) =>
      t[1] !== undefined ? t[1].replace(/\\"/g, '"') : t[2]!,
    );
    found.push({ id, chain: m[2]!, deleteArgv: ['iptables', '-w', '-t', 'nat', '-D', ...args] });
  }
  return found;
}

/**
 * Clean up after the containers this runner home knows of (bundle, overlay or CNI record under it,
 * or a runc container whose bundle lies under it) and that are not in `keep`. Scoped to the home so
 * a runner never touches another runner's containers on the same machine (or a test run's).
 */
export async function cleanupOrphans(options: CleanupOptions): Promise<CleanupReport> {
  const { home, runc, networkSettings, keep } = options;
  const report: CleanupReport = { containers: [], attachments: [], masqueradeRules: [], netns: [], userns: [], cgroups: [], overlays: [], bundles: [], errors: [] };
  const attempt = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
      return true;
    } catch (e) {
      report.errors.push(`${what}: ${(e as Error).message}`);
      return false;
    }
  };

  const bundlesParent = join(home, 'sandbox', 'bundles');
  const rootfsParent = join(home, 'sandbox', 'rootfs');
  const containers = (await listBerthContainers(runc).catch(() => [])).filter((c) => c.bundle.startsWith(bundlesParent + '/'));
  const mounted = (await listMountsUnder(rootfsParent)).map((p) => p.slice(rootfsParent.length + 1).split('/')[0]!);
  const known = new Set([
    ...containers.map((c) => c.id),
    ...(await listNames(bundlesParent)),
    ...(await listNames(rootfsParent)),
    ...mounted,
    ...(await listAttachments(networkSettings)),
  ]);
  const orphans = [...known].filter((id) => isBerthContainerId(id) && !keep.has(id));
  if (orphans.length === 0) return report;
  const isOrphan = (id: string) => orphans.includes(id);

  for (const id of orphans) {
    if (!containers.some((c) => c.id === id)) continue;
    await killContainer(runc, id, 'SIGKILL', true).catch(() => {});
    if (await attempt(`delete container ${id}`, () => deleteContainer(runc, id))) report.containers.push(id);
  }
  // CNI DEL while the pinned namespace still exists; the bridge plugin then removes its own rules.
  for (const id of await listAttachments(networkSettings)) {
    if (isOrphan(id) && (await attempt(`detach network of ${id}`, () => detachNetwork(networkSettings, id)))) report.attachments.push(id);
  }
  // Rules whose namespace was already gone when DEL ran (the plugin cannot know the address then).
  const rules = await runCommand(['iptables', '-w', '-t', 'nat', '-S', 'POSTROUTING']);
  for (const rule of findMasqueradeRules(rules.stdout, isOrphan)) {
    const removed = await attempt(`remove masquerade of ${rule.id}`, async () => {
      await runCommand(rule.deleteArgv);
      await runCommand(['iptables', '-w', '-t', 'nat', '-F', rule.chain]);
      await runCommand(['iptables', '-w', '-t', 'nat', '-X', rule.chain]);
    });
    if (removed) report.masqueradeRules.push(rule.id);
  }
  const pinned = new Set(await listNames(NETNS_DIR));
  for (const id of orphans) {
    if (pinned.has(id) && (await attempt(`delete netns ${id}`, () => unpinNetns(id)))) report.netns.push(id);
  }
  const userPins = new Set(await listNames(USERNS_DIR));
  for (const id of orphans) {
    if (userPins.has(id) && (await attempt(`unpin user namespace ${id}`, () => unpinUserNamespace(id)))) report.userns.push(id);
  }
  const cgroups = new Set(await listBerthCgroups());
  for (const id of orphans) {
    if (cgroups.has(id) && (await attempt(`remove cgroup ${id}`, () => removeCgroups(id)))) report.cgroups.push(id);
  }
  const overlays = new Set([...mounted, ...(await listNames(rootfsParent))]);
  for (const id of orphans) {
    if (overlays.has(id) && (await attempt(`remove overlay ${id}`, () => removeOverlay(join(rootfsParent, id))))) report.overlays.push(id);
  }
  const bundles = new Set(await listNames(bundlesParent));
  for (const id of orphans) {
    if (bundles.has(id) && (await attempt(`remove bundle ${id}`, () => rm(sandboxBundleDir(home, id), { recursive: true, force: true })))) {
      report.bundles.push(id);
    }
  }
  return report;
}
