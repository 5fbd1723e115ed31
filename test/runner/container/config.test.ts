import { describe, expect, it } from 'vitest';
import { buildContainerPlan, mergeEnv, parseStopSignal, DEFAULT_PATH } from '../../../runner/container/config';
import { parseGroup, parsePasswd, resolveImageUser } from '../../../runner/container/image-user';

const passwd = [
  'root:x:0:0:root:/root:/bin/bash',
  'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin',
  '# comment',
  'broken line',
  'www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin',
  'app:x:1000:1000::/home/app:/bin/sh',
  'nohome:x:1001:1001:::/bin/sh',
].join('\n');
const group = ['root:x:0:', 'daemon:x:1:', 'www-data:x:33:', 'adm:x:4:app,daemon', 'app:x:1000:', 'staff:x:50:app', 'bad:x:zz:'].join('\n');
const files = { passwd, group };

describe('image users', () => {
  it('parses passwd and group, skipping malformed lines', () => {
    expect(parsePasswd(passwd).map((p) => p.name)).toEqual(['root', 'daemon', 'www-data', 'app', 'nohome']);
    expect(parseGroup(group)).toEqual([
      { name: 'root', gid: 0, members: [] },
      { name: 'daemon', gid: 1, members: [] },
      { name: 'www-data', gid: 33, members: [] },
      { name: 'adm', gid: 4, members: ['app', 'daemon'] },
      { name: 'app', gid: 1000, members: [] },
      { name: 'staff', gid: 50, members: ['app'] },
    ]);
  });

  it('resolves names, numbers and user:group the way runc does', () => {
    expect(resolveImageUser('', files)).toEqual({ uid: 0, gid: 0, additionalGids: [0], home: '/root' });
    expect(resolveImageUser('app', files)).toEqual({ uid: 1000, gid: 1000, additionalGids: [4, 1000, 50], home: '/home/app' });
    expect(resolveImageUser('1000', files)).toEqual({ uid: 1000, gid: 1000, additionalGids: [4, 1000, 50], home: '/home/app' });
    expect(resolveImageUser('app:staff', files)).toEqual({ uid: 1000, gid: 50, additionalGids: [], home: '/home/app' });
    expect(resolveImageUser('www-data:7', files)).toEqual({ uid: 33, gid: 7, additionalGids: [], home: '/var/www' });
    // A uid absent from passwd runs with gid 0 and HOME=/.
    expect(resolveImageUser('4242', files)).toEqual({ uid: 4242, gid: 0, additionalGids: [0], home: '/' });
    expect(resolveImageUser('4242:4242', {})).toEqual({ uid: 4242, gid: 4242, additionalGids: [], home: '/' });
    expect(resolveImageUser('nohome', files)).toEqual({ uid: 1001, gid: 1001, additionalGids: [], home: '/' });
  });

  it('refuses unknown names and malformed values', () => {
    expect(() => resolveImageUser('ghost', files)).toThrow('Cannot resolve user "ghost": no user "ghost" in the image\'s /etc/passwd');
    expect(() => resolveImageUser('app:ghosts', files)).toThrow('no group "ghosts"');
    expect(() => resolveImageUser('a:b:c', files)).toThrow('expected user[:group]');
    expect(() => resolveImageUser('app:', files)).toThrow('the group after ":" is empty');
  });
});

describe('buildContainerPlan', () => {
  const image = {
    Entrypoint: ['/docker-entrypoint.sh'],
    Cmd: ['nginx', '-g', 'daemon off;'],
    Env: ['PATH=/opt/bin:/usr/bin', 'NGINX_VERSION=1.25'],
    WorkingDir: '/srv',
    User: 'www-data',
    StopSignal: 'SIGQUIT',
    ExposedPorts: { '80/tcp': {}, '443/tcp': {}, '53/udp': {} },
  };

  it('joins entrypoint and cmd and carries the image config over', () => {
    expect(buildContainerPlan(image, {}, files, 'web-1')).toEqual({
      args: ['/docker-entrypoint.sh', 'nginx', '-g', 'daemon off;'],
      env: ['HOSTNAME=web-1', 'HOME=/var/www', 'PATH=/opt/bin:/usr/bin', 'NGINX_VERSION=1.25'],
      cwd: '/srv',
      uid: 33,
      gid: 33,
      additionalGids: [33],
      terminal: false,
      hostname: 'web-1',
      stopSignal: 'SIGQUIT',
      exposedPorts: [
        { port: 53, protocol: 'udp' },
        { port: 80, protocol: 'tcp' },
        { port: 443, protocol: 'tcp' },
      ],
    });
  });

  it('resets CMD when the entrypoint is overridden, and clears it when empty', () => {
    expect(buildContainerPlan(image, { entrypoint: ['/bin/sh'] }, files, 'h').args).toEqual(['/bin/sh']);
    expect(buildContainerPlan(image, { entrypoint: ['/bin/sh'], cmd: ['-c', 'id'] }, files, 'h').args).toEqual(['/bin/sh', '-c', 'id']);
    expect(buildContainerPlan(image, { entrypoint: [''], cmd: ['id'] }, files, 'h').args).toEqual(['id']);
    expect(buildContainerPlan(image, { entrypoint: [], cmd: ['id'] }, files, 'h').args).toEqual(['id']);
    expect(buildContainerPlan(image, { cmd: ['nginx', '-t'] }, files, 'h').args).toEqual(['/docker-entrypoint.sh', 'nginx', '-t']);
    expect(() => buildContainerPlan(image, { entrypoint: [] }, files, 'h')).toThrow('no command specified');
    expect(() => buildContainerPlan(undefined, {}, files, 'h')).toThrow('no command specified');
  });

  it('merges env in order, defaults PATH, HOME and TERM, and applies the other overrides', () => {
    const plan = buildContainerPlan(
      { Cmd: ['bash'], Env: ['A=1', 'B=2'] },
      { env: { B: 'x', C: '3=3' }, user: 'app:staff', workdir: '/tmp', tty: true, hostname: 'box' },
      files,
      'ignored',
    );
    expect(plan.env).toEqual([DEFAULT_PATH, 'HOSTNAME=box', 'TERM=xterm', 'HOME=/home/app', 'A=1', 'B=x', 'C=3=3']);
    expect([plan.uid, plan.gid, plan.additionalGids, plan.cwd, plan.terminal, plan.hostname]).toEqual([1000, 50, [], '/tmp', true, 'box']);
    expect(mergeEnv(['A=1', 'A=2'], ['A=3', 'ONLYNAME', 'D='])).toEqual(['A=3', 'D=']);
    expect(() => mergeEnv([], ['=x'])).toThrow('Cannot set environment "=x"');
  });

  it('defaults the working dir to / and roots a relative image WORKDIR', () => {
    expect(buildContainerPlan({ Cmd: ['x'] }, {}, {}, 'h').cwd).toBe('/');
    expect(buildContainerPlan({ Cmd: ['x'], WorkingDir: 'app' }, {}, {}, 'h').cwd).toBe('/app');
    expect(() => buildContainerPlan({ Cmd: ['x'] }, { workdir: 'rel' }, {}, 'h')).toThrow('Cannot use working directory "rel"');
    expect(() => buildContainerPlan({ Cmd: ['x'] }, { hostname: 'bad host' }, {}, 'h')).toThrow('Cannot use hostname "bad host"');
  });

  it('turns HEALTHCHECK into a probe with Docker defaults', () => {
    const s = 1_000_000_000;
    expect(buildContainerPlan({ Cmd: ['x'], Healthcheck: { Test: ['CMD-SHELL', 'curl -f localhost || exit 1'], Interval: 5 * s, Retries: 2 } }, {}, {}, 'h').health).toEqual({
      probe: { kind: 'exec', argv: ['/bin/sh', '-c', 'curl -f localhost || exit 1'] },
      intervalMs: 5000,
      timeoutMs: 30000,
      startPeriodMs: 0,
      retries: 2,
    });
    expect(buildContainerPlan({ Cmd: ['x'], Healthcheck: { Test: ['CMD', 'true'], StartPeriod: s / 2 } }, {}, {}, 'h').health?.probe).toEqual({ kind: 'exec', argv: ['true'] });
    expect(buildContainerPlan({ Cmd: ['x'], Healthcheck: { Test: ['NONE'] } }, {}, {}, 'h').health).toBeUndefined();
    expect(() => buildContainerPlan({ Cmd: ['x'], Healthcheck: { Test: ['SHELL', 'x'] } }, {}, {}, 'h')).toThrow('Cannot use health check');
  });

  it('normalises stop signals and refuses unknown ones', () => {
    expect(['TERM', 'SIGTERM', '15', 'quit', 'SIGRTMIN+3', '40'].map(parseStopSignal)).toEqual(['SIGTERM', 'SIGTERM', 'SIGTERM', 'SIGQUIT', 'SIGRTMIN+3', '40']);
    expect(() => parseStopSignal('BOGUS')).toThrow('Cannot use stop signal "BOGUS"');
    expect(() => buildContainerPlan({ Cmd: ['x'], ExposedPorts: { 'http/tcp': {} } }, {}, {}, 'h')).toThrow('Cannot read exposed port "http/tcp"');
  });
});
