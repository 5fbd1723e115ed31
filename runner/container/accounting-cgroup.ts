// On cgroup v1 the kernel counts an OOM kill (memory.oom_control oom_kill) and a refused fork
// (pids.events max) only in the cgroup of the process concerned, and runc removes its own cgroup
// the moment the container stops. So before the process starts, its memory and pids membership
// moves to a sibling Berth owns, `/berth/<id>/w`, whose counters are still there after the exit.
// (The sandbox's one-shot runs need the same; this file stays until both share one.)
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CGROUP_PARENT, CGROUP_ROOT } from '../sandbox/cgroup';

const ACCOUNTED = ['memory', 'pids'];
const ACCOUNTING = 'w';

function dir(controller: string, runcId: string): string {
  return join(CGROUP_ROOT, controller, CGROUP_PARENT, runcId, ACCOUNTING);
}

export async function createAccountingCgroups(runcId: string): Promise<void> {
  for (const h of ACCOUNTED) await mkdir(dir(h, runcId), { recursive: true });
}

/** Moves the container's init (not yet exec'd: children inherit) into the accounting cgroups. */
export async function moveIntoAccounting(runcId: string, pid: number): Promise<void> {
  for (const h of ACCOUNTED) await writeFile(join(dir(h, runcId), 'cgroup.procs'), String(pid));
}

async function readOr(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return '';
  }
}

export async function readAccountingVerdict(runcId: string): Promise<{ oomKilled: boolean; pidsLimitHit: boolean }> {
  const oom = /^oom_kill (\d+)/m.exec(await readOr(join(dir('memory', runcId), 'memory.oom_control')));
  const max = /^max (\d+)/m.exec(await readOr(join(dir('pids', runcId), 'pids.events')));
  return { oomKilled: oom !== null && Number(oom[1]) > 0, pidsLimitHit: max !== null && Number(max[1]) > 0 };
}

/** Removes the accounting cgroups; a process still dying keeps one busy for a moment. */
export async function removeAccountingCgroups(runcId: string): Promise<void> {
  for (const h of ACCOUNTED) {
    for (let attempt = 0; ; attempt++) {
      try {
        await rmdir(dir(h, runcId));
        break;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') break;
        if (code !== 'EBUSY' || attempt >= 50) throw new Error(`Cannot remove cgroup "${dir(h, runcId)}": ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }
}
