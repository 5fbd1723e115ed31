// Image config + run-time overrides → what the runtime spec needs, as one pure function with
// Docker's semantics: an entrypoint override resets the image's CMD; an empty entrypoint means none;
// the image's Env first, then overrides by name; PATH defaulted; HOME from the user's passwd entry;
// USER names resolved from the image's own /etc/passwd and /etc/group.
import type { ContainerConfig } from '../../functions/core/oci/types';
import { resolveImageUser } from './image-user';

export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const NS_PER_MS = 1_000_000;

export interface RunOverrides {
  /** Replaces the image's CMD. */
  cmd?: string[];
  /** Replaces the image's ENTRYPOINT and resets its CMD; [] or [''] clears it. */
  entrypoint?: string[];
  /** Added after the image's Env; a name given here replaces the image's value. */
  env?: Record<string, string> | string[];
  user?: string;
  workdir?: string;
  tty?: boolean;
  hostname?: string;
}

export type HealthProbe =
  | { kind: 'exec'; argv: string[] }
  | { kind: 'tcp'; port: number }
  | { kind: 'http'; port: number; path: string };

export interface HealthPlan {
  probe: HealthProbe;
  intervalMs: number;
  timeoutMs: number;
  startPeriodMs: number;
  retries: number;
}

export interface ExposedPort {
  port: number;
  protocol: 'tcp' | 'udp';
}

export interface ContainerPlan {
  args: string[];
  env: string[];
  cwd: string;
  uid: number;
  gid: number;
  additionalGids: number[];
  terminal: boolean;
  hostname: string;
  stopSignal: string;
  health?: HealthPlan;
  exposedPorts: ExposedPort[];
}

const SIGNAL_NUMBERS: Record<string, number> = {
  HUP: 1, INT: 2, QUIT: 3, ILL: 4, TRAP: 5, ABRT: 6, BUS: 7, FPE: 8, KILL: 9, USR1: 10, SEGV: 11, USR2: 12, PIPE: 13, ALRM: 14, TERM: 15,
  STKFLT: 16, CHLD: 17, CONT: 18, STOP: 19, TSTP: 20, TTIN: 21, TTOU: 22, URG: 23, XCPU: 24, XFSZ: 25, VTALRM: 26, PROF: 27, WINCH: 28,
  IO: 29, PWR: 30, SYS: 31,
};

/** `TERM`, `SIGTERM`, `15` → `SIGTERM`; RTMIN+n kept as written. Throws on anything else. */
export function parseStopSignal(value: string): string {
  const v = value.trim().toUpperCase();
  if (/^\d{1,2}$/.test(v)) {
    const name = Object.entries(SIGNAL_NUMBERS).find(([, n]) => n === Number(v))?.[0];
    if (name) return `SIG${name}`;
    if (Number(v) >= 34 && Number(v) <= 64) return v;
  }
  const bare = v.startsWith('SIG') ? v.slice(3) : v;
  if (bare in SIGNAL_NUMBERS) return `SIG${bare}`;
  if (/^RTMIN(\+\d{1,2})?$|^RTMAX(-\d{1,2})?$/.test(bare)) return `SIG${bare}`;
  throw new Error(`Cannot use stop signal "${value}": not a signal name or number`);
}

function envName(entry: string): string {
  const eq = entry.indexOf('=');
  return eq < 0 ? entry : entry.slice(0, eq);
}

/** Image env, then overrides; a later entry replaces an earlier one of the same name, in place. */
export function mergeEnv(image: string[], overrides: RunOverrides['env']): string[] {
  const extra = Array.isArray(overrides) ? overrides : Object.entries(overrides ?? {}).map(([k, v]) => `${k}=${v}`);
  const out: string[] = [];
  const index = new Map<string, number>();
  for (const entry of [...image, ...extra]) {
    const name = envName(entry);
    if (name === '' || /[\0]/.test(entry)) throw new Error(`Cannot set environment "${entry.slice(0, 80)}": invalid name or NUL byte`);
    // `NAME` without `=` in an override means "take it from the client's environment" in Docker; we have none.
    if (!entry.includes('=')) continue;
    const at = index.get(name);
    if (at === undefined) {
      index.set(name, out.length);
      out.push(entry);
    } else out[at] = entry;
  }
  return out;
}

function toHealth(h: ContainerConfig['Healthcheck']): HealthPlan | undefined {
  const test = h?.Test;
  if (!h || !test || test.length === 0 || test[0] === 'NONE') return undefined;
  let argv: string[];
  if (test[0] === 'CMD') argv = test.slice(1);
  else if (test[0] === 'CMD-SHELL') argv = ['/bin/sh', '-c', test.slice(1).join(' ')];
  else throw new Error(`Cannot use health check "${JSON.stringify(test).slice(0, 200)}": the test starts with NONE, CMD or CMD-SHELL`);
  if (argv.length === 0) throw new Error('Cannot use health check: CMD has no command');
  const ms = (ns: number | undefined, fallback: number) => (ns && ns > 0 ? Math.round(ns / NS_PER_MS) : fallback);
  return {
    probe: { kind: 'exec', argv },
    intervalMs: ms(h.Interval, 30_000),
    timeoutMs: ms(h.Timeout, 30_000),
    startPeriodMs: ms(h.StartPeriod, 0),
    retries: h.Retries && h.Retries > 0 ? h.Retries : 3,
  };
}

function toExposedPorts(ports: ContainerConfig['ExposedPorts']): ExposedPort[] {
  const out: ExposedPort[] = [];
  for (const key of Object.keys(ports ?? {})) {
    const m = /^(\d{1,5})(?:\/(tcp|udp|sctp))?$/i.exec(key);
    if (!m || Number(m[1]) < 1 || Number(m[1]) > 65535) throw new Error(`Cannot read exposed port "${key}": expected port[/tcp|udp]`);
    const protocol = (m[2] ?? 'tcp').toLowerCase();
    if (protocol === 'sctp') continue; // not published by Berth
    out.push({ port: Number(m[1]), protocol: protocol as 'tcp' | 'udp' });
  }
  return out.sort((a, b) => a.port - b.port || a.protocol.localeCompare(b.protocol));
}

function isEmptyEntrypoint(ep: string[]): boolean {
  return ep.length === 0 || (ep.length === 1 && ep[0] === '');
}

/**
 * The container's process and metadata. `files` holds the image's /etc/passwd and /etc/group text
 * (absent files are empty); `defaultHostname` is used when no override names one.
 */
export function buildContainerPlan(
  image: ContainerConfig | undefined,
  overrides: RunOverrides,
  files: { passwd?: string; group?: string },
  defaultHostname: string,
): ContainerPlan {
  const config = image ?? {};
  let entrypoint = config.Entrypoint ?? [];
  let cmd = config.Cmd ?? [];
  if (overrides.entrypoint !== undefined) {
    entrypoint = isEmptyEntrypoint(overrides.entrypoint) ? [] : overrides.entrypoint;
    cmd = [];
  }
  if (overrides.cmd !== undefined) cmd = overrides.cmd;
  const args = [...entrypoint, ...cmd];
  if (args.length === 0) throw new Error('Cannot start the container: no command specified (the image has no ENTRYPOINT or CMD and none was given)');

  const user = resolveImageUser(overrides.user ?? config.User ?? '', files);
  const hostname = overrides.hostname ?? defaultHostname;
  if (!/^[A-Za-z0-9]([A-Za-z0-9.-]{0,61}[A-Za-z0-9])?$/.test(hostname)) throw new Error(`Cannot use hostname "${hostname}": letters, digits, "." and "-", at most 63`);
  let env = mergeEnv(config.Env ?? [], overrides.env);
  const names = new Set(env.map(envName));
  const defaults: string[] = [];
  if (!names.has('PATH')) defaults.push(DEFAULT_PATH);
  if (!names.has('HOSTNAME')) defaults.push(`HOSTNAME=${hostname}`);
  if (overrides.tty && !names.has('TERM')) defaults.push('TERM=xterm');
  if (!names.has('HOME')) defaults.push(`HOME=${user.home}`);
  env = [...defaults, ...env];

  let cwd = overrides.workdir ?? config.WorkingDir ?? '';
  if (cwd === '') cwd = '/';
  if (!cwd.startsWith('/')) {
    if (overrides.workdir !== undefined) throw new Error(`Cannot use working directory "${cwd}": it must be absolute`);
    cwd = `/${cwd}`; // Docker resolves an image's relative WORKDIR against /
  }

  const plan: ContainerPlan = {
    args,
    env,
    cwd,
    uid: user.uid,
    gid: user.gid,
    additionalGids: user.additionalGids,
    terminal: overrides.tty ?? false,
    hostname,
    stopSignal: parseStopSignal(config.StopSignal ?? 'SIGTERM'),
    exposedPorts: toExposedPorts(config.ExposedPorts),
  };
  const health = toHealth(config.Healthcheck);
  if (health) plan.health = health;
  return plan;
}
