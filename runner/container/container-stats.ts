// What `docker top` and `docker stats` show of a running container, read on its runner: its
// processes are those in its cgroups (`/berth/<runc id>/…`, see sandbox/cgroup.ts), listed by the
// host's `ps` as Docker does (host PIDs); its usage comes from the cgroup v1 counters of its parent
// cgroup (which holds the container's own and the accounting one) and its network namespace.
import { readdir, readFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { CGROUP_PARENT, CGROUP_ROOT } from '../sandbox/cgroup';
import { runCommand } from '../sandbox/exec';
import type { StatsSample } from '../../functions/core/stats-sample';

export interface ProcessTable {
  Titles: string[];
  Processes: string[][];
}

function cgroupDir(controller: string, runcId: string): string {
  return join(CGROUP_ROOT, controller, CGROUP_PARENT, runcId);
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

async function readNumber(path: string): Promise<number | undefined> {
  const t = (await readText(path))?.trim();
  return t !== undefined && /^\d+$/.test(t) ? Number(t) : undefined;
}

/** The host PIDs in the container's pids cgroup and those below it (its own and the accounting one). */
export async function listContainerPids(runcId: string): Promise<number[]> {
  const out = new Set<number>();
  const walk = async (dir: string, depth: number) => {
    for (const line of ((await readText(join(dir, 'cgroup.procs'))) ?? '').split('\n')) if (/^\d+$/.test(line)) out.add(Number(line));
    if (depth === 0) return;
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) if (e.isDirectory()) await walk(join(dir, e.name), depth - 1);
  };
  await walk(cgroupDir('pids', runcId), 2);
  return [...out].sort((a, b) => a - b);
}

/** `ps <options>` on the host, keeping the header and the rows of the container's processes. */
export async function listContainerProcesses(runcId: string, psArgs: string[]): Promise<ProcessTable> {
  const pids = new Set(await listContainerPids(runcId));
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' };
  // As Docker: ps is asked for the container's PIDs (-q), so options without -e still list them;
  // options that cannot go with -q (f) are tried again without it, then filtered.
  let r = await runCommand(['ps', ...psArgs, `-q${[...pids].join(',') || '0'}`], { timeoutMs: 10_000, env });
  if (r.code !== 0) r = await runCommand(['ps', ...psArgs], { timeoutMs: 10_000, env });
  if (r.code !== 0) throw new Error(`Cannot list processes with ps ${psArgs.join(' ')}: ${r.stderr.trim() || `exit ${r.code}`}`);
  const lines = r.stdout.split('\n').filter((l) => l.trim() !== '');
  const titles = (lines[0] ?? '').trim().split(/\s+/);
  const pidAt = titles.indexOf('PID');
  if (pidAt < 0) throw new Error(`Cannot list processes with ps ${psArgs.join(' ')}: its output has no PID column`);
  const processes: string[][] = [];
  for (const line of lines.slice(1)) {
    // The last column (the command) may hold spaces: split the rest, keep it whole.
    const fields = line.trim().split(/\s+/);
    const row = [...fields.slice(0, titles.length - 1), fields.slice(titles.length - 1).join(' ')];
    if (pids.has(Number(row[pidAt]))) processes.push(row);
  }
  return { Titles: titles, Processes: processes };
}

async function readSystemNs(): Promise<number> {
  const line = ((await readText('/proc/stat')) ?? '').split('\n').find((l) => l.startsWith('cpu '));
  const ticks = (line ?? '').split(/\s+/).slice(1, 8).reduce((n, v) => n + (Number(v) || 0), 0);
  // USER_HZ is 100 on every Linux Berth runs on.
  return ticks * 10_000_000;
}

function parseKeyed(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^\d+$/.test(v)) out[k] = Number(v);
  }
  return out;
}

async function readNetworks(pid: number | undefined): Promise<StatsSample['networks']> {
  const text = pid === undefined ? undefined : await readText(`/proc/${pid}/net/dev`);
  const out: StatsSample['networks'] = {};
  for (const line of (text ?? '').split('\n').slice(2)) {
    const m = /^\s*([^:\s]+):\s*(.*)$/.exec(line);
    if (!m || m[1] === 'lo') continue;
    const v = m[2]!.trim().split(/\s+/).map(Number);
    out[m[1]!] = { rx_bytes: v[0] ?? 0, rx_packets: v[1] ?? 0, rx_errors: v[2] ?? 0, rx_dropped: v[3] ?? 0, tx_bytes: v[8] ?? 0, tx_packets: v[9] ?? 0, tx_errors: v[10] ?? 0, tx_dropped: v[11] ?? 0 };
  }
  return out;
}

export async function readContainerStats(runcId: string): Promise<StatsSample> {
  const cpu = cgroupDir('cpuacct', runcId);
  const mem = cgroupDir('memory', runcId);
  const pidsDir = cgroupDir('pids', runcId);
  const cpuStat = parseKeyed(await readText(join(cpu, 'cpuacct.stat')));
  const memStat = parseKeyed(await readText(join(mem, 'memory.stat')));
  const pids = await listContainerPids(runcId);
  const limit = await readNumber(join(mem, 'memory.limit_in_bytes'));
  const pidsMax = await readNumber(join(pidsDir, 'pids.max'));
  return {
    cpuNs: (await readNumber(join(cpu, 'cpuacct.usage'))) ?? 0,
    // cpuacct.stat counts in USER_HZ ticks (10 ms).
    cpuUserNs: (cpuStat.user ?? 0) * 10_000_000,
    cpuSystemNs: (cpuStat.system ?? 0) * 10_000_000,
    systemNs: await readSystemNs(),
    onlineCpus: cpus().length,
    memory: {
      usage: (await readNumber(join(mem, 'memory.usage_in_bytes'))) ?? 0,
      maxUsage: (await readNumber(join(mem, 'memory.max_usage_in_bytes'))) ?? 0,
      // An unlimited v1 cgroup says so with a huge number; Docker shows the machine's memory then.
      limit: limit === undefined || limit > 2 ** 60 ? Number(/^MemTotal:\s+(\d+)/m.exec((await readText('/proc/meminfo')) ?? '')?.[1] ?? 0) * 1024 : limit,
      stats: memStat,
    },
    pids: { current: (await readNumber(join(pidsDir, 'pids.current'))) ?? pids.length, ...(pidsMax !== undefined ? { limit: pidsMax } : {}) },
    networks: await readNetworks(pids[0]),
  };
}
