// cgroup v1 (this machine's hybrid layout). The memory and pids limits sit on a parent cgroup Berth
// owns, `/berth/<id>`, and runc puts the container in `/berth/<id>/c` below it. On v1 the kernel
// records an OOM kill and a refused fork only in the cgroup of the process concerned
// (memory.oom_control oom_kill, pids.events max), and runc removes its cgroup when a foreground run
// ends — unless told to keep it (`runc run --keep`), which is how every run is started now: the
// counters are read from `c` before runc's record is deleted. Processes started by earlier versions
// were moved to a sibling, `/berth/<id>/w`, before they ran; its counters are still read.
import { readdir, readFile, rmdir, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const CGROUP_ROOT = '/sys/fs/cgroup';
export const CGROUP_PARENT = 'berth';

export interface CgroupLimits {
  memoryBytes?: number;
  pidsLimit?: number;
}

export interface CgroupVerdict {
  /** The OOM killer killed at least one of the run's processes. */
  oomKilled: boolean;
  /** At least one fork was refused by pids.max. */
  pidsLimitHit: boolean;
}

/** Where earlier versions moved a process's memory and pids membership (see above). */
const ACCOUNTING = 'w';
/** runc's own cgroup below the parent (buildCgroupsPath). */
const RUNTIME = 'c';

/** The cgroupsPath for runc's spec. */
export function buildCgroupsPath(containerId: string): string {
  return `/${CGROUP_PARENT}/${containerId}/${RUNTIME}`;
}

function parentDir(controller: string, containerId: string): string {
  return join(CGROUP_ROOT, controller, CGROUP_PARENT, containerId);
}

/** Create the parent cgroup with its limits (memory+swap = memory: no swap). */
export async function createParentCgroup(containerId: string, limits: CgroupLimits): Promise<void> {
  for (const h of ['memory', 'pids']) await mkdir(parentDir(h, containerId), { recursive: true });
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

/** Whether the run met the OOM killer or its pids limit; read before runc's record and the cgroups are removed. */
export async function readCgroupVerdict(containerId: string): Promise<CgroupVerdict> {
  const verdict: CgroupVerdict = { oomKilled: false, pidsLimitHit: false };
  for (const leaf of [ACCOUNTING, RUNTIME]) {
    const oom = await readOr(join(parentDir('memory', containerId), leaf, 'memory.oom_control'), '');
    const events = await readOr(join(parentDir('pids', containerId), leaf, 'pids.events'), '');
    const kills = /^oom_kill (\d+)/m.exec(oom);
    const max = /^max (\d+)/m.exec(events);
    verdict.oomKilled ||= kills !== null && Number(kills[1]) > 0;
    verdict.pidsLimitHit ||= max !== null && Number(max[1]) > 0;
  }
  return verdict;
}

/** Every controller hierarchy mounted under /sys/fs/cgroup (cpu,cpuacct counted once via its real dir). */
async function listHierarchies(): Promise<string[]> {
  const names = await readdir(CGROUP_ROOT, { withFileTypes: true });
  return names.filter((d) => d.isDirectory()).map((d) => d.name);
}

async function removeDir(dir: string): Promise<void> {
  // A cgroup is busy for a moment while the last killed processes are reaped.
  for (let attempt = 0; ; attempt++) {
    try {
      await rmdir(dir);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      if (code !== 'EBUSY' || attempt >= 50) throw new Error(`Cannot remove cgroup "${dir}": ${(e as Error).message}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** Remove `/berth/<id>` (and `c`, `w` below it) in every hierarchy; missing dirs are fine. */
export async function removeCgroups(containerId: string): Promise<void> {
  for (const h of await listHierarchies()) {
    for (const dir of [join(parentDir(h, containerId), RUNTIME), join(parentDir(h, containerId), ACCOUNTING), parentDir(h, containerId)]) {
      await removeDir(dir);
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
