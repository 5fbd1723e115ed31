// Docker's container create body → a Berth container row's fields, checked field by field (the body
// is hostile input). What Berth cannot honour (volumes, networks, privileged…) is refused by name
// rather than silently dropped.
import { dockerError } from './engine-errors';
import { refuseUnsupportedHostConfig } from './host-config-refusals';

export interface DockerCreateBody {
  Image?: unknown;
  Cmd?: unknown;
  Entrypoint?: unknown;
  Env?: unknown;
  WorkingDir?: unknown;
  User?: unknown;
  Tty?: unknown;
  OpenStdin?: unknown;
  StdinOnce?: unknown;
  Hostname?: unknown;
  Labels?: unknown;
  HostConfig?: {
    PortBindings?: unknown;
    AutoRemove?: unknown;
    RestartPolicy?: unknown;
    Memory?: unknown;
    NanoCpus?: unknown;
    Binds?: unknown;
    Privileged?: unknown;
    PublishAllPorts?: unknown;
  };
}

export interface ParsedCreate {
  image: string;
  spec: { cmd?: string[]; entrypoint?: string[]; env: Record<string, string>; workdir?: string; user?: string; tty: boolean; stdin: boolean; stdinOnce: boolean; hostname?: string; memoryMb?: number; cpus?: number; labels: Record<string, string> };
  ports: Array<{ hostIp: string; hostPort: number | null; containerPort: number; protocol: 'tcp' | 'udp' }>;
  restartPolicy: string;
  autoRemove: boolean;
}

function strings(v: unknown, what: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return [v];
  if (!Array.isArray(v) || v.length > 4096 || !v.every((s) => typeof s === 'string' && s.length <= 65536)) throw dockerError(400, `Invalid "${what}": expected a list of strings`);
  return v as string[];
}

function parsePortBindings(raw: unknown): ParsedCreate['ports'] {
  if (raw === undefined || raw === null) return [];
  if (typeof raw !== 'object' || Array.isArray(raw)) throw dockerError(400, 'Invalid "HostConfig.PortBindings": expected an object such as {"80/tcp": [{"HostPort": "8080"}]}');
  const out: ParsedCreate['ports'] = [];
  for (const [key, bindings] of Object.entries(raw as Record<string, unknown>)) {
    const m = /^(\d{1,5})(?:\/(tcp|udp))?$/.exec(key);
    const containerPort = Number(m?.[1]);
    if (!m || containerPort < 1 || containerPort > 65535) throw dockerError(400, `Invalid port "${key}": expected <port>/tcp or <port>/udp`);
    const list = bindings === null ? [{}] : bindings;
    if (!Array.isArray(list)) throw dockerError(400, `Invalid bindings of port "${key}": expected a list`);
    for (const b of list as Array<{ HostIp?: unknown; HostPort?: unknown }>) {
      const hostPortText = typeof b?.HostPort === 'string' ? b.HostPort : '';
      if (hostPortText.includes('-')) throw dockerError(400, `Cannot publish port "${key}" on a range of host ports ("${hostPortText}"): Berth publishes on one port`);
      const hostPort = hostPortText === '' ? null : Number(hostPortText);
      if (hostPort !== null && (!Number.isInteger(hostPort) || hostPort < 1 || hostPort > 65535)) throw dockerError(400, `Invalid host port "${hostPortText}" for "${key}"`);
      const hostIp = typeof b?.HostIp === 'string' && b.HostIp !== '' ? b.HostIp : '0.0.0.0';
      if (hostIp.length > 45) throw dockerError(400, `Invalid host address "${hostIp}"`);
      out.push({ hostIp, hostPort, containerPort, protocol: m[2] === 'udp' ? 'udp' : 'tcp' });
    }
  }
  if (out.length > 50) throw dockerError(400, 'Cannot publish more than 50 ports');
  return out;
}

function parseRestart(raw: unknown): string {
  if (raw === undefined || raw === null) return 'no';
  const p = raw as { Name?: unknown; MaximumRetryCount?: unknown };
  const name = typeof p.Name === 'string' ? p.Name : '';
  if (name === '' || name === 'no') return 'no';
  if (name === 'always' || name === 'unless-stopped') return name;
  if (name === 'on-failure') {
    const n = typeof p.MaximumRetryCount === 'number' && Number.isInteger(p.MaximumRetryCount) && p.MaximumRetryCount > 0 ? p.MaximumRetryCount : undefined;
    return n ? `on-failure:${Math.min(n, 999999)}` : 'on-failure';
  }
  throw dockerError(400, `Invalid restart policy "${name}": expected no, always, unless-stopped or on-failure`);
}

export function parseCreateBody(body: DockerCreateBody): ParsedCreate {
  if (!body || typeof body !== 'object') throw dockerError(400, 'Invalid container config: expected a JSON object');
  if (typeof body.Image !== 'string' || body.Image === '') throw dockerError(400, 'No image was given: set "Image"');
  const hc = body.HostConfig ?? {};
  if (typeof hc !== 'object' || hc === null || Array.isArray(hc)) throw dockerError(400, 'Invalid "HostConfig": expected an object');
  refuseUnsupportedHostConfig(hc as Record<string, unknown>);
  const binds = strings(hc.Binds, 'HostConfig.Binds');
  if (binds && binds.length > 0) throw dockerError(400, `Cannot mount "${binds[0]}": volumes and bind mounts are not supported by Berth`);
  if (hc.Privileged === true) throw dockerError(400, 'Cannot run a privileged container: not supported by Berth');
  const env: Record<string, string> = {};
  for (const pair of strings(body.Env, 'Env') ?? []) {
    const i = pair.indexOf('=');
    const name = i < 0 ? pair : pair.slice(0, i);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw dockerError(400, `Invalid environment variable "${name}": letters, digits and _, not starting with a digit`);
    if (i >= 0) env[name] = pair.slice(i + 1);
  }
  const labels: Record<string, string> = {};
  if (body.Labels && typeof body.Labels === 'object') for (const [k, v] of Object.entries(body.Labels)) if (typeof v === 'string') labels[k] = v;
  const memory = typeof hc.Memory === 'number' && hc.Memory > 0 ? hc.Memory : undefined;
  if (memory !== undefined && memory < 6 * 1024 * 1024) throw dockerError(400, 'Minimum memory limit allowed is 6MB');
  const nanoCpus = typeof hc.NanoCpus === 'number' && hc.NanoCpus > 0 ? hc.NanoCpus : undefined;
  const workdir = typeof body.WorkingDir === 'string' && body.WorkingDir !== '' ? body.WorkingDir : undefined;
  if (workdir !== undefined && !workdir.startsWith('/')) throw dockerError(400, `Invalid working directory "${workdir}": it must be absolute`);
  const hostname = typeof body.Hostname === 'string' && body.Hostname !== '' ? body.Hostname : undefined;
  if (hostname !== undefined && !/^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$/.test(hostname)) throw dockerError(400, `Invalid hostname "${hostname}"`);
  return {
    image: body.Image,
    spec: {
      cmd: strings(body.Cmd, 'Cmd'),
      entrypoint: strings(body.Entrypoint, 'Entrypoint'),
      env,
      workdir,
      user: typeof body.User === 'string' && body.User !== '' ? body.User : undefined,
      tty: body.Tty === true,
      stdin: body.OpenStdin === true,
      // Docker's `run -i` sets it: the attached client's end-of-input closes the container's stdin.
      stdinOnce: body.OpenStdin === true && body.StdinOnce === true,
      hostname,
      memoryMb: memory ? Math.max(16, Math.ceil(memory / 1024 / 1024)) : undefined,
      cpus: nanoCpus ? nanoCpus / 1e9 : undefined,
      labels,
    },
    ports: parsePortBindings(hc.PortBindings),
    restartPolicy: parseRestart(hc.RestartPolicy),
    autoRemove: hc.AutoRemove === true,
  };
}

/** Docker's container names: the CLI's --name rule. */
export function parseContainerName(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  const name = raw.replace(/^\//, '');
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/.test(name)) throw dockerError(400, `Invalid container name (${raw}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  return name;
}
