// runc commands as argv arrays (pure, asserted by equality) and thin wrappers that run them. Berth
// keeps its containers under its own state root so `runc list` shows only ours, and every id starts
// with `berth-` so leftovers are recognisable on the machine.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { runCommand, runCommandOrThrow } from './exec';

export const DEFAULT_RUNC_ROOT = '/run/berth/runc';
export const CONTAINER_ID_PREFIX = 'berth-';

export interface Runc {
  binary: string;
  /** runc's state directory (--root). */
  root: string;
}

export const DEFAULT_RUNC: Runc = { binary: 'runc', root: DEFAULT_RUNC_ROOT };

export function createContainerId(): string {
  return CONTAINER_ID_PREFIX + randomBytes(6).toString('hex');
}

export function isBerthContainerId(id: string): boolean {
  return /^berth-[0-9a-z][0-9a-z-]{0,60}$/.test(id);
}

function checkId(id: string): string {
  if (!isBerthContainerId(id)) throw new Error(`Cannot address container "${id}": not a Berth container id`);
  return id;
}

function base(runc: Runc, logFile?: string): string[] {
  const argv = [runc.binary, '--root', runc.root];
  if (logFile) argv.push('--log', logFile, '--log-format', 'json');
  return argv;
}

export interface RunArgvOptions {
  /** Keep runc's record and cgroup after the process exits (read the verdict, then delete). */
  keep?: boolean;
  /** runc writes the init's pid here once the process has been started. */
  pidFile?: string;
}

/** Foreground run: runc stays the parent of the container's init and exits with its status. */
export function buildRunArgv(runc: Runc, id: string, bundle: string, logFile: string, options: RunArgvOptions = {}): string[] {
  const flags = [...(options.keep ? ['--keep'] : []), ...(options.pidFile ? ['--pid-file', options.pidFile] : [])];
  return [...base(runc, logFile), 'run', ...flags, '--bundle', bundle, checkId(id)];
}

export function buildCreateArgv(runc: Runc, id: string, bundle: string, pidFile: string, logFile: string): string[] {
  return [...base(runc, logFile), 'create', '--bundle', bundle, '--pid-file', pidFile, checkId(id)];
}

export function buildStartArgv(runc: Runc, id: string): string[] {
  return [...base(runc), 'start', checkId(id)];
}

export function buildKillArgv(runc: Runc, id: string, signal: string, all = false): string[] {
  if (!/^(SIG)?[A-Z0-9+-]+$|^\d+$/.test(signal)) throw new Error(`Cannot send signal "${signal}": not a signal name or number`);
  return [...base(runc), 'kill', ...(all ? ['--all'] : []), checkId(id), signal];
}

export function buildDeleteArgv(runc: Runc, id: string, force: boolean): string[] {
  return [...base(runc), 'delete', ...(force ? ['--force'] : []), checkId(id)];
}

export function buildStateArgv(runc: Runc, id: string): string[] {
  return [...base(runc), 'state', checkId(id)];
}

export function buildListArgv(runc: Runc): string[] {
  return [...base(runc), 'list', '--format', 'json'];
}

export interface ContainerState {
  id: string;
  pid: number;
  status: 'creating' | 'created' | 'running' | 'paused' | 'stopped';
  bundle: string;
  created: string;
}

function toState(raw: Record<string, unknown>): ContainerState {
  return {
    id: String(raw.id),
    pid: Number(raw.pid ?? 0),
    status: String(raw.status) as ContainerState['status'],
    bundle: String(raw.bundle ?? ''),
    created: String(raw.created ?? ''),
  };
}

/**
 * `runc create`: namespaces made, process waiting for `start`. The container inherits `stdio` (file
 * descriptors or 'ignore') and keeps it, so we wait for runc to exit, not for its pipes to close.
 */
export async function createContainer(
  runc: Runc,
  id: string,
  bundle: string,
  pidFile: string,
  logFile: string,
  stdio: { stdout: number | 'ignore'; stderr: number | 'ignore' } = { stdout: 'ignore', stderr: 'ignore' },
): Promise<void> {
  const argv = buildCreateArgv(runc, id, bundle, pidFile, logFile);
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: bundle, stdio: ['ignore', stdio.stdout, stdio.stderr] });
    child.on('error', reject);
    child.on('exit', (c) => resolve(c ?? 1));
  });
  if (code !== 0) {
    const log = await readFile(logFile, 'utf8').catch(() => '');
    const detail = log.trim().split('\n').slice(-1)[0] ?? '';
    throw new Error(`Cannot create container "${id}": exit ${code}: ${detail}`);
  }
}

export async function startContainer(runc: Runc, id: string): Promise<void> {
  await runCommandOrThrow(buildStartArgv(runc, id));
}

/** Signal the container; a container that is already gone is not an error. */
export async function killContainer(runc: Runc, id: string, signal = 'SIGKILL', all = false): Promise<void> {
  const r = await runCommand(buildKillArgv(runc, id, signal, all));
  if (r.code !== 0 && !/does not exist|not running|process already finished|container not running/i.test(r.stderr)) {
    throw new Error(`Cannot signal container "${id}": ${r.stderr.trim()}`);
  }
}

/** Remove runc's record (and cgroup) of a container; idempotent. */
export async function deleteContainer(runc: Runc, id: string): Promise<void> {
  const r = await runCommand(buildDeleteArgv(runc, id, true));
  if (r.code !== 0 && !/does not exist/i.test(r.stderr)) throw new Error(`Cannot delete container "${id}": ${r.stderr.trim()}`);
}

export async function readContainerState(runc: Runc, id: string): Promise<ContainerState | undefined> {
  const r = await runCommand(buildStateArgv(runc, id));
  if (r.code !== 0) {
    if (/does not exist/i.test(r.stderr)) return undefined;
    throw new Error(`Cannot read the state of container "${id}": ${r.stderr.trim()}`);
  }
  return toState(JSON.parse(r.stdout) as Record<string, unknown>);
}

/** Every container under Berth's runc root, for reconciliation after a runner restart. */
export async function listBerthContainers(runc: Runc = DEFAULT_RUNC): Promise<ContainerState[]> {
  const out = await runCommandOrThrow(buildListArgv(runc));
  const list = (JSON.parse(out.trim() || 'null') as Array<Record<string, unknown>> | null) ?? [];
  return list.map(toState).filter((s) => isBerthContainerId(s.id));
}
