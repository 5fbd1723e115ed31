import { mkdtempSync, appendFileSync, writeFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildContainerMeta, fromPortMappings, toPortMappings } from '../../../runner/container/container-service';
import { buildDeploymentContainers, judgeReadiness, toHealthPlan } from '../../../runner/container/deploy';
import { applyProbeResult } from '../../../runner/container/health';
import { LogTail, nextHoleEnd, splitLines, type LogLineOut } from '../../../runner/container/log-tail';
import { formatRestartPolicy, nextRestartDelay, parseRestartPolicy, shouldRestart } from '../../../runner/container/restart-policy';
import { buildShimArgv, SHIM_SCRIPT } from '../../../runner/container/shim';
import { buildExecArgv } from '../../../runner/container/supervisor';
import { runcIdFor } from '../../../runner/container/container-files';
import { readAppConfig } from '../../../functions/api/app-config';
import { findStrayRules } from '../../../runner/container/stray-rules';
import type { Container } from '../../../db/schema';

const runc = { binary: 'runc', root: '/run/berth/runc' };

describe('restart policies', () => {
  it('parses Docker forms and refuses others', () => {
    expect(['', 'no', 'always', 'unless-stopped', 'on-failure', 'on-failure:3'].map(parseRestartPolicy)).toEqual([
      { name: 'no' },
      { name: 'no' },
      { name: 'always' },
      { name: 'unless-stopped' },
      { name: 'on-failure' },
      { name: 'on-failure', maxRetries: 3 },
    ]);
    expect(formatRestartPolicy({ name: 'on-failure', maxRetries: 3 })).toBe('on-failure:3');
    expect(() => parseRestartPolicy('sometimes')).toThrow('Cannot use restart policy "sometimes"');
    expect(() => parseRestartPolicy('on-failure:-1')).toThrow('on-failure[:N]');
  });

  it('decides restarts like Docker', () => {
    const fail = { exitCode: 1, stoppedByRequest: false };
    const ok = { exitCode: 0, stoppedByRequest: false };
    const stopped = { exitCode: 137, stoppedByRequest: true };
    const p = parseRestartPolicy;
    expect([shouldRestart(p('no'), fail, 0), shouldRestart(p('always'), ok, 9), shouldRestart(p('unless-stopped'), fail, 0)]).toEqual([false, true, true]);
    expect([shouldRestart(p('on-failure'), ok, 0), shouldRestart(p('on-failure'), fail, 100), shouldRestart(p('on-failure:2'), fail, 1), shouldRestart(p('on-failure:2'), fail, 2)]).toEqual([
      false,
      true,
      true,
      false,
    ]);
    expect([shouldRestart(p('always'), stopped, 0), shouldRestart(p('unless-stopped'), stopped, 0)]).toEqual([false, false]);
  });

  it('backs off from 100 ms doubling to a minute, reset by a long run', () => {
    const delays: number[] = [];
    let d = 0;
    for (let i = 0; i < 12; i++) delays.push((d = nextRestartDelay(d, 50)));
    expect(delays).toEqual([100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 60000, 60000]);
    expect(nextRestartDelay(60000, 10_000)).toBe(100);
  });
});

describe('health', () => {
  it('follows Docker: starting until a success, start period forgiven, retries before unhealthy', () => {
    let s = { status: 'starting' as const, failingStreak: 0 } as ReturnType<typeof applyProbeResult>;
    s = applyProbeResult(s, false, true, 2);
    expect(s).toEqual({ status: 'starting', failingStreak: 0 });
    s = applyProbeResult(s, false, false, 2);
    expect(s).toEqual({ status: 'starting', failingStreak: 1 });
    s = applyProbeResult(s, false, false, 2);
    expect(s).toEqual({ status: 'unhealthy', failingStreak: 2 });
    s = applyProbeResult(s, true, false, 2);
    expect(s).toEqual({ status: 'healthy', failingStreak: 0 });
    expect(applyProbeResult(s, false, true, 2)).toEqual({ status: 'healthy', failingStreak: 1 });
  });
});

describe('logs', () => {
  it('splits lines, strips CR and cuts overlong ones', () => {
    expect(splitLines('a\r\nb\nrest')).toEqual({ lines: ['a', 'b'], rest: 'rest' });
    const long = 'x'.repeat(16 * 1024 + 5);
    expect(splitLines(`${long}\n`).lines.map((l) => l.length)).toEqual([16 * 1024, 5]);
  });

  it('gives the disk blocks of delivered output back while offsets stay valid, and remembers it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-logtail-'));
    try {
      const files = { stdout: join(dir, 'out'), stderr: join(dir, 'err') };
      const line = `${'x'.repeat(1023)}\n`;
      writeFileSync(files.stdout, line.repeat(3 * 1024)); // 3 MiB
      writeFileSync(files.stderr, '');
      let delivered = 0;
      const tail = new LogTail({ files, offsetsFile: join(dir, 'offsets'), deliver: async (l) => void (delivered += l.length), reclaimBytes: 1024 * 1024 });
      await tail.poll();
      expect(delivered).toBe(3 * 1024);
      expect(statSync(files.stdout).size).toBe(3 * 1024 * 1024);
      expect(statSync(files.stdout).blocks * 512).toBeLessThan(64 * 1024); // a hole where the data was
      expect(tail.holes).toEqual({ stdout: 3 * 1024 * 1024, stderr: 0 });
      appendFileSync(files.stdout, 'after the hole\n');
      const again: LogLineOut[] = [];
      const tail2 = new LogTail({ files, offsetsFile: join(dir, 'offsets'), deliver: async (l) => void again.push(...l) });
      await tail2.start();
      await tail2.stop();
      expect(again.map((l) => l.line)).toEqual(['after the hole']);
      expect(tail2.holes.stdout).toBe(3 * 1024 * 1024);
      expect(nextHoleEnd(5000, 0, 4096)).toBe(4096);
      expect(nextHoleEnd(5000, 4096, 4096)).toBeUndefined();
      expect(nextHoleEnd(1 << 30, 0, 0)).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('tails files and resumes after the last delivered line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-logtail-'));
    try {
      const files = { stdout: join(dir, 'out'), stderr: join(dir, 'err') };
      writeFileSync(files.stdout, 'one\ntwo\npart');
      writeFileSync(files.stderr, 'e1\n');
      const got: LogLineOut[] = [];
      const tail = new LogTail({ files, offsetsFile: join(dir, 'offsets'), deliver: async (l) => void got.push(...l) });
      await tail.poll();
      expect(got.map((l) => `${l.stream}:${l.line}`)).toEqual(['stdout:one', 'stdout:two', 'stderr:e1']);
      appendFileSync(files.stdout, 'ial\nthree\n');
      // A new tail (a restarted runner) reads from the saved offsets: nothing twice, nothing lost.
      const again: LogLineOut[] = [];
      const tail2 = new LogTail({ files, offsetsFile: join(dir, 'offsets'), deliver: async (l) => void again.push(...l) });
      await tail2.start();
      await tail2.stop();
      expect(again.map((l) => l.line)).toEqual(['partial', 'three']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('argv', () => {
  it('runs runc in the foreground under a detached shell that records the exit status', () => {
    expect(buildShimArgv(runc, 'berth-abc', { bundle: '/b', runcLog: '/b/runc.log', exitFile: '/s/exit', stdout: '/s/o', stderr: '/s/e' })).toEqual([
      '/bin/sh',
      '-c',
      SHIM_SCRIPT,
      'berth-shim',
      '/s/exit',
      '',
      '',
      'runc', '--root', '/run/berth/runc', '--log', '/b/runc.log', '--log-format', 'json', 'run', '--bundle', '/b', 'berth-abc',
    ]);
  });

  it('refuses a terminal without a stdin FIFO, and a path its quoting cannot carry', () => {
    const paths = { bundle: '/b', runcLog: '/b/runc.log', exitFile: '/s/exit', stdout: '/s/o', stderr: '/s/e' };
    expect(() => buildShimArgv(runc, 'berth-abc', { ...paths, terminal: true })).toThrow('it needs a stdin FIFO');
    expect(() => buildShimArgv(runc, 'berth-abc', { ...paths, bundle: "/it's", stdin: '/s/in', terminal: true })).toThrow('a path contains a quote');
    expect(buildShimArgv(runc, 'berth-abc', { ...paths, stdin: '/s/in', terminal: true }).slice(4, 7)).toEqual(['/s/exit', '/s/in', 'tty']);
  });

  it('execs as the container user unless told otherwise', () => {
    const meta = { runcId: 'berth-abc', plan: { uid: 33, gid: 33, cwd: '/srv' } } as Parameters<typeof buildExecArgv>[1];
    expect(buildExecArgv(runc, meta, ['nginx', '-t'], {})).toEqual(['runc', '--root', '/run/berth/runc', 'exec', '--user', '33:33', '--cwd', '/srv', 'berth-abc', 'nginx', '-t']);
    expect(buildExecArgv(runc, meta, ['env'], { user: { uid: 0, gid: 0 }, cwd: '/', env: ['A=1'] })).toEqual([
      'runc', '--root', '/run/berth/runc', 'exec', '--user', '0:0', '--cwd', '/', '--env', 'A=1', 'berth-abc', 'env',
    ]);
    expect(buildExecArgv(runc, meta, ['sh'], { tty: true })).toEqual(['runc', '--root', '/run/berth/runc', 'exec', '--user', '33:33', '--cwd', '/srv', '--tty', 'berth-abc', 'sh']);
  });

  it('names runc containers from the row id and refuses anything else', () => {
    expect(runcIdFor('ab'.repeat(32))).toBe(`berth-${'ab'.repeat(12)}`);
    expect(() => runcIdFor('../etc')).toThrow('Cannot name container "../etc"');
  });
});

describe('rows to containers', () => {
  const image = { manifestDigest: 'sha256:x', config: { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers' as const, diff_ids: [] }, config: { Cmd: ['app'], Env: ['A=1'] } }, lowerDirs: ['/l/0'], diffIds: [], files: {} };

  it('maps ports both ways: no host port is ephemeral, 0.0.0.0 is every address', () => {
    const ports = toPortMappings([
      { hostIp: '0.0.0.0', hostPort: null, containerPort: 80, protocol: 'tcp' },
      { hostIp: '127.0.0.1', hostPort: 8443, containerPort: 443, protocol: 'tcp' },
      { containerPort: 53, protocol: 'udp' },
    ]);
    expect(ports).toEqual([
      { hostIp: '', hostPort: 0, containerPort: 80, protocol: 'tcp' },
      { hostIp: '127.0.0.1', hostPort: 8443, containerPort: 443, protocol: 'tcp' },
      { hostIp: '', hostPort: 0, containerPort: 53, protocol: 'udp' },
    ]);
    expect(fromPortMappings([{ hostIp: '', hostPort: 3000, containerPort: 80, protocol: 'tcp' }])).toEqual([{ hostIp: '0.0.0.0', hostPort: 3000, containerPort: 80, protocol: 'tcp' }]);
    expect(() => toPortMappings([{ containerPort: 0 }])).toThrow('Cannot publish container port "0"');
  });

  it('turns a row and its image into the supervisor description', () => {
    const row = {
      id: 'c'.repeat(64),
      spec: { cmd: ['app', '--flag'], env: { B: '2' }, memoryMb: 64, cpus: 0.5 },
      ports: [],
      restartPolicy: 'on-failure:3',
      autoRemove: true,
      restartCount: 2,
    } as unknown as Container;
    const meta = buildContainerMeta(row, image, 512);
    expect({ ...meta, plan: { args: meta.plan.args, env: meta.plan.env } }).toEqual({
      key: 'c'.repeat(64),
      runcId: `berth-${'c'.repeat(24)}`,
      lowerDirs: ['/l/0'],
      diffIds: [],
      plan: { args: ['app', '--flag'], env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', `HOSTNAME=${'c'.repeat(12)}`, 'HOME=/', 'A=1', 'B=2'] },
      ports: [],
      resources: { pidsLimit: 512, memoryBytes: 64 * 1024 * 1024, cpus: 0.5 },
      restartPolicy: 'on-failure:3',
      autoRemove: true,
      stopGraceMs: 10_000,
      restartCount: 2,
    });
  });
});

describe('deployments', () => {
  it('builds N containers from the frozen config, secrets over env', () => {
    const config = readAppConfig({ instances: 2, ports: [{ containerPort: 8080 }], env: { A: '1', S: 'plain' }, healthCheck: { type: 'http', path: '/health' }, restartPolicy: 'always' });
    const rows = buildDeploymentContainers('web', 7, 'reg/web:1', 'sha256:m', config, { S: 'secret' });
    expect(rows).toEqual(
      [1, 2].map((i) => ({
        name: `web-7-${i}`,
        imageRef: 'reg/web:1',
        manifestDigest: 'sha256:m',
        spec: { env: { A: '1', S: 'secret' }, memoryMb: 512, cpus: 1, health: { probe: { kind: 'http', port: 8080, path: '/health' }, intervalMs: 30_000, timeoutMs: 5000, startPeriodMs: 5000, retries: 3 } },
        ports: [{ hostIp: '0.0.0.0', hostPort: null, containerPort: 8080, protocol: 'tcp' }],
        restartPolicy: 'always',
        autoRemove: false,
      })),
    );
    expect(toHealthPlan(readAppConfig({ healthCheck: { type: 'command', command: ['true'] } }).healthCheck, undefined)?.probe).toEqual({ kind: 'exec', argv: ['true'] });
    expect(() => toHealthPlan(readAppConfig({ healthCheck: { type: 'tcp' } }).healthCheck, undefined)).toThrow('no port given');
  });

  it('is ready only when every container runs and is healthy where checked; never while one is failing', () => {
    const c = (status: Container['status'], health: string | null, restartPolicy = 'no') => ({ name: 'x', status, health, exitReason: 'boom', restartPolicy });
    expect(judgeReadiness([c('running', null), c('running', null)], false)).toBe('ready');
    expect(judgeReadiness([c('running', null), c('starting', null)], false)).toBe('waiting');
    expect(judgeReadiness([c('running', 'starting')], false)).toBe('waiting');
    expect(judgeReadiness([c('running', 'healthy')], true)).toBe('ready');
    expect(judgeReadiness([c('running', null)], true)).toBe('waiting');
    expect(judgeReadiness([c('running', 'unhealthy')], true)).toEqual({ failed: 'container x is unhealthy' });
    expect(judgeReadiness([c('exited', null, 'on-failure')], false)).toEqual({ failed: 'container x exited: boom' });
    expect(judgeReadiness([c('exited', null, 'always')], false)).toBe('waiting');
    expect(judgeReadiness([c('dead', null)], false)).toEqual({ failed: 'container x dead: boom' });
  });
});

describe('stray iptables rules', () => {
  it('finds the rules tagged with one container id and the chains they jump to', () => {
    const save = [
      '-N CNI-DN-25f371c62e0df04ac65e3',
      '-A CNI-DN-25f371c62e0df04ac65e3 -p tcp -m tcp --dport 46781 -j DNAT --to-destination 10.214.0.3:80',
      '-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"berth\\" id: \\"berth-aa\\"" -m multiport --dports 46781 -j CNI-DN-25f371c62e0df04ac65e3',
      '-A POSTROUTING -s 10.214.0.9/32 -m comment --comment "name: \\"berth\\" id: \\"berth-aa\\"" -j CNI-3ee9487d2fa46ac0b0448922',
      '-A POSTROUTING -s 10.214.0.7/32 -m comment --comment "name: \\"berth\\" id: \\"berth-aab\\"" -j CNI-0000487d2fa46ac0b0448922',
    ].join('\n');
    expect(findStrayRules(save, 'berth-aa')).toEqual({
      deletes: [
        ['CNI-HOSTPORT-DNAT', '-p', 'tcp', '-m', 'comment', '--comment', 'dnat name: "berth" id: "berth-aa"', '-m', 'multiport', '--dports', '46781', '-j', 'CNI-DN-25f371c62e0df04ac65e3'],
        ['POSTROUTING', '-s', '10.214.0.9/32', '-m', 'comment', '--comment', 'name: "berth" id: "berth-aa"', '-j', 'CNI-3ee9487d2fa46ac0b0448922'],
      ],
      chains: ['CNI-DN-25f371c62e0df04ac65e3', 'CNI-3ee9487d2fa46ac0b0448922'],
    });
  });
});
