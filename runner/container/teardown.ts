// Removes everything one container id may hold on the machine, whatever state a crash left it in:
// runc's record (killing what still runs), the CNI attachment (DEL while the netns exists), stray
// masquerade rules, the pinned netns and user namespace, cgroups, the overlay, the bundle and the state dir. Each step
// is idempotent; errors are collected, not thrown half-way.
import { rm } from 'node:fs/promises';
import { removeCgroups } from '../sandbox/cgroup';
import type { NetworkSettings } from '../sandbox/cni-config';
import { runCommand } from '../sandbox/exec';
import { unpinUserNamespace } from '../sandbox/namespaces';
import { detachNetwork, unpinNetns } from '../sandbox/network';
import { removeOverlay } from '../sandbox/overlay';
import { deleteContainer, killContainer, type Runc } from '../sandbox/runc';
import { describeContainerPaths } from './container-files';
import { findStrayRules } from './stray-rules';

export async function teardownContainer(o: { home: string; runc: Runc; networkSettings: NetworkSettings }, runcId: string, keepFiles = false): Promise<string[]> {
  const errors: string[] = [];
  const step = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (e) {
      errors.push(`${what}: ${(e as Error).message}`);
    }
  };
  const paths = describeContainerPaths(o.home, runcId);
  await step('kill', () => killContainer(o.runc, runcId, 'SIGKILL', true));
  await step('delete', async () => {
    // runc refuses to delete while the killed processes are still being reaped.
    for (let i = 0; ; i++) {
      try {
        return await deleteContainer(o.runc, runcId);
      } catch (e) {
        if (i >= 20) throw e;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  });
  await step('detach network', () => detachNetwork(o.networkSettings, runcId));
  await step('stray iptables rules', async () => {
    const rules = await runCommand(['iptables', '-w', '-t', 'nat', '-S']);
    const stray = findStrayRules(rules.stdout, runcId);
    for (const argv of stray.deletes) await runCommand(['iptables', '-w', '-t', 'nat', '-D', ...argv]);
    for (const chain of stray.chains) {
      await runCommand(['iptables', '-w', '-t', 'nat', '-F', chain]);
      await runCommand(['iptables', '-w', '-t', 'nat', '-X', chain]);
    }
  });
  await step('netns', () => unpinNetns(runcId));
  await step('user namespace', () => unpinUserNamespace(runcId));
  await step('cgroups', () => removeCgroups(runcId));
  if (!keepFiles) {
    await step('overlay', () => removeOverlay(paths.rootfsDir));
    await step('bundle', () => rm(paths.bundle, { recursive: true, force: true }));
    await step('state', () => rm(paths.dir, { recursive: true, force: true }));
  }
  return errors;
}
