// Leftovers of containers that no longer exist — after a runner crash, a SIGKILL, a power cut — found
// by name on the machine and removed: runc containers, CNI allocations and masquerade rules, pinned
// network namespaces, cgroups, overlay mounts and bundle dirs. Run at runner start, before any job.
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { listBerthCgroups, removeCgroups } from './cgroup';
import type { NetworkSettings } from './cni-config';
import { runCommand } from './exec';
import { detachNetwork, listAttachments, NETNS_DIR, unpinNetns } from './network';
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
    found.push({ id, chain: m[2]!, deleteArgv: ['iptables', '-t', 'nat', '-D', ...args] });
  }
  return found;
}

export async function cleanupOrphans(options: CleanupOptions): Promise<CleanupReport> {
  const { home, runc, networkSettings, keep } = options;
  const report: CleanupReport = { containers: [], attachments: [], masqueradeRules: [], netns: [], cgroups: [], overlays: [], bundles: [], errors: [] };
  const isOrphan = (id: string) => isBerthContainerId(id) && !keep.has(id);
  const attempt = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
      return true;
    } catch (e) {
      report.errors.push(`${what}: ${(e as Error).message}`);
      return false;
    }
  };

  for (const c of await listBerthContainers(runc).catch(() => [])) {
    if (!isOrphan(c.id)) continue;
    await killContainer(runc, c.id, 'SIGKILL', true).catch(() => {});
    if (await attempt(`delete container ${c.id}`, () => deleteContainer(runc, c.id))) report.containers.push(c.id);
  }
  // CNI DEL while the pinned namespace still exists; the bridge plugin then removes its own rules.
  for (const id of await listAttachments(networkSettings)) {
    if (isOrphan(id) && (await attempt(`detach network of ${id}`, () => detachNetwork(networkSettings, id)))) report.attachments.push(id);
  }
  // Rules whose namespace was already gone when DEL ran (the plugin cannot know the address then).
  const rules = await runCommand(['iptables', '-t', 'nat', '-S', 'POSTROUTING']);
  for (const rule of findMasqueradeRules(rules.stdout, isOrphan)) {
    const removed = await attempt(`remove masquerade of ${rule.id}`, async () => {
      await runCommand(rule.deleteArgv);
      await runCommand(['iptables', '-t', 'nat', '-F', rule.chain]);
      await runCommand(['iptables', '-t', 'nat', '-X', rule.chain]);
    });
    if (removed) report.masqueradeRules.push(rule.id);
  }
  for (const name of await listNames(NETNS_DIR)) {
    if (isOrphan(name) && (await attempt(`delete netns ${name}`, () => unpinNetns(name)))) report.netns.push(name);
  }
  for (const id of await listBerthCgroups()) {
    if (isOrphan(id) && (await attempt(`remove cgroup ${id}`, () => removeCgroups(id)))) report.cgroups.push(id);
  }
  const rootfsParent = join(home, 'sandbox', 'rootfs');
  const mounted = new Set((await listMountsUnder(rootfsParent)).map((p) => p.slice(rootfsParent.length + 1).split('/')[0]!));
  for (const id of new Set([...mounted, ...(await listNames(rootfsParent))])) {
    if (!isOrphan(id)) continue;
    if (await attempt(`remove overlay ${id}`, () => removeOverlay(join(rootfsParent, id)))) report.overlays.push(id);
  }
  for (const id of await listNames(join(home, 'sandbox', 'bundles'))) {
    if (!isOrphan(id)) continue;
    if (await attempt(`remove bundle ${id}`, () => rm(sandboxBundleDir(home, id), { recursive: true, force: true }))) report.bundles.push(id);
  }
  return report;
}
