// A Berth container row as Docker shows it (ps and inspect). States map onto Docker's: a queued or
// starting container is "created" until it runs; a stopping one is still "running".
import type { Container } from '../../db/schema';
import type { ContainerConfig } from '../core/oci/types';

type Spec = { cmd?: string[] | null; entrypoint?: string[] | null; env?: Record<string, string>; workdir?: string | null; user?: string | null; tty?: boolean; stdin?: boolean; stdinOnce?: boolean; hostname?: string | null; memoryMb?: number | null; cpus?: number | null; labels?: Record<string, string> };
type Port = { hostIp?: string; hostPort?: number | null; containerPort: number; protocol?: string };

export function dockerState(status: Container['status']): string {
  switch (status) {
    case 'starting':
      return 'created';
    case 'stopping':
      return 'running';
    case 'removed':
      return 'removing';
    default:
      return status;
  }
}

function ago(d: Date): string {
  const s = Math.max(0, Math.round((Date.now() - d.getTime()) / 1000));
  if (s < 60) return s <= 1 ? 'Less than a second' : `${s} seconds`;
  if (s < 3600) return `${Math.round(s / 60)} minutes`;
  if (s < 172800) return `${Math.round(s / 3600)} hours`;
  return `${Math.round(s / 86400)} days`;
}

export function statusText(c: Container): string {
  const state = dockerState(c.status);
  if (state === 'running') return `Up ${ago(c.startedAt ?? c.createdAt)}`;
  if (state === 'exited' || state === 'dead') return `Exited (${c.exitCode ?? 0}) ${ago(c.finishedAt ?? c.createdAt)} ago`;
  if (state === 'restarting') return `Restarting (${c.exitCode ?? 0}) ${ago(c.finishedAt ?? c.createdAt)} ago`;
  return 'Created';
}

export function specOf(c: Container): Spec {
  return (c.spec ?? {}) as Spec;
}

/** Docker's rule: an entrypoint given at create drops the image's Cmd; each falls back to the image's. */
function effective(c: Container, image: ContainerConfig | undefined): { entrypoint: string[] | null; cmd: string[] | null } {
  const s = specOf(c);
  const entrypoint = s.entrypoint ?? image?.Entrypoint ?? null;
  const cmd = s.cmd ?? (s.entrypoint ? null : (image?.Cmd ?? null));
  return { entrypoint, cmd };
}

function commandOf(c: Container, image?: ContainerConfig): string[] {
  const { entrypoint, cmd } = effective(c, image);
  return [...(entrypoint ?? []), ...(cmd ?? [])];
}

function portList(c: Container) {
  return (c.ports as Port[]).map((p) => ({ IP: p.hostIp ?? '0.0.0.0', PrivatePort: p.containerPort, ...(p.hostPort ? { PublicPort: p.hostPort } : {}), Type: p.protocol ?? 'tcp' }));
}

function portMap(c: Container) {
  const out: Record<string, Array<{ HostIp: string; HostPort: string }> | null> = {};
  for (const p of c.ports as Port[]) {
    const key = `${p.containerPort}/${p.protocol ?? 'tcp'}`;
    (out[key] ??= []).push({ HostIp: p.hostIp ?? '0.0.0.0', HostPort: p.hostPort ? String(p.hostPort) : '' });
  }
  return out;
}

export function renderSummary(c: Container, image: string, defaults?: ContainerConfig) {
  const state = dockerState(c.status);
  return {
    Id: c.id,
    Names: [`/${c.name}`],
    Image: image,
    ImageID: c.manifestDigest ?? '',
    Command: commandOf(c, defaults).join(' '),
    Created: Math.floor(c.createdAt.getTime() / 1000),
    Ports: portList(c),
    Labels: { ...(defaults?.Labels ?? {}), ...(specOf(c).labels ?? {}) },
    State: state,
    Status: statusText(c),
    HostConfig: { NetworkMode: 'bridge' },
    NetworkSettings: { Networks: { bridge: { IPAddress: c.ipAddress ?? '' } } },
    Mounts: [],
  };
}

export function renderInspect(c: Container, image: string, defaults?: ContainerConfig) {
  const s = specOf(c);
  const state = dockerState(c.status);
  const cmd = commandOf(c, defaults);
  const { entrypoint: effectiveEntrypoint, cmd: effectiveCmd } = effective(c, defaults);
  const zero = '0001-01-01T00:00:00Z';
  const [policy, retries] = c.restartPolicy.split(':');
  return {
    Id: c.id,
    Created: c.createdAt.toISOString(),
    Path: cmd[0] ?? '',
    Args: cmd.slice(1),
    State: {
      Status: state,
      Running: state === 'running',
      Paused: false,
      Restarting: state === 'restarting',
      OOMKilled: /memory/i.test(c.exitReason ?? ''),
      Dead: state === 'dead',
      Pid: c.pid ?? 0,
      ExitCode: c.exitCode ?? 0,
      Error: state === 'dead' ? (c.exitReason ?? '') : '',
      StartedAt: c.startedAt?.toISOString() ?? zero,
      FinishedAt: c.finishedAt?.toISOString() ?? zero,
    },
    Image: c.manifestDigest ?? '',
    Name: `/${c.name}`,
    RestartCount: c.restartCount,
    Driver: 'overlay',
    Platform: 'linux',
    HostConfig: {
      PortBindings: portMap(c),
      AutoRemove: c.autoRemove,
      RestartPolicy: { Name: policy, MaximumRetryCount: Number(retries ?? 0) },
      Memory: s.memoryMb ? s.memoryMb * 1024 * 1024 : 0,
      NanoCpus: s.cpus ? Math.round(s.cpus * 1e9) : 0,
      NetworkMode: 'bridge',
    },
    Config: {
      Hostname: s.hostname ?? c.id.slice(0, 12),
      User: s.user ?? defaults?.User ?? '',
      Tty: s.tty === true,
      OpenStdin: s.stdin === true,
      StdinOnce: s.stdinOnce === true,
      AttachStdin: false,
      AttachStdout: true,
      AttachStderr: true,
      Env: mergeEnv(defaults?.Env ?? [], s.env ?? {}),
      Cmd: effectiveCmd,
      Entrypoint: effectiveEntrypoint,
      WorkingDir: s.workdir ?? defaults?.WorkingDir ?? '',
      Image: image,
      Labels: { ...(defaults?.Labels ?? {}), ...(s.labels ?? {}) },
      ExposedPorts: defaults?.ExposedPorts ?? null,
    },
    NetworkSettings: { IPAddress: c.ipAddress ?? '', Ports: portMap(c), Networks: { bridge: { IPAddress: c.ipAddress ?? '' } } },
    Mounts: [],
  };
}

/** The image's environment with the create's values over it, in the image's order first. */
function mergeEnv(image: string[], overrides: Record<string, string>): string[] {
  const out = new Map<string, string>();
  for (const e of image) {
    const i = e.indexOf('=');
    if (i > 0) out.set(e.slice(0, i), e.slice(i + 1));
  }
  for (const [k, v] of Object.entries(overrides)) out.set(k, v);
  return [...out].map(([k, v]) => `${k}=${v}`);
}
