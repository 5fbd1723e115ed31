// RUN: the command in the sandbox (user namespace, seccomp, Docker's capabilities, cgroup limits) on
// the step's overlay, as the image's USER in its WORKDIR, with the stage's ENV and ARGs, the
// instruction's --mount and --network, its output streamed into the build log.
import { createHash } from 'node:crypto';
import { chown, lstat, mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { RunInstruction } from '../../functions/core/dockerfile/instructions';
import type { ContainerConfig } from '../../functions/core/oci/types';
import { toHostId } from '../sandbox/idmap';
import { measureDiskUse, watchDiskUse } from '../sandbox/disk-watch';
import { runSandboxed } from '../sandbox/run';
import type { ExtraMount } from '../sandbox/spec';
import { BuildCancelledError, BuildStepError, type BuilderEnv, type BuildRequest } from './build-env';
import { resolveInRoot } from './root-path';
import { normalisePath } from './step-state';
import { resolveUser, type ResolvedUser } from './users';

const INJECTED_FILES = ['/etc/hosts', '/etc/resolv.conf'];
const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Where a RUN's bind mounts from other stages come from; released after the run. */
export interface StageSources {
  mount(from: string): Promise<{ root: string; release: () => Promise<void> }>;
}

async function runMounts(env: BuilderEnv, req: BuildRequest, ins: RunInstruction, workdir: string, sources: StageSources | undefined, releases: (() => Promise<void>)[]): Promise<ExtraMount[]> {
  const out: ExtraMount[] = [];
  for (const m of ins.mounts) {
    const target = m.target ? normalisePath(m.target.startsWith('/') ? m.target : `${workdir}/${m.target}`) : undefined;
    switch (m.type) {
      case 'cache': {
        if (!target) throw new BuildStepError(`Line ${ins.line}: a cache mount needs a target`);
        const id = m.id ?? target;
        // Cache mounts are per account: one tenant never reads another's cache.
        const dir = join(env.home, 'cache-mounts', createHash('sha256').update(`${req.accountId}\0${id}`).digest('hex').slice(0, 32));
        await mkdir(dir, { recursive: true });
        const owner = m.uid !== undefined ? Number(m.uid) : 0;
        const group = m.gid !== undefined ? Number(m.gid) : 0;
        await chown(dir, toHostId(env.idmap, owner), toHostId(env.idmap, group));
        out.push({ kind: 'bind', source: dir, destination: target, readonly: false });
        break;
      }
      case 'tmpfs':
        if (!target) throw new BuildStepError(`Line ${ins.line}: a tmpfs mount needs a target`);
        out.push({ kind: 'tmpfs', destination: target, sizeBytes: m.size ? Number(m.size) : undefined });
        break;
      case 'bind': {
        if (!target) throw new BuildStepError(`Line ${ins.line}: a bind mount needs a target`);
        let root: string;
        if (m.from) {
          if (!sources) throw new BuildStepError(`Line ${ins.line}: bind mounts from "${m.from}" are not available here`);
          const tree = await sources.mount(m.from);
          releases.push(tree.release);
          root = tree.root;
        } else {
          if (!req.contextDir) throw new BuildStepError(`Line ${ins.line}: a bind mount needs a build context`);
          root = req.contextDir;
        }
        const source = await resolveInRoot(root, m.source ?? '/');
        out.push({ kind: 'bind', source, destination: target, readonly: m.readonly !== false });
        break;
      }
      case 'secret':
        if (m.required) throw new BuildStepError(`Line ${ins.line}: secret "${m.id ?? m.target}" is required but the build has no secrets`);
        break;
      case 'ssh':
        if (m.required) throw new BuildStepError(`Line ${ins.line}: ssh mounts are not supported`);
        break;
    }
  }
  return out;
}

export async function executeRun(
  env: BuilderEnv,
  req: BuildRequest,
  rootfs: string,
  config: ContainerConfig,
  effect: { argv: string[]; env: string[] },
  ins: RunInstruction,
  sources?: StageSources,
): Promise<void> {
  const user = await resolveUser(rootfs, config.User);
  // As Docker: PATH when the image sets none, HOSTNAME, and HOME from the user's passwd entry.
  const hostname = `berth${req.buildId.slice(-8).replace(/[^a-z0-9]/g, '')}`;
  const processEnv = [
    ...(effect.env.some((e) => e.startsWith('PATH=')) ? [] : [DEFAULT_PATH]),
    `HOSTNAME=${hostname}`,
    ...effect.env,
    ...(effect.env.some((e) => e.startsWith('HOME=')) ? [] : [`HOME=${user.home}`]),
  ];
  const cwd = config.WorkingDir || '/';
  const releases: (() => Promise<void>)[] = [];
  try {
    const mounts = await runMounts(env, req, ins, cwd, sources, releases);
    await runStep(env, req, rootfs, effect, ins, { mounts, user, cwd, hostname, processEnv });
  } finally {
    for (const r of releases) await r().catch(() => {});
  }
}

async function runStep(
  env: BuilderEnv,
  req: BuildRequest,
  rootfs: string,
  effect: { argv: string[]; env: string[] },
  ins: RunInstruction,
  p: { mounts: ExtraMount[]; user: ResolvedUser; cwd: string; hostname: string; processEnv: string[] },
): Promise<void> {
  const { mounts, user, cwd, hostname, processEnv } = p;
  // runc creates files to bind /etc/hosts and /etc/resolv.conf onto when the image has none; those
  // belong to the run, not to the layer (Docker keeps them out too).
  const mountPoints: string[] = [];
  for (const f of INJECTED_FILES) if (!(await lstat(await resolveInRoot(rootfs, f)).catch(() => undefined))) mountPoints.push(f);
  // What the step writes is capped (BERTH_BUILD_DISK_GB): past it the step is ended, named as the cause.
  const diskStop = new AbortController();
  let diskUsed = 0;
  const disk = watchDiskUse(join(dirname(rootfs), 'upper'), env.diskLimitBytes ?? DEFAULT_STEP_DISK_BYTES, (bytes) => {
    diskUsed = bytes;
    diskStop.abort();
  });
  const result = await runSandboxed({
    home: env.home,
    rootfs,
    process: { args: effect.argv, env: processEnv, cwd, uid: user.uid, gid: user.gid, additionalGids: user.additionalGids },
    hostname,
    network: ins.network === 'none' ? { mode: 'none' } : { mode: 'nat' },
    networkSettings: env.sandbox.networkSettings,
    resolvConf: env.sandbox.resolvConf,
    mounts,
    resources: env.sandbox.resources,
    timeoutMs: env.runTimeoutMs,
    signal: AbortSignal.any([req.signal, diskStop.signal]),
    idmap: env.idmap,
    onOutput: (stream, line) => req.log.line(line, stream),
  }).finally(() => disk.stop());
  // A quick writer finishes between two looks: one more, now that it is done.
  if (!diskStop.signal.aborted && !req.signal.aborted) {
    const bytes = await measureDiskUse(join(dirname(rootfs), 'upper'));
    if (bytes !== undefined && bytes > (env.diskLimitBytes ?? DEFAULT_STEP_DISK_BYTES)) {
      diskUsed = bytes;
      diskStop.abort();
    }
  }
  if (diskStop.signal.aborted && !req.signal.aborted) {
    throw new BuildStepError(`The command '${clip(effect.argv.join(' '))}' wrote ${formatGiB(diskUsed)} to the image, more than the ${formatGiB(env.diskLimitBytes ?? DEFAULT_STEP_DISK_BYTES)} a step may write`);
  }
  for (const f of mountPoints) {
    const host = await resolveInRoot(rootfs, f);
    const st = await lstat(host).catch(() => undefined);
    if (st?.isFile() && st.size === 0) await rm(host, { force: true });
  }
  if (req.signal.aborted) throw new BuildCancelledError('Build cancelled');
  if (result.exitCode !== 0) {
    throw new BuildStepError(`The command '${clip(effect.argv.join(' '))}' returned a non-zero code: ${result.exitCode}${result.reason ? ` (${result.reason})` : ''}`);
  }
}

/** What a RUN step may write to its layer unless configured (BERTH_BUILD_DISK_GB). */
export const DEFAULT_STEP_DISK_BYTES = 20 * 1024 ** 3;

function clip(cmd: string): string {
  return cmd.length > 200 ? `${cmd.slice(0, 200)}…` : cmd;
}

function formatGiB(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(bytes < 1024 ** 3 ? 2 : 1)} GiB`;
}
