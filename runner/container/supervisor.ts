// Long-lived containers: start through a detached shim (runc run in the foreground, see shim.ts) into
// user and network namespaces made and attached beforehand (the sandbox's namespaces.ts),
// exit status and reason, restart policy with backoff, health checks, stop (STOPSIGNAL, then SIGKILL
// after the grace period), removal, exec, and adoption of containers a previous runner process left
// running. The supervisor knows nothing of Postgres: it reports through `events`.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildCgroupsPath, createParentCgroup, readCgroupVerdict, removeCgroups } from '../sandbox/cgroup';
import { buildHostsFile, type NetworkSettings, type PortMapping } from '../sandbox/cni-config';
import { runCommand, type CommandResult } from '../sandbox/exec';
import type { IdMap } from '../sandbox/idmap';
import { describeNamespacePins, prepareNamespaces, unpinUserNamespace } from '../sandbox/namespaces';
import { attachInterfaces, choosePorts, detachNetwork, publishPorts, unpinNetns } from '../sandbox/network';
import { describeOverlay, listMountsUnder, mountOverlay, removeOverlay } from '../sandbox/overlay';
import { waitForPidFile } from '../sandbox/pid-file';
import { watchDiskUse, type DiskWatch } from '../sandbox/disk-watch';
import { deleteContainer, killContainer, type Runc } from '../sandbox/runc';
import { buildRuntimeSpec } from '../sandbox/spec';
import { describeRunResult } from '../sandbox/verdict';
import { describeContainerPaths, readExitFile, writeContainerMeta, type ContainerMeta, type ContainerPaths } from './container-files';
import { openAttachSession, readLogOffsets, type AttachSession, type LogOffsets, type SessionRequest } from './attach';
import { openExecSession } from './exec-session';
import { resolveImageUser } from './image-user';
import { resizeTerminal } from './terminal';
import { HealthMonitor, probeHttp, probeTcp, type HealthStatus } from './health';
import { LogTail, type LogLineOut } from './log-tail';
import { nextRestartDelay, parseRestartPolicy, shouldRestart } from './restart-policy';
import { isProcessAlive, releaseStdin, spawnShim } from './shim';

export interface ExitInfo {
  exitCode: number;
  reason: string;
  oomKilled: boolean;
  signal?: string;
  /** A restart follows after delayMs. */
  restarting: boolean;
  delayMs: number;
  restartCount: number;
  stoppedByRequest: boolean;
}

export interface RunningInfo {
  pid: number;
  address: string;
  ports: PortMapping[];
  restartCount: number;
  /** Set when a health check applies: the status starts as "starting". */
  health?: HealthStatus;
}

export interface SupervisorEvents {
  onLogs(key: string, lines: LogLineOut[]): Promise<void>;
  onRunning(key: string, info: RunningInfo): Promise<void>;
  onExited(key: string, info: ExitInfo): Promise<void>;
  onHealth(key: string, status: HealthStatus): Promise<void>;
  onRemoved(key: string): Promise<void>;
}

export interface SupervisorOptions {
  home: string;
  runc: Runc;
  idmap: IdMap;
  networkSettings: NetworkSettings;
  resolvConf: string;
  events: SupervisorEvents;
  log?: (msg: string) => void;
  /** Called at each start phase (benchmarks). */
  trace?: (phase: string) => void;
  /** What a container may write to its own filesystem (its overlay's upper dir), in bytes. */
  diskLimitBytes?: number;
}

interface Managed {
  meta: ContainerMeta;
  paths: ContainerPaths;
  state: 'starting' | 'running' | 'restarting' | 'stopping' | 'exited';
  pid: number;
  address: string;
  startedAt: number;
  delayMs: number;
  stopRequested: boolean;
  tail: LogTail;
  watcher?: NodeJS.Timeout;
  restartTimer?: NodeJS.Timeout;
  health?: HealthMonitor;
  exited: Promise<void>;
  markExited: () => void;
  /** Log file sizes when the current run's shim was spawned: where `attach from start` begins. */
  spawnOffsets?: LogOffsets;
  /** Attach sessions still reading the last output: removal waits for them. */
  draining: Set<Promise<void>>;
  /** Watches what the container writes to its filesystem (see disk-watch.ts). */
  disk?: DiskWatch;
  /** Set when the disk cap ended it: the exit reason says so. */
  diskExceeded?: number;
}

const WATCH_MS = 100;

/** What a container may write to its own filesystem unless configured (BERTH_CONTAINER_DISK_GB). */
export const DEFAULT_CONTAINER_DISK_BYTES = 10 * 1024 ** 3;

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

let nofileLimit: number | undefined;

/** RLIMIT_NOFILE inside a user namespace cannot exceed the runner's own hard limit. */
function readNofileLimit(): number {
  if (nofileLimit === undefined) {
    const m = /^Max open files\s+\S+\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    nofileLimit = Math.min(m && m[1] !== 'unlimited' ? Number(m[1]) : 1_048_576, 1_048_576);
  }
  return nofileLimit;
}

export class Supervisor {
  private readonly managed = new Map<string, Managed>();
  /** Attach sessions waiting for a container's next start (Docker attaches before it starts). */
  private readonly launchWaiters = new Map<string, Set<(m: Managed) => void>>();
  /** Interactive execs by their exec id, for resize. */
  private readonly execPids = new Map<string, number>();
  constructor(private readonly o: SupervisorOptions) {}

  has(key: string): boolean {
    return this.managed.has(key);
  }

  /** The runc id of a container running here (what `docker top` and `stats` read), else undefined. */
  runningRuncId(key: string): string | undefined {
    const m = this.managed.get(key);
    return m && (m.state === 'running' || m.state === 'stopping') ? m.meta.runcId : undefined;
  }

  /** The merged root filesystem of a container here, running or exited (`docker cp`), else undefined. */
  rootfsOf(key: string): string | undefined {
    const m = this.managed.get(key);
    return m && describeOverlay(m.paths.rootfsDir).merged;
  }

  list(): ContainerMeta[] {
    return [...this.managed.values()].map((m) => m.meta);
  }

  /** Creates the container's files and starts it; resolves once its process runs with its network. */
  async start(meta: ContainerMeta): Promise<RunningInfo> {
    if (this.managed.has(meta.key)) throw new Error(`Cannot start container "${meta.key}": it is already supervised here`);
    parseRestartPolicy(meta.restartPolicy);
    const paths = describeContainerPaths(this.o.home, meta.runcId);
    await writeContainerMeta(this.o.home, meta);
    const m = this.track(meta, paths, 'starting');
    // The overlay mounts while the bundle, cgroups and spec are prepared; runc needs it only at spawn.
    const rootfs = (async () => {
      const leftover = existsSync(paths.rootfsDir) && (await listMountsUnder(paths.rootfsDir)).length > 0;
      if (!leftover) await mountOverlay(paths.rootfsDir, meta.lowerDirs, this.o.idmap);
      this.o.trace?.('overlay');
    })();
    rootfs.catch(() => {});
    try {
      await m.tail.start();
      return await this.launch(m, rootfs);
    } catch (error) {
      await rootfs.catch(() => {});
      this.managed.delete(meta.key);
      await m.tail.stop();
      throw error;
    }
  }

  /** Takes over a container a previous runner process started; its shim must still be alive. */
  async adopt(meta: ContainerMeta, info: { pid: number; address: string }): Promise<void> {
    const paths = describeContainerPaths(this.o.home, meta.runcId);
    const m = this.track(meta, paths, 'running');
    m.pid = info.pid;
    m.address = info.address;
    await m.tail.start();
    this.watch(m);
    this.startHealth(m);
  }

  private track(meta: ContainerMeta, paths: ContainerPaths, state: Managed['state']): Managed {
    const d = deferred();
    const m: Managed = {
      meta,
      paths,
      state,
      pid: 0,
      address: '',
      startedAt: Date.now(),
      delayMs: 0,
      stopRequested: false,
      tail: new LogTail({ files: { stdout: paths.stdout, stderr: paths.stderr }, offsetsFile: paths.offsets, deliver: (lines) => this.o.events.onLogs(meta.key, lines) }),
      exited: d.promise,
      markExited: d.resolve,
      draining: new Set(),
    };
    this.managed.set(meta.key, m);
    return m;
  }

  private async launch(m: Managed, rootfsReady: Promise<void> = Promise.resolve()): Promise<RunningInfo> {
    const { meta, paths } = m;
    const d = deferred();
    m.exited = d.promise;
    m.markExited = d.resolve;
    m.state = 'starting';
    const settings = this.o.networkSettings;
    // The bundle first: whatever a crash leaves of this start is then found under the home by id.
    await mkdir(paths.bundle, { recursive: true, mode: 0o700 });
    // The namespaces and eth0 are made while the files are written, before runc starts: runc joins
    // them by path and no hook pauses it (namespaces.ts says why that is allowed with a user
    // namespace). Only the port rules overlap runc's own start; "running" waits for both.
    const pins = describeNamespacePins(meta.runcId);
    const namespaces = prepareNamespaces(meta.runcId, this.o.idmap).then(() => this.o.trace?.('namespaces'));
    // Restarts keep the host ports chosen the first time.
    const ports = choosePorts(meta.boundPorts ?? meta.ports);
    const network = Promise.all([ports, namespaces]).then(([concrete]) => attachInterfaces(settings, meta.runcId, pins.net, concrete, { loopback: false }));
    const pending: Array<Promise<unknown>> = [namespaces, ports, network];
    for (const p of pending) p.catch(() => {});
    try {
      await Promise.all([rm(paths.exitFile, { force: true }), rm(paths.pidFile, { force: true }), writeFile(join(paths.bundle, 'resolv.conf'), this.o.resolvConf)]);
      const { memoryBytes, pidsLimit, ...cpu } = meta.resources;
      await createParentCgroup(meta.runcId, { memoryBytes, pidsLimit });
      const nofile = readNofileLimit();
      const spec = buildRuntimeSpec({
        process: {
          args: meta.plan.args,
          env: meta.plan.env,
          cwd: meta.plan.cwd,
          uid: meta.plan.uid,
          gid: meta.plan.gid,
          additionalGids: meta.plan.additionalGids,
          terminal: meta.plan.terminal,
          nofile: { soft: Math.min(1024, nofile), hard: nofile },
        },
        root: { path: join(paths.rootfsDir, 'merged'), readonly: false },
        hostname: meta.plan.hostname,
        mounts: [
          { kind: 'bind', source: join(paths.bundle, 'hosts'), destination: '/etc/hosts', readonly: true },
          { kind: 'bind', source: join(paths.bundle, 'resolv.conf'), destination: '/etc/resolv.conf', readonly: true },
        ],
        network: { kind: 'path', path: pins.net },
        userNamespacePath: pins.user,
        idmap: this.o.idmap,
        cgroupsPath: buildCgroupsPath(meta.runcId),
        resources: cpu,
      });
      await writeFile(join(paths.bundle, 'config.json'), JSON.stringify(spec));
      // A terminal reads the FIFO too, even without -i: end-of-file there would end its shell.
      const stdinFifo = meta.openStdin || meta.plan.terminal;
      if (stdinFifo) await ensureFifo(paths.stdin);
      this.o.trace?.('files');
      await rootfsReady;
      const attached = await network;
      meta.boundPorts = attached.ports;
      meta.address = attached.address;
      await writeFile(join(paths.bundle, 'hosts'), buildHostsFile(meta.plan.hostname, attached.address));
      this.o.trace?.('network attached');
      m.spawnOffsets = readLogOffsets(paths);
      for (const wake of this.launchWaiters.get(meta.key) ?? []) wake(m);
      this.launchWaiters.delete(meta.key);
      const shimExit = deferred();
      meta.shimPid = spawnShim(this.o.runc, meta.runcId, { ...paths, stdin: stdinFifo ? paths.stdin : undefined, terminal: meta.plan.terminal }, () => shimExit.resolve());
      this.o.trace?.('shim spawned');
      const published = publishPorts(settings, attached);
      pending.push(published);
      published.catch(() => {});
      const [pid] = await Promise.all([waitForPidFile(paths.pidFile, shimExit.promise), writeContainerMeta(this.o.home, meta), published]);
      // A process that exits at once may take the shim with it before the pid file is seen: it did start.
      if (pid === undefined) throw new Error(`Cannot start container "${meta.key}": runc exited before the process started (see ${paths.runcLog})`);
      this.o.trace?.('process running');
      // runc has joined the user namespace: the container and its pinned netns hold it from now on.
      void unpinUserNamespace(meta.runcId).catch((e: unknown) => this.o.log?.(`container ${meta.key}: ${(e as Error).message}`));
      m.pid = pid;
      m.address = attached.address;
      m.startedAt = Date.now();
      m.state = 'running';
      const info: RunningInfo = { pid, address: attached.address, ports: attached.ports, restartCount: meta.restartCount };
      if (meta.health ?? meta.plan.health) info.health = 'starting';
      this.watch(m);
      await this.o.events.onRunning(meta.key, info);
      this.startHealth(m);
      return info;
    } catch (error) {
      await Promise.allSettled(pending);
      await killContainer(this.o.runc, meta.runcId, 'SIGKILL', true).catch(() => {});
      await this.teardownRuntime(meta);
      throw error;
    }
  }

  private watch(m: Managed) {
    clearInterval(m.watcher);
    m.disk?.stop();
    m.disk = watchDiskUse(describeOverlay(m.paths.rootfsDir).upper, this.o.diskLimitBytes ?? DEFAULT_CONTAINER_DISK_BYTES, (bytes) => {
      m.diskExceeded = bytes;
      this.o.log?.(`container ${m.meta.key}: wrote ${bytes} bytes to its filesystem, past its cap: killed`);
      void killContainer(this.o.runc, m.meta.runcId, 'SIGKILL', true).catch(() => {});
    });
    let checking = false;
    m.watcher = setInterval(() => {
      if (checking) return;
      checking = true;
      void (async () => {
        const code = await readExitFile(m.paths.exitFile);
        const gone = code === undefined && m.meta.shimPid !== undefined && !isProcessAlive(m.meta.shimPid);
        if (code !== undefined || gone) {
          clearInterval(m.watcher);
          await this.handleExit(m, code ?? 137);
        }
      })()
        .catch((e: unknown) => this.o.log?.(`container ${m.meta.key}: ${(e as Error).message}`))
        .finally(() => (checking = false));
    }, WATCH_MS);
  }

  private startHealth(m: Managed) {
    const plan = m.meta.health ?? m.meta.plan.health;
    if (!plan) return;
    const probe = (timeoutMs: number): Promise<boolean> => {
      const p = plan.probe;
      if (p.kind === 'tcp') return probeTcp(m.address, p.port, timeoutMs);
      if (p.kind === 'http') return probeHttp(m.address, p.port, p.path, timeoutMs);
      return this.exec(m.meta.key, p.argv, { timeoutMs }).then((r) => r.code === 0);
    };
    m.health = new HealthMonitor(plan, probe, (status) => void this.o.events.onHealth(m.meta.key, status).catch(() => {}));
    m.health.start();
  }

  private async handleExit(m: Managed, exitCode: number) {
    const { meta } = m;
    m.health?.stop();
    m.health = undefined;
    const verdict = await readCgroupVerdict(meta.runcId);
    const result = describeRunResult({ exitCode, memoryBytes: meta.resources.memoryBytes, pidsLimit: meta.resources.pidsLimit, verdict, durationMs: Date.now() - m.startedAt });
    m.disk?.stop();
    if (m.diskExceeded !== undefined) {
      result.reason = `killed: it wrote ${(m.diskExceeded / 1024 ** 3).toFixed(2)} GiB to its filesystem, more than its ${((this.o.diskLimitBytes ?? DEFAULT_CONTAINER_DISK_BYTES) / 1024 ** 3).toFixed(2)} GiB`;
      m.diskExceeded = undefined;
    }
    await this.teardownRuntime(meta);
    await m.tail.poll(true).catch(() => {});
    const policy = parseRestartPolicy(meta.restartPolicy);
    const restarting = shouldRestart(policy, { exitCode, stoppedByRequest: m.stopRequested }, meta.restartCount);
    const delayMs = restarting ? nextRestartDelay(m.delayMs, Date.now() - m.startedAt) : 0;
    m.delayMs = delayMs;
    m.state = restarting ? 'restarting' : 'exited';
    const info: ExitInfo = {
      exitCode,
      reason: result.reason,
      oomKilled: result.oomKilled,
      restarting,
      delayMs,
      restartCount: meta.restartCount,
      stoppedByRequest: m.stopRequested,
      ...(result.signal ? { signal: result.signal } : {}),
    };
    m.markExited();
    await this.o.events.onExited(meta.key, info).catch((e: unknown) => this.o.log?.(`container ${meta.key}: ${(e as Error).message}`));
    if (restarting) {
      m.restartTimer = setTimeout(() => {
        if (m.stopRequested) return;
        meta.restartCount++;
        this.launch(m).catch(async (e: unknown) => {
          this.o.log?.(`container ${meta.key}: restart failed: ${(e as Error).message}`);
          m.state = 'exited';
          await this.o.events
            .onExited(meta.key, { ...info, exitCode: 127, reason: `restart failed: ${(e as Error).message}`, restarting: false, restartCount: meta.restartCount })
            .catch(() => {});
        });
      }, delayMs);
    } else if (meta.autoRemove) {
      await this.remove(meta.key);
    }
  }

  /** Undo everything a start made except the overlay and the logs; idempotent. */
  private async teardownRuntime(meta: ContainerMeta) {
    await deleteContainer(this.o.runc, meta.runcId).catch(() => {});
    await detachNetwork(this.o.networkSettings, meta.runcId).catch((e: unknown) => this.o.log?.(`detach ${meta.runcId}: ${(e as Error).message}`));
    await unpinNetns(meta.runcId).catch(() => {});
    await unpinUserNamespace(meta.runcId).catch(() => {});
    await removeCgroups(meta.runcId).catch((e: unknown) => this.o.log?.((e as Error).message));
  }

  /**
   * Stops the container: `signal` (its STOPSIGNAL by default) to PID 1, then SIGKILL to every process
   * after the grace period. No restart follows. Resolves once it has exited.
   */
  async stop(key: string, opts: { signal?: string; graceMs?: number } = {}): Promise<void> {
    const m = this.managed.get(key);
    if (!m) return;
    m.stopRequested = true;
    if (m.restartTimer) clearTimeout(m.restartTimer);
    if (m.state === 'exited' || m.state === 'restarting') {
      m.state = 'exited';
      return;
    }
    m.state = 'stopping';
    const grace = opts.graceMs ?? m.meta.stopGraceMs;
    await killContainer(this.o.runc, m.meta.runcId, opts.signal ?? m.meta.plan.stopSignal).catch(() => {});
    const timedOut = await Promise.race([m.exited.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), grace).unref())]);
    if (timedOut) await killContainer(this.o.runc, m.meta.runcId, 'SIGKILL', true).catch(() => {});
    await m.exited;
  }

  /** Sends a signal to the container's PID 1 (`docker kill --signal`); what follows is its own doing. */
  async signal(key: string, signal: string): Promise<void> {
    const m = this.managed.get(key);
    if (!m || (m.state !== 'running' && m.state !== 'starting')) throw new Error(`Cannot signal container "${key}": it is not running here`);
    await killContainer(this.o.runc, m.meta.runcId, signal);
  }

  /** Stops (at once) and removes the container with its files; reports onRemoved. */
  async remove(key: string): Promise<void> {
    const m = this.managed.get(key);
    if (!m) return;
    if (m.state !== 'exited') await this.stop(key, { graceMs: 0, signal: 'SIGKILL' });
    clearInterval(m.watcher);
    m.disk?.stop();
    // Attach sessions read the last output from the files about to go.
    await Promise.race([Promise.all(m.draining), new Promise((r) => setTimeout(r, 2_000).unref())]);
    await m.tail.stop();
    this.managed.delete(key);
    await removeOverlay(m.paths.rootfsDir);
    await rm(m.paths.bundle, { recursive: true, force: true });
    await rm(m.paths.dir, { recursive: true, force: true });
    await this.o.events.onRemoved(key).catch(() => {});
  }

  /** Forgets the container without touching it (runner shutdown: the shim keeps it running). */
  async detach(key: string): Promise<void> {
    const m = this.managed.get(key);
    if (!m) return;
    clearInterval(m.watcher);
    m.disk?.stop();
    clearTimeout(m.restartTimer);
    m.health?.stop();
    await m.tail.stop();
    this.managed.delete(key);
  }

  /** Runs a process inside the running container (runc exec), as its user unless told otherwise. */
  async exec(key: string, argv: string[], opts: { env?: string[]; user?: { uid: number; gid: number }; cwd?: string; timeoutMs?: number } = {}): Promise<CommandResult> {
    const m = this.managed.get(key);
    if (!m || m.state !== 'running') throw new Error(`Cannot exec in container "${key}": it is not running here`);
    if (argv.length === 0) throw new Error(`Cannot exec in container "${key}": no command given`);
    return runCommand(buildExecArgv(this.o.runc, m.meta, argv, opts), { timeoutMs: opts.timeoutMs ?? 60_000 });
  }

  /** Detaches every supervised container (the runner is shutting down; containers keep running). */
  async detachAll(): Promise<void> {
    for (const key of [...this.managed.keys()]) await this.detach(key);
  }

  /**
   * An attach session (see attach.ts): what is written goes to the container's stdin (when it was
   * started with openStdin), and what it prints is read, framed by stream. `from: 'start'` waits for
   * the container's next start and reads from there, so nothing a quick container prints is missed.
   */
  async attach(req: Extract<SessionRequest, { kind: 'attach' }>, gone?: AbortSignal): Promise<AttachSession> {
    const key = req.containerId;
    let m = this.managed.get(key);
    if (req.from === 'start' && (!m || m.state === 'exited' || !m.spawnOffsets)) m = await this.waitForLaunch(key, gone);
    if (!m || (req.from !== 'start' && m.state !== 'running')) throw new Error(`Cannot attach to container "${key}": it is not running here`);
    if (req.stdin && !m.meta.openStdin) throw new Error(`Cannot attach stdin to container "${key}": it was not created with stdin open`);
    // The beginning that is left: rotation frees what was delivered (see log-tail.ts).
    const from = req.from === 'beginning' ? { ...m.tail.holes } : req.from === 'start' ? m.spawnOffsets! : readLogOffsets(m.paths);
    const drained = deferred();
    m.draining.add(drained.promise);
    const target = m;
    void target.exited.then(() => setTimeout(() => drained.resolve(), 5_000).unref());
    const fifo = m.paths.stdin;
    const session = openAttachSession({
      stdout: m.paths.stdout,
      stderr: m.paths.stderr,
      ...(req.stdin ? { stdin: fifo } : {}),
      exited: m.exited,
      from,
      ...(req.stdin && req.closeStdin ? { closeStdin: () => this.whenStarted(target).then(() => releaseStdin(fifo)) } : {}),
    });
    session.on('end', () => drained.resolve());
    session.on('close', () => drained.resolve());
    void drained.promise.then(() => target.draining.delete(drained.promise));
    return session;
  }

  /** Resolves once the container's process runs (its stdin FIFO is open then) or it has ended. */
  private async whenStarted(m: Managed): Promise<void> {
    for (let i = 0; i < 3000 && m.state === 'starting'; i++) await new Promise((r) => setTimeout(r, 20));
  }

  private waitForLaunch(key: string, gone?: AbortSignal): Promise<Managed> {
    return new Promise((resolve, reject) => {
      const waiters = this.launchWaiters.get(key) ?? new Set();
      this.launchWaiters.set(key, waiters);
      const wake = (m: Managed) => {
        clearTimeout(timer);
        resolve(m);
      };
      const timer = setTimeout(() => {
        waiters.delete(wake);
        reject(new Error(`Cannot attach to container "${key}": it did not start within 10 minutes`));
      }, 600_000);
      timer.unref();
      waiters.add(wake);
      gone?.addEventListener('abort', () => {
        clearTimeout(timer);
        waiters.delete(wake);
        reject(new Error(`Cannot attach to container "${key}": the client went away`));
      });
    });
  }

  /** Resizes the terminal of a container, or of one of its interactive execs. */
  async resize(req: Extract<SessionRequest, { kind: 'resize' }>): Promise<void> {
    const m = this.managed.get(req.containerId);
    if (!m || (m.state !== 'running' && m.state !== 'starting')) throw new Error(`Cannot resize the terminal of container "${req.containerId}": it is not running here`);
    if (!req.execId && !m.meta.plan.terminal) throw new Error(`Cannot resize the terminal of container "${req.containerId}": it has no terminal`);
    // A resize sent right after the start can come before the shim.
    for (let i = 0; i < 50 && !req.execId && !m.meta.shimPid; i++) await new Promise((r) => setTimeout(r, 20));
    const root = req.execId ? this.execPids.get(req.execId) : m.meta.shimPid;
    if (!root) throw new Error(`Cannot resize the terminal of exec "${req.execId ?? ''}": it is not running`);
    // A terminal appears a moment after the shim starts: a resize sent at once waits for it.
    for (let i = 0; i < 50; i++) {
      if (await resizeTerminal(root, req)) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`Cannot resize the terminal of container "${req.containerId}": it has no terminal`);
  }

  /** An interactive exec: its stdio as a session (see exec-session.ts). */
  async execSession(req: Extract<SessionRequest, { kind: 'exec' }>): Promise<AttachSession> {
    const m = this.managed.get(req.containerId);
    if (!m || m.state !== 'running') throw new Error(`Cannot exec in container "${req.containerId}": it is not running here`);
    const user = req.user ? await this.resolveUser(req.containerId, req.user) : undefined;
    const env = req.tty && !req.env.some((e) => e.startsWith('TERM=')) ? ['TERM=xterm', ...req.env] : req.env;
    const argv = buildExecArgv(this.o.runc, m.meta, req.argv, { env, ...(user ? { user } : {}), ...(req.cwd ? { cwd: req.cwd } : {}), tty: req.tty });
    const size = req.rows !== undefined && req.cols !== undefined ? { rows: req.rows, cols: req.cols } : undefined;
    const { session, pid } = openExecSession({ argv, tty: req.tty, ...(size ? { size } : {}) });
    this.execPids.set(req.execId, pid);
    session.on('end', () => this.execPids.delete(req.execId));
    // Without stdin the process reads end-of-file at once; a terminal's end-of-file would reach it as a
    // ^D typed (`script` passes it on), so a terminal's input just stays silent.
    if (!req.stdin && !req.tty) session.end();
    return session;
  }

  /** A user name or number as the container's own /etc/passwd and /etc/group resolve it. */
  async resolveUser(key: string, user: string): Promise<{ uid: number; gid: number }> {
    const m = this.managed.get(key);
    if (!m) throw new Error(`Cannot resolve user "${user}" in container "${key}": it is not here`);
    const merged = join(m.paths.rootfsDir, 'merged');
    const read = (f: string) => readFile(join(merged, f), 'utf8').catch(() => '');
    const r = resolveImageUser(user, { passwd: await read('etc/passwd'), group: await read('etc/group') });
    return { uid: r.uid, gid: r.gid };
  }

  statusOf(key: string): Managed['state'] | undefined {
    return this.managed.get(key)?.state;
  }
}

async function ensureFifo(path: string): Promise<void> {
  try {
    if ((await stat(path)).isFIFO()) return;
  } catch {
    // absent: made below
  }
  const r = await runCommand(['mkfifo', '-m', '600', path]);
  if (r.code !== 0) throw new Error(`Cannot make the stdin FIFO "${path}": ${r.stderr.trim()}`);
}

export function buildExecArgv(runc: Runc, meta: ContainerMeta, argv: string[], opts: { env?: string[]; user?: { uid: number; gid: number }; cwd?: string; tty?: boolean }): string[] {
  const user = opts.user ?? { uid: meta.plan.uid, gid: meta.plan.gid };
  const out = [runc.binary, '--root', runc.root, 'exec', '--user', `${user.uid}:${user.gid}`, '--cwd', opts.cwd ?? meta.plan.cwd];
  if (opts.tty) out.push('--tty');
  for (const e of opts.env ?? []) out.push('--env', e);
  return [...out, meta.runcId, ...argv];
}
