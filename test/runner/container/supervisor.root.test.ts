import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { serveAttach } from '../../../runner/container/attach';
import { openSession, sessionHandlers } from '../../support/sessions';
import { DEFAULT_RUNC } from '../../../runner/sandbox/runc';
import { teardownContainer } from '../../../runner/container/teardown';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildContainerPlan } from '../../../runner/container/config';
import { runcIdFor, type ContainerMeta } from '../../../runner/container/container-files';
import { Supervisor } from '../../../runner/container/supervisor';
import { ensureShiftedRootfs } from '../../support/rootfs';
import { countLeftovers, createContainerFixture, recordEvents, supervisorDefaults, type ContainerFixture } from '../../support/containers';

let fx: ContainerFixture;
let lower: string;
const ids: string[] = [];

function meta(script: string, extra: Partial<ContainerMeta> = {}): ContainerMeta {
  const key = randomBytes(32).toString('hex');
  ids.push(runcIdFor(key));
  return {
    key,
    runcId: runcIdFor(key),
    lowerDirs: [lower],
    plan: buildContainerPlan({ Cmd: ['/bin/bash', '-c', script] }, {}, {}, 'test'),
    ports: [],
    resources: { pidsLimit: 256, memoryBytes: 256 * 1024 * 1024 },
    restartPolicy: 'no',
    autoRemove: false,
    stopGraceMs: 10_000,
    restartCount: 0,
    ...extra,
  };
}

beforeAll(async () => {
  lower = await ensureShiftedRootfs();
  fx = createContainerFixture();
});
afterAll(async () => {
  // A failed test leaves its containers: remove them so the machine stays clean either way.
  for (const id of ids) await teardownContainer({ home: fx.home, runc: DEFAULT_RUNC, networkSettings: fx.networkSettings }, id);
  fx?.remove();
});

describe('Supervisor', () => {
  it('captures output, reports the exit code and leaves nothing behind', async () => {
    const ev = recordEvents();
    const sup = new Supervisor({ ...supervisorDefaults, home: fx.home, networkSettings: fx.networkSettings, resolvConf: fx.resolvConf, events: ev });
    const m = meta('echo hello; echo oops >&2; id -u; exit 3');
    const running = await sup.start(m);
    expect(running.pid).toBeGreaterThan(0);
    const exited = await ev.waitFor((e) => e.type === 'exited' && e.key === m.key);
    expect(exited.type === 'exited' && [exited.info.exitCode, exited.info.reason, exited.info.restarting]).toEqual([3, 'exited with code 3', false]);
    expect((ev.logs.get(m.key) ?? []).map((l) => `${l.stream}:${l.line}`).sort()).toEqual(['stderr:oops', 'stdout:0', 'stdout:hello']);
    await sup.remove(m.key);
    expect(countLeftovers([m.runcId])).toEqual([]);
  });

  it('sends SIGTERM to PID 1, then SIGKILL after the grace period', async () => {
    const ev = recordEvents();
    const sup = new Supervisor({ ...supervisorDefaults, home: fx.home, networkSettings: fx.networkSettings, resolvConf: fx.resolvConf, events: ev });
    const polite = meta('trap "echo got TERM; exit 0" TERM; echo ready; while :; do sleep 0.1; done');
    const stubborn = meta('trap "echo ignoring TERM" TERM; echo ready; while :; do sleep 0.1; done', { stopGraceMs: 700 });
    await sup.start(polite);
    await sup.start(stubborn);
    const ready = async (key: string) => {
      for (let i = 0; i < 100 && !(ev.logs.get(key) ?? []).some((l) => l.line === 'ready'); i++) await new Promise((r) => setTimeout(r, 50));
    };
    await ready(polite.key);
    await ready(stubborn.key);
    await sup.stop(polite.key);
    const t0 = Date.now();
    await sup.stop(stubborn.key);
    const took = Date.now() - t0;
    const a = ev.events.find((e) => e.type === 'exited' && e.key === polite.key);
    const b = ev.events.find((e) => e.type === 'exited' && e.key === stubborn.key);
    expect(a?.type === 'exited' && [a.info.exitCode, a.info.stoppedByRequest, a.info.restarting]).toEqual([0, true, false]);
    expect(b?.type === 'exited' && [b.info.exitCode, b.info.signal]).toEqual([137, 'SIGKILL']);
    expect(took).toBeGreaterThanOrEqual(650);
    expect(took).toBeLessThan(5000);
    await new Promise((r) => setTimeout(r, 300));
    expect((ev.logs.get(polite.key) ?? []).map((l) => l.line)).toContain('got TERM');
    expect((ev.logs.get(stubborn.key) ?? []).map((l) => l.line)).toContain('ignoring TERM');
    await sup.remove(polite.key);
    await sup.remove(stubborn.key);
    expect(countLeftovers([polite.runcId, stubborn.runcId])).toEqual([]);
  });

  it('restarts on failure with backoff up to the limit', async () => {
    const ev = recordEvents();
    const sup = new Supervisor({ ...supervisorDefaults, home: fx.home, networkSettings: fx.networkSettings, resolvConf: fx.resolvConf, events: ev });
    const m = meta('echo run; exit 1', { restartPolicy: 'on-failure:2' });
    await sup.start(m);
    const last = await ev.waitFor((e) => e.type === 'exited' && e.key === m.key && !e.info.restarting);
    const exits = ev.events.filter((e) => e.type === 'exited' && e.key === m.key);
    expect(exits.map((e) => e.type === 'exited' && [e.info.restarting, e.info.delayMs, e.info.restartCount])).toEqual([
      [true, 100, 0],
      [true, 200, 1],
      [false, 0, 2],
    ]);
    expect(last.type === 'exited' && last.info.exitCode).toBe(1);
    expect(ev.events.filter((e) => e.type === 'running' && e.key === m.key)).toHaveLength(3);
    await sup.remove(m.key);
    expect(countLeftovers([m.runcId])).toEqual([]);
  });

  it('contains a memory bomb and a fork bomb and says why they died', async () => {
    const ev = recordEvents();
    const sup = new Supervisor({ ...supervisorDefaults, home: fx.home, networkSettings: fx.networkSettings, resolvConf: fx.resolvConf, events: ev });
    const memory = meta('x=a; while :; do x="$x$x"; done', { resources: { memoryBytes: 32 * 1024 * 1024, pidsLimit: 64 } });
    const forks = meta('b() { b | b & }; b; sleep 1; exit 7', { resources: { memoryBytes: 256 * 1024 * 1024, pidsLimit: 32 } });
    const busy = meta('while :; do :; done', { resources: { cpus: 0.2, pidsLimit: 16 }, stopGraceMs: 200 });
    await sup.start(memory);
    await sup.start(forks);
    await sup.start(busy);
    const m = await ev.waitFor((e) => e.type === 'exited' && e.key === memory.key);
    expect(m.type === 'exited' && [m.info.exitCode, m.info.oomKilled, m.info.reason]).toEqual([137, true, 'out of memory (limit 32 MiB)']);
    const f = await ev.waitFor((e) => e.type === 'exited' && e.key === forks.key);
    expect(f.type === 'exited' && f.info.reason).toMatch(/^pids limit reached \(32 processes\)/);
    // The busy loop runs on its CPU quota; it is stopped like any other container.
    const usage = () => Number(readFileSync(`/sys/fs/cgroup/cpuacct/berth/${busy.runcId}/c/cpuacct.usage`, 'utf8'));
    const before = usage();
    await new Promise((r) => setTimeout(r, 1000));
    const used = (usage() - before) / 1e9;
    expect(used).toBeGreaterThan(0.05);
    expect(used).toBeLessThan(0.4);
    await sup.stop(busy.key);
    for (const x of [memory, forks, busy]) await sup.remove(x.key);
    expect(countLeftovers([memory.runcId, forks.runcId, busy.runcId])).toEqual([]);
  });

  it('runs health checks in the container and execs into it', async () => {
    const ev = recordEvents();
    const sup = new Supervisor({ ...supervisorDefaults, home: fx.home, networkSettings: fx.networkSettings, resolvConf: fx.resolvConf, events: ev });
    const m = meta('sleep 0.3; touch /tmp/ok; sleep 1.5; rm /tmp/ok; exec sleep 1000', {
      health: { probe: { kind: 'exec', argv: ['/bin/sh', '-c', 'test -f /tmp/ok'] }, intervalMs: 200, timeoutMs: 2000, startPeriodMs: 0, retries: 2 },
      stopGraceMs: 500,
    });
    const running = await sup.start(m);
    expect(running.health).toBe('starting');
    await ev.waitFor((e) => e.type === 'health' && e.status === 'healthy', 10_000);
    await ev.waitFor((e) => e.type === 'health' && e.status === 'unhealthy', 10_000);
    expect(ev.events.filter((e) => e.type === 'health').map((e) => e.type === 'health' && e.status)).toEqual(['healthy', 'unhealthy']);
    const r = await sup.exec(m.key, ['/bin/sh', '-c', 'id -u; echo $HOSTNAME; cat /proc/1/cmdline | tr "\\0" " "']);
    expect([r.code, r.stdout]).toEqual([0, '0\ntest\nsleep 1000 ']);
    const asUser = await sup.exec(m.key, ['id', '-u'], { user: { uid: 33, gid: 33 } });
    expect(asUser.stdout).toBe('33\n');
    await sup.remove(m.key);
    await expect(sup.exec(m.key, ['true'])).rejects.toThrow('it is not running here');
    expect(countLeftovers([m.runcId])).toEqual([]);
  });

  it('attaches over a unix socket: input reaches stdin, output comes back framed, the session ends with the container', async () => {
    const ev = recordEvents();
    const sup = new Supervisor({ ...supervisorDefaults, home: fx.home, networkSettings: fx.networkSettings, resolvConf: fx.resolvConf, events: ev });
    const m = meta('while read -r line; do [ "$line" = quit ] && exit 5; echo "got $line"; echo "err $line" >&2; done', { openStdin: true });
    await sup.start(m);
    const socketPath = join(fx.home, `attach-${m.runcId}.sock`);
    const server = await serveAttach(socketPath, sessionHandlers(sup));
    try {
      const s = openSession(socketPath, { containerId: m.key, stdin: true });
      s.client.write('hello\n');
      await s.until((o) => o.stderr.includes('err hello'));
      s.client.write('second\nquit\n');
      await s.closed;
      expect(s.out).toEqual({ head: 'ok', stdout: 'got hello\ngot second\n', stderr: 'err hello\nerr second\n', control: '' });
      const exited = await ev.waitFor((e) => e.type === 'exited' && e.key === m.key);
      expect(exited.type === 'exited' && exited.info.exitCode).toBe(5);
      const bad = openSession(socketPath, { containerId: '../x' });
      await bad.closed;
      expect(bad.out.head).toBe('error: Cannot attach: "containerId" must be a container id');
      const stopped = openSession(socketPath, { containerId: m.key });
      await stopped.closed;
      expect([stopped.out.head, stopped.out.control]).toEqual(['ok', `{"error":"Cannot attach to container \\"${m.key}\\": it is not running here"}`]);
    } finally {
      server.close();
      await sup.remove(m.key);
    }
    expect(countLeftovers([m.runcId])).toEqual([]);
  }, 30_000);

  it('attached before the start, reads all a quick container prints; a half-close ends its stdin', async () => {
    const ev = recordEvents();
    const sup = new Supervisor({ ...supervisorDefaults, home: fx.home, networkSettings: fx.networkSettings, resolvConf: fx.resolvConf, events: ev });
    const m = meta('echo first; wc -c; echo last', { openStdin: true, autoRemove: true });
    const socketPath = join(fx.home, `attach-${m.runcId}.sock`);
    const server = await serveAttach(socketPath, sessionHandlers(sup));
    try {
      const s = openSession(socketPath, { containerId: m.key, stdin: true, closeStdin: true, from: 'start' });
      await new Promise((r) => setTimeout(r, 50));
      await sup.start(m);
      s.client.end('12345');
      await s.closed;
      expect(s.out.stdout).toBe('first\n5\nlast\n');
      await ev.waitFor((e) => e.type === 'removed' && e.key === m.key);
    } finally {
      server.close();
    }
    expect(countLeftovers([m.runcId])).toEqual([]);
  }, 30_000);

  it('runs a container on a terminal: a tty, the size the client sets, exit code back', async () => {
    const ev = recordEvents();
    const sup = new Supervisor({ ...supervisorDefaults, home: fx.home, networkSettings: fx.networkSettings, resolvConf: fx.resolvConf, events: ev });
    const base = meta('');
    const m: ContainerMeta = { ...base, openStdin: true, plan: buildContainerPlan({ Cmd: ['/bin/sh'] }, { tty: true }, {}, 'test') };
    const socketPath = join(fx.home, `attach-${m.runcId}.sock`);
    const server = await serveAttach(socketPath, sessionHandlers(sup));
    try {
      await sup.start(m);
      const s = openSession(socketPath, { containerId: m.key, stdin: true });
      const resized = openSession(socketPath, { kind: 'resize', containerId: m.key, rows: 33, cols: 101 });
      await resized.closed;
      expect(resized.out.head).toBe('ok');
      s.client.write('tty; stty size; echo "$TERM"\n');
      await s.until((o) => o.stdout.includes('33 101'));
      const ex = openSession(socketPath, { kind: 'exec', containerId: m.key, execId: m.key, argv: ['sh', '-c', 'tty; exit 4'], tty: true, rows: 20, cols: 60 });
      await ex.closed;
      expect(ex.out.stdout).toMatch(/^\/dev\/pts\/\d+\r\n$/);
      expect(JSON.parse(ex.out.control)).toEqual({ exitCode: 4 });
      const piped = openSession(socketPath, { kind: 'exec', containerId: m.key, execId: m.key, argv: ['sh', '-c', 'cat; echo done >&2'], stdin: true });
      piped.client.end('through stdin');
      await piped.closed;
      expect([piped.out.stdout, piped.out.stderr, piped.out.control]).toEqual(['through stdin', 'done\n', '{"exitCode":0}']);
      s.client.write('exit 3\n');
      await s.closed;
      expect(s.out.stdout).toContain('/dev/pts/0\r\n33 101\r\nxterm\r\n');
      const exited = await ev.waitFor((e) => e.type === 'exited' && e.key === m.key);
      expect(exited.type === 'exited' && exited.info.exitCode).toBe(3);
    } finally {
      server.close();
      await sup.remove(m.key);
    }
    expect(countLeftovers([m.runcId])).toEqual([]);
  }, 30_000);

  it('kills a container that fills its filesystem past the cap, saying why', async () => {
    const ev = recordEvents();
    const sup = new Supervisor({ ...supervisorDefaults, home: fx.home, networkSettings: fx.networkSettings, resolvConf: fx.resolvConf, events: ev, diskLimitBytes: 20 * 1024 * 1024 });
    const m = meta('yes > /filler');
    await sup.start(m);
    const exited = await ev.waitFor((e) => e.type === 'exited' && e.key === m.key, 20_000);
    expect(exited.type === 'exited' && exited.info.reason).toMatch(/^killed: it wrote \d+\.\d\d GiB to its filesystem, more than its 0\.02 GiB$/);
    await sup.remove(m.key);
    expect(countLeftovers([m.runcId])).toEqual([]);
  }, 30_000);

  it('removes a --rm container once it exits, leaving nothing', async () => {
    const ev = recordEvents();
    const sup = new Supervisor({ ...supervisorDefaults, home: fx.home, networkSettings: fx.networkSettings, resolvConf: fx.resolvConf, events: ev });
    const m = meta('echo bye', { autoRemove: true, restartPolicy: 'no' });
    await sup.start(m);
    await ev.waitFor((e) => e.type === 'removed' && e.key === m.key);
    expect(ev.events.filter((e) => e.key === m.key).map((e) => e.type)).toEqual(['running', 'exited', 'removed']);
    expect(sup.has(m.key)).toBe(false);
    expect((ev.logs.get(m.key) ?? []).map((l) => l.line)).toEqual(['bye']);
    expect(countLeftovers([m.runcId])).toEqual([]);
  });
});
