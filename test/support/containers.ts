// Fixtures for container tests: a private runner home, network settings on a bridge of our own (so
// IPAM state never collides with other suites' bridges), a supervisor that records its events, and
// a probe counting what containers may leave on the machine.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildResolvConf, type NetworkSettings } from '../../runner/sandbox/cni-config';
import { CGROUP_ROOT } from '../../runner/sandbox/cgroup';
import { DEFAULT_IDMAP } from '../../runner/sandbox/idmap';
import { USERNS_DIR } from '../../runner/sandbox/namespaces';
import { DEFAULT_RUNC } from '../../runner/sandbox/runc';
import type { ExitInfo, RunningInfo, SupervisorEvents } from '../../runner/container/supervisor';
import type { HealthStatus } from '../../runner/container/health';
import type { LogLineOut } from '../../runner/container/log-tail';

/**
 * One bridge, subnet and CNI state dir for every container test on the machine: host-local IPAM locks
 * its dir, so parallel test files (and their runner processes) never hand out the same address, and
 * attachments are keyed by unique container ids. /run is cleared at boot, with the addresses.
 */
export const TEST_NETWORK = { bridge: 'berthc0', subnet: '10.214.0.0/16', stateDir: '/run/berth-test/cni-berthc0' };
export const TEST_NETWORK_SETTINGS: NetworkSettings = { cniPath: '/usr/lib/cni', ...TEST_NETWORK };

export interface ContainerFixture {
  home: string;
  networkSettings: NetworkSettings;
  resolvConf: string;
  remove(): void;
}

export function createContainerFixture(): ContainerFixture {
  const home = mkdtempSync(join(tmpdir(), 'berth-containers-test-'));
  chmodSync(home, 0o711);
  return {
    home,
    networkSettings: TEST_NETWORK_SETTINGS,
    resolvConf: buildResolvConf(readFileSync('/etc/resolv.conf', 'utf8'), ['1.1.1.1']),
    remove: () => rmSync(home, { recursive: true, force: true }),
  };
}

export const supervisorDefaults = { runc: DEFAULT_RUNC, idmap: DEFAULT_IDMAP };

export type RecordedEvent =
  | { type: 'running'; key: string; info: RunningInfo }
  | { type: 'exited'; key: string; info: ExitInfo }
  | { type: 'health'; key: string; status: HealthStatus }
  | { type: 'removed'; key: string };

export function recordEvents(): SupervisorEvents & { events: RecordedEvent[]; logs: Map<string, LogLineOut[]>; waitFor(pred: (e: RecordedEvent) => boolean, ms?: number): Promise<RecordedEvent> } {
  const events: RecordedEvent[] = [];
  const logs = new Map<string, LogLineOut[]>();
  const waiters: Array<{ pred: (e: RecordedEvent) => boolean; resolve: (e: RecordedEvent) => void }> = [];
  const push = (e: RecordedEvent) => {
    events.push(e);
    for (const w of [...waiters]) if (w.pred(e)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(e);
    }
  };
  return {
    events,
    logs,
    onLogs: async (key, lines) => void logs.set(key, [...(logs.get(key) ?? []), ...lines]),
    onRunning: async (key, info) => push({ type: 'running', key, info }),
    onExited: async (key, info) => push({ type: 'exited', key, info }),
    onHealth: async (key, status) => push({ type: 'health', key, status }),
    onRemoved: async (key) => push({ type: 'removed', key }),
    waitFor(pred, ms = 30_000) {
      const seen = events.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`No matching event within ${ms} ms; saw ${JSON.stringify(events).slice(0, 2000)}`)), ms);
        waiters.push({ pred, resolve: (e) => (clearTimeout(t), resolve(e)) });
      });
    },
  };
}

function sh(argv: string[]): string {
  return spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' }).stdout ?? '';
}

/** What the machine holds for the given runc ids: mounts, netns, iptables rules, cgroups, runc records. */
export function countLeftovers(ids: string[]): string[] {
  const found: string[] = [];
  const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
  const rules = ['nat', 'filter'].flatMap((t) => sh(['iptables', '-w', '-t', t, '-S']).split('\n'));
  const runcList = sh([DEFAULT_RUNC.binary, '--root', DEFAULT_RUNC.root, 'list', '-q']).split('\n');
  for (const id of ids) {
    for (const line of mountinfo) if (line.includes(id)) found.push(`mount: ${line.split(' ')[4]}`);
    if (existsSync(join('/run/netns', id))) found.push(`netns: ${id}`);
    if (existsSync(join(USERNS_DIR, id))) found.push(`userns pin: ${id}`);
    for (const r of rules) if (r.includes(id)) found.push(`iptables: ${r}`);
    for (const h of readdirSync(CGROUP_ROOT)) if (existsSync(join(CGROUP_ROOT, h, 'berth', id))) found.push(`cgroup: ${h}/berth/${id}`);
    if (runcList.includes(id)) found.push(`runc: ${id}`);
  }
  return found;
}
