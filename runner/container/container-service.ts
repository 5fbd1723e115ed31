// The runner's containers: the supervisor's events written to Postgres (status, exit, health, logs),
// containers started from their rows, and reconciliation after a runner restart. Postgres is the
// truth for what should run; runc and the state dirs under the runner's home are the truth for what
// does. Writes after placement are guarded by runner_id (see db/queries/container-runs.ts).
import type { Db } from '../../db/client';
import { appendLogLines, trimLogLines } from '../../db/queries/logs';
import {
  listLiveContainersOn,
  markContainerExited,
  markContainerRemoved,
  markContainerRunning,
  setContainerHealth,
} from '../../db/queries/container-runs';
import type { Container } from '../../db/schema';
import type { NetworkSettings, PortMapping } from '../sandbox/cni-config';
import type { IdMap } from '../sandbox/idmap';
import { readContainerState, type Runc } from '../sandbox/runc';
import { buildContainerPlan, type HealthPlan, type RunOverrides } from './config';
import { listContainerDirs, readContainerMeta, readExitFile, describeContainerPaths, runcIdFor, type ContainerMeta } from './container-files';
import type { ResolvedImage } from './image-resolve';
import { shouldRestart, parseRestartPolicy } from './restart-policy';
import { isProcessAlive } from './shim';
import { Supervisor, type RunningInfo } from './supervisor';
import { teardownContainer } from './teardown';

export interface ContainerServiceOptions {
  db: Db;
  home: string;
  runnerId: string;
  runc: Runc;
  idmap: IdMap;
  networkSettings: NetworkSettings;
  resolvConf: string;
  /** Image reference (+ pinned digest) → config, layer dirs and user files. */
  resolveImage: (imageRef: string, manifestDigest: string | null, holder: string) => Promise<ResolvedImage>;
  /** After a container's files are gone (e.g. to release its layer lease). */
  onRemoved?: (runcId: string) => Promise<void>;
  /** A container taken over after a restart (e.g. to lease its layers again: leases die with their process). */
  onAdopted?: (runcId: string, diffIds: string[]) => Promise<void>;
  log?: (msg: string) => void;
  defaultPidsLimit?: number;
  /** Log lines kept in Postgres per container (the newest); default 20000. */
  keepLogLines?: number;
  /** What a container may write to its own filesystem, in bytes (default in supervisor.ts). */
  diskLimitBytes?: number;
}

/** What the API stores in containers.spec. */
interface StoredSpec {
  cmd?: string[] | null;
  entrypoint?: string[] | null;
  env?: Record<string, string>;
  workdir?: string | null;
  user?: string | null;
  hostname?: string | null;
  tty?: boolean;
  /** Keep stdin open for attach (Docker's -i). */
  stdin?: boolean;
  memoryMb?: number | null;
  cpus?: number | null;
  pidsLimit?: number | null;
  stopGraceSeconds?: number | null;
  health?: HealthPlan | null;
}

/** The row's ports in the sandbox's form: no host port asks for an ephemeral one; 0.0.0.0 is every address. */
export function toPortMappings(ports: unknown): PortMapping[] {
  if (!Array.isArray(ports)) return [];
  return ports.map((raw) => {
    const p = raw as { hostIp?: string | null; hostPort?: number | null; containerPort: number; protocol?: string };
    const hostIp = !p.hostIp || p.hostIp === '0.0.0.0' ? '' : p.hostIp;
    const protocol = p.protocol === 'udp' ? 'udp' : 'tcp';
    if (!Number.isInteger(p.containerPort) || p.containerPort < 1 || p.containerPort > 65535) throw new Error(`Cannot publish container port "${String(p.containerPort)}": not a port`);
    return { hostIp, hostPort: p.hostPort ?? 0, containerPort: p.containerPort, protocol };
  });
}

/** The ports as the API shows them, host ports filled in. */
export function fromPortMappings(ports: PortMapping[]): Array<{ hostIp: string; hostPort: number; containerPort: number; protocol: string }> {
  return ports.map((p) => ({ hostIp: p.hostIp || '0.0.0.0', hostPort: p.hostPort, containerPort: p.containerPort, protocol: p.protocol }));
}

export function buildContainerMeta(row: Container, image: ResolvedImage, defaultPidsLimit: number): ContainerMeta {
  const spec = (row.spec ?? {}) as StoredSpec;
  const overrides: RunOverrides = {};
  if (spec.cmd) overrides.cmd = spec.cmd;
  if (spec.entrypoint) overrides.entrypoint = spec.entrypoint;
  if (spec.env) overrides.env = spec.env;
  if (spec.workdir) overrides.workdir = spec.workdir;
  if (spec.user) overrides.user = spec.user;
  if (spec.tty) overrides.tty = spec.tty;
  if (spec.hostname) overrides.hostname = spec.hostname;
  const plan = buildContainerPlan(image.config.config, overrides, image.files, row.id.slice(0, 12));
  const meta: ContainerMeta = {
    key: row.id,
    runcId: runcIdFor(row.id),
    lowerDirs: image.lowerDirs,
    diffIds: image.diffIds,
    plan,
    ports: toPortMappings(row.ports),
    resources: {
      pidsLimit: spec.pidsLimit ?? defaultPidsLimit,
      ...(spec.memoryMb ? { memoryBytes: spec.memoryMb * 1024 * 1024 } : {}),
      ...(spec.cpus ? { cpus: spec.cpus } : {}),
    },
    restartPolicy: row.restartPolicy,
    autoRemove: row.autoRemove,
    stopGraceMs: (spec.stopGraceSeconds ?? 10) * 1000,
    restartCount: row.restartCount,
  };
  if (spec.health) meta.health = spec.health;
  if (spec.stdin === true) meta.openStdin = true;
  return meta;
}

export interface ReconcileReport {
  adopted: string[];
  restarted: string[];
  exited: string[];
  cleaned: string[];
  lost: string[];
  errors: string[];
}

export class ContainerService {
  readonly supervisor: Supervisor;
  readonly options: ContainerServiceOptions;

  constructor(private readonly o: ContainerServiceOptions) {
    this.options = o;
    const { db, runnerId } = o;
    const warn = (what: string) => (e: unknown) => o.log?.(`${what}: ${(e as Error).message}`);
    const keepLogLines = o.keepLogLines ?? 20_000;
    const linesSinceTrim = new Map<string, number>();
    this.supervisor = new Supervisor({
      ...(o.diskLimitBytes ? { diskLimitBytes: o.diskLimitBytes } : {}),
      home: o.home,
      runc: o.runc,
      idmap: o.idmap,
      networkSettings: o.networkSettings,
      resolvConf: o.resolvConf,
      log: o.log,
      events: {
        onLogs: async (key, lines) => {
          const subject = { kind: 'container' as const, id: key };
          await appendLogLines(db, subject, lines.map((l) => ({ stream: l.stream, line: l.line, at: l.at })));
          // Retention: a chatty container's lines are trimmed to the newest ones now and then.
          const n = (linesSinceTrim.get(key) ?? 0) + lines.length;
          linesSinceTrim.set(key, n);
          if (n >= keepLogLines / 10) {
            linesSinceTrim.set(key, 0);
            await trimLogLines(db, subject, keepLogLines).catch(warn(`container ${key}: trimming logs`));
          }
        },
        onRunning: async (key, info) => {
          await markContainerRunning(db, key, runnerId, { pid: info.pid, ipAddress: info.address, ports: fromPortMappings(info.ports), restartCount: info.restartCount, health: info.health }).catch(warn(`container ${key}`));
        },
        onExited: async (key, info) => {
          await markContainerExited(db, key, runnerId, {
            status: info.restarting ? 'restarting' : 'exited',
            exitCode: info.exitCode,
            exitReason: info.reason,
            restartCount: info.restartCount + (info.restarting ? 1 : 0),
          }).catch(warn(`container ${key}`));
        },
        onHealth: (key, status) => setContainerHealth(db, key, runnerId, status).catch(warn(`container ${key}`)),
        onRemoved: async (key) => {
          await markContainerRemoved(db, key).catch(warn(`container ${key}`));
          await o.onRemoved?.(runcIdFor(key)).catch(warn(`container ${key}`));
        },
      },
    });
  }

  /** Resolves the row's image and starts it here (the row must already be placed on this runner). */
  async start(row: Container): Promise<RunningInfo> {
    const image = await this.o.resolveImage(row.imageRef, row.manifestDigest, runcIdFor(row.id));
    const meta = buildContainerMeta(row, image, this.o.defaultPidsLimit ?? 1024);
    // A previous attempt of this job may have left files for this id: start from nothing.
    if (!this.supervisor.has(row.id)) await teardownContainer(this.o, meta.runcId);
    return this.supervisor.start(meta);
  }

  /**
   * After a restart: adopt containers still running that Postgres wants here, restart or report those
   * that exited meanwhile, and remove every trace of the rest. Only ids under this runner's home are
   * touched, so other runners (and test runs) on the same machine are left alone.
   */
  async reconcile(): Promise<ReconcileReport> {
    const report: ReconcileReport = { adopted: [], restarted: [], exited: [], cleaned: [], lost: [], errors: [] };
    const { db, runnerId } = this.o;
    const wanted = new Map((await listLiveContainersOn(db, runnerId)).map((c) => [runcIdFor(c.id), c]));
    const seen = new Set<string>();
    for (const runcId of await listContainerDirs(this.o.home)) {
      seen.add(runcId);
      const meta = await readContainerMeta(this.o.home, runcId);
      const row = wanted.get(runcId);
      try {
        if (!meta || !row || row.id !== meta.key) {
          report.errors.push(...(await teardownContainer(this.o, runcId)));
          report.cleaned.push(runcId);
          continue;
        }
        const state = await readContainerState(this.o.runc, runcId).catch(() => undefined);
        const shimAlive = meta.shimPid !== undefined && isProcessAlive(meta.shimPid);
        if (state?.status === 'running' && shimAlive && meta.address) {
          await this.supervisor.adopt(meta, { pid: state.pid, address: meta.address });
          await this.o.onAdopted?.(runcId, meta.diffIds ?? []);
          report.adopted.push(row.id);
          continue;
        }
        // It ended while no runner watched it: record the exit, then apply the restart policy.
        const code = (await readExitFile(describeContainerPaths(this.o.home, runcId).exitFile)) ?? 137;
        report.errors.push(...(await teardownContainer(this.o, runcId, true)));
        const restart = shouldRestart(parseRestartPolicy(row.restartPolicy), { exitCode: code, stoppedByRequest: row.status === 'stopping' }, meta.restartCount);
        if (restart) {
          meta.restartCount++;
          await this.o.onAdopted?.(runcId, meta.diffIds ?? []);
          await this.supervisor.start(meta);
          report.restarted.push(row.id);
        } else {
          await markContainerExited(db, row.id, runnerId, { status: 'exited', exitCode: code, exitReason: `exited with code ${code} while the runner was down` });
          report.errors.push(...(await teardownContainer(this.o, runcId)));
          report.exited.push(row.id);
        }
      } catch (e) {
        report.errors.push(`${runcId}: ${(e as Error).message}`);
      }
    }
    for (const [runcId, row] of wanted) {
      if (seen.has(runcId)) continue;
      await markContainerExited(db, row.id, runnerId, { status: 'dead', exitCode: null, exitReason: 'lost: the runner has no record of it after a restart' });
      report.lost.push(row.id);
    }
    return report;
  }
}
