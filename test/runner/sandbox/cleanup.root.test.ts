// A runner that dies leaves containers, namespaces, CNI state, iptables rules, cgroups, overlays and
// bundles behind; cleanupOrphans finds them by name and removes them, and leaves kept ones alone.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCgroupsPath, createParentCgroup } from '../../../runner/sandbox/cgroup';
import { cleanupOrphans, sandboxBundleDir, sandboxRootfsDir } from '../../../runner/sandbox/cleanup';
import { parsePortMapping } from '../../../runner/sandbox/cni-config';
import { DEFAULT_IDMAP } from '../../../runner/sandbox/idmap';
import { prepareNamespaces } from '../../../runner/sandbox/namespaces';
import { attachNetwork, pinNetns, unpinNetns } from '../../../runner/sandbox/network';
import { mountOverlay } from '../../../runner/sandbox/overlay';
import {
  createContainer, createContainerId, DEFAULT_RUNC, deleteContainer, killContainer, listBerthContainers, readContainerState, startContainer,
} from '../../../runner/sandbox/runc';
import { buildRuntimeSpec } from '../../../runner/sandbox/spec';
import { createSandboxFixture, DEBIAN_PATH, findLeftovers, type SandboxFixture } from '../../support/sandbox';

let fx: SandboxFixture;

beforeAll(async () => {
  fx = await createSandboxFixture();
}, 600_000);

afterAll(() => fx?.remove());

/** A long-running container made the Containers way: create → pin netns → CNI → start. */
async function startDetached(): Promise<string> {
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

describe('cleanupOrphans', () => {
  it('removes everything a crashed runner left of a running container, and keeps what it is told to', async () => {
    const orphan = await startDetached();
    const kept = await startDetached();
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

  it('removes masquerade rules whose network namespace is already gone', async () => {
    const id = await startDetached();
    await killContainer(DEFAULT_RUNC, id, 'SIGKILL', true);
    await deleteContainer(DEFAULT_RUNC, id);
    await unpinNetns(id); // the namespace dies with its last reference: CNI DEL cannot find the address now
    const report = await cleanupOrphans({ home: fx.home, runc: DEFAULT_RUNC, networkSettings: fx.networkSettings, keep: new Set() });
    expect(report.errors).toEqual([]);
    expect(report.masqueradeRules).toContain(id);
    expect(findLeftovers(fx, id)).toEqual([]);
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
