import { describe, expect, it } from 'vitest';
import {
  buildCreateArgv, buildDeleteArgv, buildKillArgv, buildListArgv, buildRunArgv, buildStartArgv, buildStateArgv, createContainerId, isBerthContainerId,
  type Runc,
} from '../../../runner/sandbox/runc';
import { buildHostGuardRule, buildIsolatePortArgv, buildMasqueradeRule, buildNeighbourFlushArgv, buildNeighbourGuardRule, buildNetnsAttachArgv, buildNetnsDeleteArgv } from '../../../runner/sandbox/network';

const runc: Runc = { binary: '/usr/sbin/runc', root: '/run/berth/runc' };

describe('runc argv', () => {
  it('builds each command under Berth state root', () => {
    expect(buildRunArgv(runc, 'berth-a1', '/h/b', '/h/b/runc.log')).toEqual([
      '/usr/sbin/runc', '--root', '/run/berth/runc', '--log', '/h/b/runc.log', '--log-format', 'json', 'run', '--bundle', '/h/b', 'berth-a1',
    ]);
    expect(buildRunArgv(runc, 'berth-a1', '/h/b', '/h/b/runc.log', { keep: true, pidFile: '/h/b/init.pid' })).toEqual([
      '/usr/sbin/runc', '--root', '/run/berth/runc', '--log', '/h/b/runc.log', '--log-format', 'json', 'run', '--keep', '--pid-file', '/h/b/init.pid', '--bundle', '/h/b', 'berth-a1',
    ]);
    expect(buildCreateArgv(runc, 'berth-a1', '/h/b', '/h/b/pid', '/h/b/log')).toEqual([
      '/usr/sbin/runc', '--root', '/run/berth/runc', '--log', '/h/b/log', '--log-format', 'json', 'create', '--bundle', '/h/b', '--pid-file', '/h/b/pid', 'berth-a1',
    ]);
    expect(buildStartArgv(runc, 'berth-a1')).toEqual(['/usr/sbin/runc', '--root', '/run/berth/runc', 'start', 'berth-a1']);
    expect(buildKillArgv(runc, 'berth-a1', 'SIGTERM')).toEqual(['/usr/sbin/runc', '--root', '/run/berth/runc', 'kill', 'berth-a1', 'SIGTERM']);
    expect(buildKillArgv(runc, 'berth-a1', 'KILL', true)).toEqual(['/usr/sbin/runc', '--root', '/run/berth/runc', 'kill', '--all', 'berth-a1', 'KILL']);
    expect(buildDeleteArgv(runc, 'berth-a1', true)).toEqual(['/usr/sbin/runc', '--root', '/run/berth/runc', 'delete', '--force', 'berth-a1']);
    expect(buildStateArgv(runc, 'berth-a1')).toEqual(['/usr/sbin/runc', '--root', '/run/berth/runc', 'state', 'berth-a1']);
    expect(buildListArgv(runc)).toEqual(['/usr/sbin/runc', '--root', '/run/berth/runc', 'list', '--format', 'json']);
  });

  it('refuses ids and signals that are not ours or not signals', () => {
    expect(() => buildStartArgv(runc, '--all')).toThrow('Cannot address container "--all"');
    expect(() => buildStartArgv(runc, 'other-1')).toThrow('not a Berth container id');
    expect(() => buildKillArgv(runc, 'berth-a1', 'TERM; rm')).toThrow('Cannot send signal "TERM; rm"');
  });

  it('makes unique recognisable ids', () => {
    const ids = new Set(Array.from({ length: 100 }, () => createContainerId()));
    expect(ids.size).toBe(100);
    for (const id of ids) expect(isBerthContainerId(id)).toBe(true);
  });

  it('pins and removes network namespaces with ip netns', () => {
    expect(buildNetnsAttachArgv('berth-a1', 42)).toEqual(['ip', 'netns', 'attach', 'berth-a1', '42']);
    expect(buildNetnsDeleteArgv('berth-a1')).toEqual(['ip', 'netns', 'delete', 'berth-a1']);
    expect(buildNeighbourFlushArgv('10.213.0.9', 'berth0')).toEqual(['ip', 'neigh', 'flush', 'to', '10.213.0.9/32', 'dev', 'berth0']);
  });

  it('guards the runner and the neighbours with iptables rules and port isolation', () => {
    expect(buildHostGuardRule('berth0')).toEqual([
      'INPUT', '-i', 'berth0', '-m', 'conntrack', '--ctstate', 'NEW,INVALID', '-m', 'comment', '--comment', 'berth: containers may not connect to the runner', '-j', 'DROP',
    ]);
    expect(buildNeighbourGuardRule('berth0')).toEqual([
      'FORWARD', '-i', 'berth0', '-o', 'berth0', '-m', 'conntrack', '!', '--ctstate', 'DNAT', '-m', 'comment',
      '--comment', 'berth: containers reach each other only through published ports', '-j', 'DROP',
    ]);
    expect(buildMasqueradeRule({ cniPath: '/usr/lib/cni', bridge: 'berth0', subnet: '10.213.0.0/16', stateDir: '/h/cni' })).toEqual([
      'POSTROUTING', '-s', '10.213.0.0/16', '!', '-d', '10.213.0.0/16', '-m', 'addrtype', '!', '--dst-type', 'MULTICAST',
      '-m', 'comment', '--comment', 'berth: outbound NAT for berth0', '-j', 'MASQUERADE',
    ]);
    expect(buildIsolatePortArgv('veth1234')).toEqual(['ip', 'link', 'set', 'dev', 'veth1234', 'type', 'bridge_slave', 'isolated', 'on']);
  });
});
