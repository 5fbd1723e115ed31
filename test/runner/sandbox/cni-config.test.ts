import { describe, expect, it } from 'vitest';
import {
  buildDefaultNetworkSettings, buildBridgeConfig, buildCniEnv, buildHostsFile, buildLoopbackConfig, buildPortmapConfig, buildResolvConf, parsePortMapping, type NetworkSettings,
} from '../../../runner/sandbox/cni-config';

const settings: NetworkSettings = { cniPath: '/usr/lib/cni', bridge: 'berth0', subnet: '10.213.0.0/16', stateDir: '/var/lib/berth/runner/cni', ipamDir: '/run/berth/cni/ipam' };

describe('parsePortMapping', () => {
  it.each([
    ['80', { hostIp: '', hostPort: 0, containerPort: 80, protocol: 'tcp' }],
    ['8080:80', { hostIp: '', hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
    ['127.0.0.1:8443:443/tcp', { hostIp: '127.0.0.1', hostPort: 8443, containerPort: 443, protocol: 'tcp' }],
    ['127.0.0.1::53/udp', { hostIp: '127.0.0.1', hostPort: 0, containerPort: 53, protocol: 'udp' }],
    ['0:80', { hostIp: '', hostPort: 0, containerPort: 80, protocol: 'tcp' }],
    ['[::1]:8080:80', { hostIp: '::1', hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
  ])('parses %s', (text, expected) => {
    expect(parsePortMapping(text)).toEqual(expected);
  });

  it.each([
    ['80/sctp', 'protocol "sctp"'],
    ['70000', 'container port "70000"'],
    ['0', 'container port "0"'],
    ['abc:80', 'host port "abc"'],
    ['host:1:2', 'host address "host"'],
    ['1:2:3:4', 'expected [hostIp:][hostPort:]containerPort'],
    ['', 'container port ""'],
  ])('refuses %s', (text, message) => {
    expect(() => parsePortMapping(text)).toThrow(message);
  });
});

describe('CNI plugin configs', () => {
  it('builds loopback, bridge with NAT and host-local state under the runner home', () => {
    expect(buildLoopbackConfig()).toEqual({ cniVersion: '1.0.0', name: 'berth-lo', type: 'loopback' });
    expect(buildBridgeConfig(settings)).toEqual({
      cniVersion: '1.0.0',
      name: 'berth',
      type: 'bridge',
      bridge: 'berth0',
      isGateway: true,
      ipMasq: false,
      hairpinMode: true,
      ipam: {
        type: 'host-local',
        ranges: [[{ subnet: '10.213.0.0/16' }]],
        routes: [{ dst: '0.0.0.0/0' }],
        dataDir: '/run/berth/cni/ipam',
      },
    });
  });

  it('lets the plugin masquerade only for attachments made when it did', () => {
    expect(buildBridgeConfig(settings, { ipMasq: true }).ipMasq).toBe(true);
  });

  it('builds portmap with every mapping and the previous result', () => {
    const prev = { ips: [{ address: '10.213.0.2/16' }] };
    expect(
      buildPortmapConfig(
        [
          { hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'tcp' },
          { hostIp: '', hostPort: 8443, containerPort: 443, protocol: 'tcp' },
        ],
        prev,
      ),
    ).toEqual({
      cniVersion: '1.0.0',
      name: 'berth',
      type: 'portmap',
      capabilities: { portMappings: true },
      snat: true,
      runtimeConfig: {
        portMappings: [
          { hostPort: 8080, containerPort: 80, protocol: 'tcp', hostIP: '127.0.0.1' },
          { hostPort: 8443, containerPort: 443, protocol: 'tcp', hostIP: '' },
        ],
      },
      prevResult: prev,
    });
  });

  it('allocates addresses machine-wide when no IPAM dir is given', () => {
    const { ipamDir: _ignored, ...withoutIpam } = settings;
    expect(buildBridgeConfig(withoutIpam)).toMatchObject({ ipam: { dataDir: '/run/berth/cni/ipam' } });
  });

  it('keeps attachments per runner home and addresses machine-wide', () => {
    expect(buildDefaultNetworkSettings('/var/lib/berth/runner')).toEqual({
      cniPath: '/usr/lib/cni', bridge: 'berth0', subnet: '10.213.0.0/16', stateDir: '/var/lib/berth/runner/cni', ipamDir: '/run/berth/cni/ipam',
    });
  });

  it('builds the plugin environment', () => {
    expect(buildCniEnv('DEL', 'berth-1', '/run/netns/berth-1', 'eth0', '/usr/lib/cni')).toEqual({
      CNI_COMMAND: 'DEL',
      CNI_CONTAINERID: 'berth-1',
      CNI_NETNS: '/run/netns/berth-1',
      CNI_IFNAME: 'eth0',
      CNI_PATH: '/usr/lib/cni',
      PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
    });
  });
});

describe('buildResolvConf', () => {
  it('keeps reachable nameservers, search and options', () => {
    expect(buildResolvConf('# comment\nnameserver 10.255.255.53\nsearch example.org\noptions ndots:2\n', ['1.1.1.1'])).toBe(
      'nameserver 10.255.255.53\nsearch example.org\noptions ndots:2\n',
    );
  });

  it('replaces loopback-only resolvers (systemd-resolved, dnsmasq) with the fallbacks', () => {
    expect(buildResolvConf('nameserver 127.0.0.53\nnameserver ::1\noptions edns0\n', ['1.1.1.1', '9.9.9.9'])).toBe(
      'nameserver 1.1.1.1\nnameserver 9.9.9.9\noptions edns0\n',
    );
  });
});

describe('buildHostsFile', () => {
  it('names the container by its address', () => {
    expect(buildHostsFile('web', '10.213.0.9').split('\n')).toEqual([
      '127.0.0.1\tlocalhost',
      '::1\tlocalhost ip6-localhost ip6-loopback',
      'fe00::0\tip6-localnet',
      'ff00::0\tip6-mcastprefix',
      'ff02::1\tip6-allnodes',
      'ff02::2\tip6-allrouters',
      '10.213.0.9\tweb',
      '',
    ]);
    expect(buildHostsFile('web')).toContain('127.0.1.1\tweb\n');
  });
});
