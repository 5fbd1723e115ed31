// cgroup v1 (this machine's hybrid layout) for one-shot runs. The memory and pids limits sit on a
// parent cgroup Berth owns, `/berth/<id>`, and runc puts the container in `/berth/<id>/c` below it.
// runc removes its own cgroup the moment a foreground run ends; the parent outlives it, so its
// counters (memory.failcnt, pids.events) still say afterwards whether a limit was hit.
import { readdir, readFile, rmdir, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const CGROUP_ROOT = '/sys/fs/cgroup';
export const CGROUP_PARENT = 'berth';

export interface CgroupLimits {
  memoryBytes?: number;
  pidsLimit?: number;
}

export interface CgroupVerdict {
  memoryLimitHit: boolean;
  pidsLimitHit: boolean;
}

/** The cgroupsPath for runc's spec. */
export function buildCgroupsPath(containerId: string): string {
  return `/${CGROUP_PARENT}/${containerId}/c`;
}

function parentDir(controller: string, containerId: string): string {
  return join(CGROUP_ROOT, controller, CGROUP_PARENT, containerId);
}

/** Create the parent cgroup with its limits (memory+swap = memory: no swap). */
export async function createParentCgroup(containerId: string, limits: CgroupLimits): Promise<void> {
  await mkdir(parentDir('memory', containerId), { recursive: true });
  await mkdir(parentDir('pids', containerId), { recursive: true });
  if (limits.memoryBytes !== undefined) {
    await writeFile(join(parentDir('memory', containerId), 'memory.limit_in_bytes'), String(limits.memoryBytes));
    try {
      await writeFile(join(parentDir('memory', containerId), 'memory.memsw.limit_in_bytes'), String(limits.memoryBytes));
    } catch (e) {
      // Without swap accounting there is no memsw file; memory alone is then the whole limit.
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  if (limits.pidsLimit !== undefined) await writeFile(join(parentDir('pids', containerId), 'pids.max'), String(limits.pidsLimit));
}

async function readOr(path: string, fallback: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return fallback;
  }
}

/** Whether the run hit its memory or pids limit; read before the parent is removed. */
export async function readCgroupVerdict(containerId: string): Promise<CgroupVerdict> {
  const failcnt = Number((await readOr(join(parentDir('memory', containerId), 'memory.failcnt'), '0')).trim());
  const memswFailcnt = Number((await readOr(join(parentDir('memory', containerId), 'memory.memsw.failcnt'), '0')).trim());
  const events = await readOr(join(parentDir('pids', containerId), 'pids.events'), '');
  const max = /^max (\d+)/m.exec(events);
  return { memoryLimitHit: failcnt > 0 || memswFailcnt > 0, pidsLimitHit: max !== null && Number(max[1]) > 0 };
}

/** Every controller hierarchy mounted under /sys/fs/cgroup (cpu,cpuacct counted once via its real dir). */
async function listHierarchies(): Promise<string[]> {
  const names = await readdir(CGROUP_ROOT, { withFileTypes: true });
  return names.filter((d) => d.isDirectory()).map((d) => d.name);
}

/** Remove `/berth/<id>` (and a leftover `c` below it) in every hierarchy; missing dirs are fine. */
export async function removeCgroups(containerId: string): Promise<void> {
  for (const h of await listHierarchies()) {
    for (const dir of [join(parentDir(h, containerId), 'c'), parentDir(h, containerId)]) {
      try {
        await rmdir(dir);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT' && code !== 'ENOTDIR') throw new Error(`Cannot remove cgroup "${dir}": ${(e as Error).message}`);
      }
    }
  }
}

/** Container ids that have a cgroup under /berth in any hierarchy. */
export async function listBerthCgroups(): Promise<string[]> {
  const ids = new Set<string>();
  for (const h of await listHierarchies()) {
    try {
      for (const d of await readdir(join(CGROUP_ROOT, h, CGROUP_PARENT), { withFileTypes: true })) if (d.isDirectory()) ids.add(d.name);
    } catch {
      // no berth cgroups in this hierarchy
    }
  }
  return [...ids];
}
