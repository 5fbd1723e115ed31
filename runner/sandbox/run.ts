// runSandboxed: one process (a build's RUN, a one-off container) in runc, from spec to cleanup.
//
// Sequence: user and network namespaces made and pinned (lo up; namespaces.ts) while the bundle dir
// and the parent cgroup with limits are made → with NAT, eth0 attached → `runc run --keep` in the
// foreground joins the namespaces (runc stays the parent of the container's init and returns its exit
// status) while published ports are added → its pid file says the process runs → output streamed line
// by line → verdict from the cgroup counters runc kept → CNI DEL, namespaces, cgroups, runc's record
// and bundle removed on every path.
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { DEFAULT_IDMAP, type IdMap } from './idmap';
import { buildHostsFile, type NetworkSettings, type PortMapping } from './cni-config';
import { buildCgroupsPath, createParentCgroup, readCgroupVerdict, removeCgroups } from './cgroup';
import { describeNamespacePins, prepareNamespaces, unpinUserNamespace } from './namespaces';
import { attachInterfaces, choosePorts, detachNetwork, publishPorts, unpinNetns, type NetworkAttachment } from './network';
import { waitForPidFile } from './pid-file';
import { buildRunArgv, createContainerId, DEFAULT_RUNC, deleteContainer, isBerthContainerId, killContainer, type Runc } from './runc';
import { sandboxBundleDir } from './cleanup';
import { buildRuntimeSpec, type ExtraMount, type Resources } from './spec';
import { describeRunResult, type SandboxResult } from './verdict';

export type NetworkMode = { mode: 'none' } | { mode: 'nat'; ports?: PortMapping[] };

export interface SandboxRunOptions {
  /** The runner's home: bundles live in `<home>/sandbox/bundles`. */
  home: string;
  /** Chosen by the caller when it needs the id first (its overlay under sandboxRootfsDir); else made here. */
  containerId?: string;
  /** A prepared root filesystem (an overlay's merged dir), owned by the shifted ids. */
  rootfs: string;
  readonlyRootfs?: boolean;
  process: { args: string[]; env: string[]; cwd: string; uid: number; gid: number; additionalGids?: number[] };
  hostname?: string;
  network: NetworkMode;
  networkSettings: NetworkSettings;
  /** The container's resolv.conf (see buildResolvConf). */
  resolvConf: string;
  mounts?: ExtraMount[];
  resources?: Resources;
  timeoutMs?: number;
  signal?: AbortSignal;
  onOutput?: (stream: 'stdout' | 'stderr', line: string) => void;
  /** Called once the process runs, with its network (undefined for mode none). */
  onStarted?: (info: { containerId: string; pid: number; network?: NetworkAttachment }) => void;
  idmap?: IdMap;
  runc?: Runc;
  tmpfsRun?: boolean;
}

const KILL_GRACE_MS = 3_000;
const MAX_LINE = 64 * 1024;

function streamLines(stream: Readable, name: 'stdout' | 'stderr', emit?: (s: 'stdout' | 'stderr', l: string) => void): Promise<void> {
  return new Promise((resolve) => {
    let pending = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        emit?.(name, pending.slice(0, nl));
        pending = pending.slice(nl + 1);
      }
      while (pending.length > MAX_LINE) {
        emit?.(name, pending.slice(0, MAX_LINE));
        pending = pending.slice(MAX_LINE);
      }
    });
    const end = () => {
      if (pending) emit?.(name, pending);
      pending = '';
      resolve();
    };
    stream.on('end', end);
    stream.on('close', end);
    stream.on('error', end);
  });
}

async function readHostNofileLimit(): Promise<number> {
  const limits = await readFile('/proc/self/limits', 'utf8');
  const m = /^Max open files\s+\S+\s+(\S+)/m.exec(limits);
  const hard = m && m[1] !== 'unlimited' ? Number(m[1]) : 1_048_576;
  return Math.min(hard, 1_048_576);
}

async function readRuncErrors(logFile: string): Promise<string> {
  try {
    const lines = (await readFile(logFile, 'utf8')).split('\n').filter(Boolean);
    return lines
      .map((l) => {
        try {
          const e = JSON.parse(l) as { level?: string; msg?: string };
          return e.level === 'error' || e.level === 'fatal' ? (e.msg ?? '') : '';
        } catch {
          return '';
        }
      })
      .filter(Boolean)
      .join('; ');
  } catch {
    return '';
  }
}

export async function runSandboxed(opts: SandboxRunOptions): Promise<SandboxResult> {
  const runc = opts.runc ?? DEFAULT_RUNC;
  const idmap = opts.idmap ?? DEFAULT_IDMAP;
  const id = opts.containerId ?? createContainerId();
  if (!isBerthContainerId(id)) throw new Error(`Cannot run sandboxed as "${id}": not a Berth container id`);
  const bundle = sandboxBundleDir(opts.home, id);
  const logFile = join(bundle, 'runc.log');
  const pidFile = join(bundle, 'init.pid');
  const started = Date.now();
  if (opts.signal?.aborted) throw new Error('Cannot run sandboxed: cancelled before start');
  // Traversable (bind sources such as hosts and resolv.conf are opened from here), not listable;
  // config.json holds the environment, so it alone is private. Made first: whatever a crash leaves of
  // this run is then found under the home by id.
  await mkdir(bundle, { recursive: true, mode: 0o711 });
  for (const dir of [dirname(dirname(bundle)), dirname(bundle)]) await chmod(dir, 0o711);
  // The namespaces (lo up) and, with NAT, eth0 are made while the bundle is written; runc joins them
  // by path (namespaces.ts). Ports are published while runc starts.
  const pins = describeNamespacePins(id);
  const namespaces = prepareNamespaces(id, idmap);
  const network =
    opts.network.mode === 'nat'
      ? Promise.all([choosePorts(opts.network.ports ?? []), namespaces]).then(([ports]) => attachInterfaces(opts.networkSettings, id, pins.net, ports, { loopback: false }))
      : undefined;
  const pending: Array<Promise<unknown>> = [namespaces, ...(network ? [network] : [])];
  for (const p of pending) p.catch(() => {});
  try {
    const hostname = opts.hostname ?? id.slice(0, 18);
    await writeFile(join(bundle, 'resolv.conf'), opts.resolvConf);
    const nofile = await readHostNofileLimit();
    const { memoryBytes, pidsLimit, ...cpu } = opts.resources ?? {};
    await createParentCgroup(id, { memoryBytes, pidsLimit });
    const spec = buildRuntimeSpec({
      process: { ...opts.process, nofile: { soft: Math.min(1024, nofile), hard: nofile } },
      root: { path: opts.rootfs, readonly: opts.readonlyRootfs ?? false },
      hostname,
      tmpfsRun: opts.tmpfsRun,
      mounts: [
        { kind: 'bind', source: join(bundle, 'hosts'), destination: '/etc/hosts', readonly: true },
        { kind: 'bind', source: join(bundle, 'resolv.conf'), destination: '/etc/resolv.conf', readonly: true },
        ...(opts.mounts ?? []),
      ],
      network: { kind: 'path', path: pins.net },
      userNamespacePath: pins.user,
      idmap,
      cgroupsPath: buildCgroupsPath(id),
      resources: cpu,
    });
    await writeFile(join(bundle, 'config.json'), JSON.stringify(spec), { mode: 0o600 });
    await namespaces;
    const attached = await network;
    await writeFile(join(bundle, 'hosts'), buildHostsFile(hostname, attached?.address));

    // --keep: runc leaves its cgroup (the OOM and pids verdict) and record; deleted below.
    const argv = buildRunArgv(runc, id, bundle, logFile, { keep: true, pidFile });
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: bundle,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('exit', (code, signal) => resolve({ code, signal })),
    );
    const output = Promise.all([streamLines(child.stdout, 'stdout', opts.onOutput), streamLines(child.stderr, 'stderr', opts.onOutput)]);

    let killedFor: 'timeout' | 'cancelled' | undefined;
    const stop = (why: 'timeout' | 'cancelled') => {
      if (killedFor) return;
      killedFor = why;
      void killContainer(runc, id, 'SIGKILL', true).catch(() => {});
      // If runc itself is stuck, the runc process goes too.
      setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS).unref();
    };
    const timer = opts.timeoutMs ? setTimeout(() => stop('timeout'), opts.timeoutMs) : undefined;
    const onAbort = () => stop('cancelled');
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    let setupError: unknown;
    const published = attached ? publishPorts(opts.networkSettings, attached) : Promise.resolve();
    pending.push(published);
    const [pid] = await Promise.all([waitForPidFile(pidFile, exited), published.catch((e: unknown) => void (setupError = e))]);
    if (setupError) stop('cancelled');
    else if (pid !== undefined) {
      // runc has joined the user namespace: the process and the pinned netns hold it from now on.
      void unpinUserNamespace(id).catch(() => {});
      opts.onStarted?.({ containerId: id, pid, network: attached });
    }
    const exit = await exited;
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
    // A daemon left behind holds no pipe once the pid namespace is gone; do not wait forever regardless.
    await Promise.race([output, new Promise((r) => setTimeout(r, 2_000).unref())]);
    child.stdout.destroy();
    child.stderr.destroy();
    if (setupError) throw setupError;
    const verdict = await readCgroupVerdict(id);
    const runcErrors = await readRuncErrors(logFile);
    // runc's own words (an executable not found, a mount refused) make a result, "cannot start: …".
    if (pid === undefined && !killedFor && !runcErrors) throw new Error(`Cannot start sandboxed process "${opts.process.args[0]}": runc exited early (exit ${exit.code ?? exit.signal})`);
    return describeRunResult({
      exitCode: exit.code ?? 128 + 9,
      killedFor,
      timeoutMs: opts.timeoutMs,
      memoryBytes,
      pidsLimit,
      verdict,
      startError: runcErrors,
      durationMs: Date.now() - started,
    });
  } finally {
    await Promise.allSettled(pending);
    if (existsSync(join(runc.root, id))) await deleteContainer(runc, id).catch(() => {});
    // CNI DEL needs the pinned namespace, so those two go in order; the rest is independent.
    await Promise.all([
      (async () => {
        if (network) await detachNetwork(opts.networkSettings, id).catch(() => {});
        await unpinNetns(id).catch(() => {});
      })(),
      unpinUserNamespace(id).catch(() => {}),
      removeCgroups(id).catch(() => {}),
    ]);
    await rm(bundle, { recursive: true, force: true }).catch(() => {});
  }
}
