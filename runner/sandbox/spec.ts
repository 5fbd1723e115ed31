// The OCI runtime spec (config.json) for every sandboxed process — a build's RUN and a container — as
// one pure function. Isolation is not optional here: a user namespace, Docker's default capabilities,
// no-new-privileges, our seccomp profile, masked /proc and /sys paths and a device whitelist are
// always on; callers choose only the process, the filesystem, the network and the limits.
import { toHostId, type IdMap } from './idmap';
import { buildDefaultSeccompProfile, type SeccompProfile } from './seccomp';

/** Docker's default capability set: enough for package managers and builds, nothing that reaches the host. */
export const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** Paths Docker hides (an empty file or tmpfs over them): they leak host details or reach the kernel. */
export const MASKED_PATHS = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/interrupts',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];

/** Paths Docker leaves visible but read-only. */
export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

export interface SpecMount {
  destination: string;
  type: string;
  source: string;
  options?: string[];
}

/** An extra mount the caller adds on top of the standard set (hosts, resolv.conf, caches, secrets). */
export type ExtraMount =
  | { kind: 'bind'; source: string; destination: string; readonly: boolean }
  | { kind: 'tmpfs'; destination: string; sizeBytes?: number; mode?: number };

export interface Resources {
  memoryBytes?: number;
  /** CPUs as a fraction (1.5 = one and a half cores), turned into quota over a 100 ms period. */
  cpus?: number;
  cpuShares?: number;
  pidsLimit?: number;
}

export interface Hook {
  path: string;
  args: string[];
  env?: string[];
  timeout?: number;
}

export interface SandboxSpecInput {
  process: {
    args: string[];
    env: string[];
    cwd: string;
    uid: number;
    gid: number;
    additionalGids?: number[];
    terminal?: boolean;
    /** RLIMIT_NOFILE; it cannot exceed the runner's own hard limit inside a user namespace. */
    nofile: { soft: number; hard: number };
  };
  root: { path: string; readonly: boolean };
  hostname: string;
  /** Mount a tmpfs on /run (containers; a build's RUN keeps /run in the layer like Docker does). */
  tmpfsRun?: boolean;
  mounts?: ExtraMount[];
  /** `new`: runc creates the network namespace inside the user namespace; a path joins an existing one. */
  network: { kind: 'new' } | { kind: 'path'; path: string };
  /** Join this user namespace (see namespaces.ts) instead of creating one; it must map `idmap`. */
  userNamespacePath?: string;
  idmap: IdMap;
  cgroupsPath: string;
  resources?: Resources;
  oomScoreAdj?: number;
  /** Run in the runtime namespace once the container's namespaces exist (network set-up). */
  createRuntimeHooks?: Hook[];
  seccomp?: SeccompProfile;
}

export interface RuntimeSpec {
  ociVersion: string;
  process: Record<string, unknown>;
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: SpecMount[];
  hooks?: { createRuntime: Hook[] };
  linux: Record<string, unknown>;
}

const CPU_PERIOD_US = 100_000;

function buildStandardMounts(tmpfsRun: boolean): SpecMount[] {
  const mounts: SpecMount[] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
  ];
  if (tmpfsRun) mounts.push({ destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=755', 'size=65536k'] });
  return mounts;
}

function toSpecMount(mount: ExtraMount): SpecMount {
  if (!mount.destination.startsWith('/')) throw new Error(`Cannot mount at "${mount.destination}": the destination must be absolute`);
  if (mount.kind === 'bind') {
    if (!mount.source.startsWith('/')) throw new Error(`Cannot bind "${mount.source}": the source must be absolute`);
    return {
      destination: mount.destination,
      type: 'bind',
      source: mount.source,
      options: ['rbind', 'rprivate', 'nosuid', 'nodev', mount.readonly ? 'ro' : 'rw'],
    };
  }
  const options = ['nosuid', 'nodev', `mode=${(mount.mode ?? 0o1777).toString(8)}`];
  if (mount.sizeBytes !== undefined) options.push(`size=${mount.sizeBytes}`);
  return { destination: mount.destination, type: 'tmpfs', source: 'tmpfs', options };
}

function buildResources(resources: Resources | undefined): Record<string, unknown> {
  // Deny every device, then runc appends its standard allowed set (null, zero, tty, ptmx, …).
  const out: Record<string, unknown> = { devices: [{ allow: false, access: 'rwm' }] };
  if (!resources) return out;
  if (resources.memoryBytes !== undefined) {
    if (!Number.isSafeInteger(resources.memoryBytes) || resources.memoryBytes < 6 * 1024 * 1024) {
      throw new Error(`Cannot limit memory to "${resources.memoryBytes}": the minimum is 6 MiB`);
    }
    // swap = limit: memory+swap equal to memory means no swap at all, as with Docker's --memory-swap.
    out.memory = { limit: resources.memoryBytes, swap: resources.memoryBytes };
  }
  const cpu: Record<string, number> = {};
  if (resources.cpus !== undefined) {
    if (!(resources.cpus > 0) || resources.cpus > 1024) throw new Error(`Cannot limit CPUs to "${resources.cpus}": must be above 0`);
    cpu.quota = Math.max(1000, Math.round(resources.cpus * CPU_PERIOD_US));
    cpu.period = CPU_PERIOD_US;
  }
  if (resources.cpuShares !== undefined) cpu.shares = resources.cpuShares;
  if (Object.keys(cpu).length > 0) out.cpu = cpu;
  if (resources.pidsLimit !== undefined) {
    if (!Number.isSafeInteger(resources.pidsLimit) || resources.pidsLimit < 1) {
      throw new Error(`Cannot limit processes to "${resources.pidsLimit}": must be a positive integer`);
    }
    out.pids = { limit: resources.pidsLimit };
  }
  return out;
}

export function buildRuntimeSpec(input: SandboxSpecInput): RuntimeSpec {
  const { process: proc, idmap } = input;
  if (proc.args.length === 0) throw new Error('Cannot build a runtime spec: the process has no arguments');
  if (!proc.cwd.startsWith('/')) throw new Error(`Cannot use working directory "${proc.cwd}": it must be absolute`);
  // Validate ids against the map now, not as a confusing runc error later.
  for (const id of [proc.uid, proc.gid, ...(proc.additionalGids ?? [])]) toHostId(idmap, id);

  const namespaces: Array<{ type: string; path?: string }> = [
    { type: 'pid' },
    { type: 'ipc' },
    { type: 'uts' },
    { type: 'mount' },
    input.network.kind === 'path' ? { type: 'network', path: input.network.path } : { type: 'network' },
    input.userNamespacePath ? { type: 'user', path: input.userNamespacePath } : { type: 'user' },
  ];
  const user: Record<string, unknown> = { uid: proc.uid, gid: proc.gid };
  if (proc.additionalGids && proc.additionalGids.length > 0) user.additionalGids = proc.additionalGids;

  const linux: Record<string, unknown> = {
    uidMappings: [{ containerID: 0, hostID: idmap.hostBase, size: idmap.size }],
    gidMappings: [{ containerID: 0, hostID: idmap.hostBase, size: idmap.size }],
    namespaces,
    cgroupsPath: input.cgroupsPath,
    resources: buildResources(input.resources),
    maskedPaths: MASKED_PATHS,
    readonlyPaths: READONLY_PATHS,
    seccomp: input.seccomp ?? buildDefaultSeccompProfile(),
  };

  const process: Record<string, unknown> = {
    terminal: proc.terminal ?? false,
    user,
    args: proc.args,
    env: proc.env,
    cwd: proc.cwd,
    capabilities: {
      bounding: DEFAULT_CAPABILITIES,
      effective: DEFAULT_CAPABILITIES,
      permitted: DEFAULT_CAPABILITIES,
    },
    rlimits: [{ type: 'RLIMIT_NOFILE', soft: proc.nofile.soft, hard: proc.nofile.hard }],
    noNewPrivileges: true,
  };
  if (input.oomScoreAdj !== undefined) process.oomScoreAdj = input.oomScoreAdj;

  const spec: RuntimeSpec = {
    ociVersion: '1.0.2',
    process,
    root: { path: input.root.path, readonly: input.root.readonly },
    hostname: input.hostname,
    mounts: [...buildStandardMounts(input.tmpfsRun ?? false), ...(input.mounts ?? []).map(toSpecMount)],
    linux,
  };
  if (input.createRuntimeHooks && input.createRuntimeHooks.length > 0) spec.hooks = { createRuntime: input.createRuntimeHooks };
  return spec;
}
