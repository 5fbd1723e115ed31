// A runner that dies leaves containers, namespaces, CNI state, iptables rules, cgroups, overlays and
// bundles behind; cleanupOrphans finds them by name and removes them, and leaves kept ones alone.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupOrphans, sandboxBundleDir } from '../../../runner/sandbox/cleanup';
import { DEFAULT_IDMAP } from '../../../runner/sandbox/idmap';
import { prepareNamespaces } from '../../../runner/sandbox/namespaces';
import { unpinNetns } from '../../../runner/sandbox/network';
import { createContainerId, DEFAULT_RUNC, deleteContainer, killContainer, listBerthContainers, readContainerState } from '../../../runner/sandbox/runc';
import { createSandboxFixture, findLeftovers, startDetachedSandbox, type SandboxFixture } from '../../support/sandbox';

let fx: SandboxFixture;

beforeAll(async () => {
  fx = await createSandboxFixture();
}, 600_000);

afterAll(() => fx?.remove());

describe('cleanupOrphans', () => {
  it('removes everything a crashed runner left of a running container, and keeps what it is told to', async () => {
    const orphan = await startDetachedSandbox(fx);
    const kept = await startDetachedSandbox(fx);
    expect((await readContainerState(DEFAULT_RUNC, orphan))?.status).toBe('running');
    expect((await listBerthContainers()).map((c) => c.id)).toEqual(expect.arrayContaining([orphan, kept]));
    expect(findLeftovers(fx, orphan).length).toBeGreaterThan(5);

    const report = await cleanupOrphans({ home: fx.home, runc: DEFAULT_RUNC, networkSettings: fx.networkSettings, keep: new Set([kept]) });
    expect(report.errors).toEqual([]);
    for (const list of [report.containers, report.attachments, report.netns, report.cgroups, report.overlays, report.bundles]) {
      expect(list).toContain(orphan);
      expect(list).not.toContain(kept);
    }
    expect(findLeftovers(fx, orphan)).toEqual([]);
    expect((await readContainerState(DEFAULT_RUNC, kept))?.status).toBe('running');

    const second = await cleanupOrphans({ home: fx.home, runc: DEFAULT_RUNC, networkSettings: fx.networkSettings, keep: new Set() });
    expect(second.containers).toContain(kept);
    expect(findLeftovers(fx, kept)).toEqual([]);
  });

  it('removes masquerade rules the bridge plugin made (before the subnet-wide rule) whose network namespace is already gone', async () => {
    const id = await startDetachedSandbox(fx);
    // What the plugin wrote for each container while Berth let it masquerade (ipMasq).
    const chain = `CNI-${randomBytes(12).toString('hex')}`;
    const comment = `"name: \\"berth\\" id: \\"${id}\\""`;
    const legacy = ['*nat', `:${chain} - [0:0]`, `-A ${chain} -d 10.213.0.0/16 -m comment --comment ${comment} -j ACCEPT`, `-A ${chain} ! -d 224.0.0.0/4 -m comment --comment ${comment} -j MASQUERADE`];
    legacy.push(`-A POSTROUTING -s 10.213.255.254/32 -m comment --comment ${comment} -j ${chain}`, 'COMMIT', '');
    const restore = spawnSync('iptables-restore', ['--noflush'], { input: legacy.join('\n'), encoding: 'utf8' });
    expect(restore.status, restore.stderr).toBe(0);
    expect(findLeftovers(fx, id).some((l) => l.includes(chain))).toBe(true);
    await killContainer(DEFAULT_RUNC, id, 'SIGKILL', true);
    await deleteContainer(DEFAULT_RUNC, id);
    await unpinNetns(id); // the namespace dies with its last reference: CNI DEL cannot find the address now
    const report = await cleanupOrphans({ home: fx.home, runc: DEFAULT_RUNC, networkSettings: fx.networkSettings, keep: new Set() });
    expect(report.errors).toEqual([]);
    expect(report.masqueradeRules).toContain(id);
    expect(findLeftovers(fx, id)).toEqual([]);
    expect(spawnSync('iptables', ['-w', '-t', 'nat', '-S'], { encoding: 'utf8' }).stdout).not.toContain(chain);
  });

  it('removes the namespaces a runner made before it died mid-start', async () => {
    const id = createContainerId();
    mkdirSync(sandboxBundleDir(fx.home, id), { recursive: true });
    await prepareNamespaces(id, DEFAULT_IDMAP);
    expect(findLeftovers(fx, id).length).toBeGreaterThan(2);
    const report = await cleanupOrphans({ home: fx.home, runc: DEFAULT_RUNC, networkSettings: fx.networkSettings, keep: new Set() });
    expect(report.errors).toEqual([]);
    expect([report.userns, report.netns, report.bundles]).toEqual([[id], [id], [id]]);
    expect(findLeftovers(fx, id)).toEqual([]);
  });
});
