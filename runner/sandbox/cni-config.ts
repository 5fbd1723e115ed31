// CNI plugin configurations and published-port parsing: pure, so the exact JSON each plugin receives
// is tested by equality. The plugins (Debian's containernetworking-plugins) are invoked directly by
// network.ts, one after the other, the way a CNI runtime walks a conflist.

export interface NetworkSettings {
  /** Directory holding the plugin binaries. */
  cniPath: string;
  /** The host bridge every container's veth joins. */
  bridge: string;
  /** IPv4 subnet of the bridge; the first address is the gateway. */
  subnet: string;
  /** Cached ADD results (what DEL needs after a restart), under the runner's home. */
  stateDir: string;
  /**
   * host-local IPAM state, shared by everything on this machine that uses the bridge (runners, test
   * runs): one allocator per subnet, or two of them hand out the same address. Under /run, because
   * after a reboot no address is in use. Defaults to DEFAULT_IPAM_DIR.
   */
  ipamDir?: string;
}

export const DEFAULT_IPAM_DIR = '/run/berth/cni/ipam';

/** The standard network of a runner whose state lives in `home`. */
export function buildDefaultNetworkSettings(home: string): NetworkSettings {
  return { cniPath: '/usr/lib/cni', bridge: 'berth0', subnet: '10.213.0.0/16', stateDir: `${home}/cni`, ipamDir: DEFAULT_IPAM_DIR };
}

export const NETWORK_NAME = 'berth';
export const CNI_VERSION = '1.0.0';

export interface PortMapping {
  /** '' binds every host address, as Docker does without an address. */
  hostIp: string;
  /** 0 asks for an ephemeral port, chosen when the network is attached. */
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp';
}

function parsePort(text: string, what: string, spec: string, allowZero: boolean): number {
  const n = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(n <= 65535 && (n >= 1 || (allowZero && n === 0)))) {
    throw new Error(`Cannot publish port "${spec}": ${what} "${text}" is not a port number`);
  }
  return n;
}

/**
 * Parse Docker's `-p` syntax: `containerPort`, `hostPort:containerPort`, `hostIp:hostPort:containerPort`,
 * `hostIp::containerPort`, each with an optional `/tcp` or `/udp`; IPv6 host addresses in brackets.
 */
export function parsePortMapping(spec: string): PortMapping {
  const slash = spec.lastIndexOf('/');
  const proto = slash >= 0 ? spec.slice(slash + 1) : 'tcp';
  if (proto !== 'tcp' && proto !== 'udp') throw new Error(`Cannot publish port "${spec}": protocol "${proto}" is not tcp or udp`);
  const rest = slash >= 0 ? spec.slice(0, slash) : spec;
  let hostIp = '';
  let ports = rest;
  const bracket = /^\[([0-9a-fA-F:.]+)\]:(.*)$/.exec(rest);
  if (bracket) {
    hostIp = bracket[1]!;
    ports = bracket[2]!;
  } else if (rest.split(':').length === 3) {
    hostIp = rest.slice(0, rest.indexOf(':'));
    ports = rest.slice(rest.indexOf(':') + 1);
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(hostIp)) throw new Error(`Cannot publish port "${spec}": host address "${hostIp}" is not an IPv4 address`);
  }
  const parts = ports.split(':');
  if (parts.length > 2 || (bracket && parts.length !== 2)) throw new Error(`Cannot publish port "${spec}": expected [hostIp:][hostPort:]containerPort[/proto]`);
  const containerPort = parsePort(parts[parts.length - 1]!, 'container port', spec, false);
  const hostPort = parts.length === 2 && parts[0] !== '' ? parsePort(parts[0]!, 'host port', spec, true) : 0;
  return { hostIp, hostPort, containerPort, protocol: proto };
}

export function buildLoopbackConfig(): Record<string, unknown> {
  return { cniVersion: CNI_VERSION, name: `${NETWORK_NAME}-lo`, type: 'loopback' };
}

/**
 * Outbound NAT is one masquerade rule for the whole subnet (network.ts), not the plugin's chain per
 * container (~5 iptables processes on every start and stop); `ipMasq` is for DEL of attachments made
 * when the plugin still did it.
 */
export function buildBridgeConfig(settings: NetworkSettings, options: { ipMasq?: boolean } = {}): Record<string, unknown> {
  return {
    cniVersion: CNI_VERSION,
    name: NETWORK_NAME,
    type: 'bridge',
    bridge: settings.bridge,
    isGateway: true,
    ipMasq: options.ipMasq ?? false,
    hairpinMode: true,
    ipam: {
      type: 'host-local',
      ranges: [[{ subnet: settings.subnet }]],
      routes: [{ dst: '0.0.0.0/0' }],
      dataDir: settings.ipamDir ?? DEFAULT_IPAM_DIR,
    },
  };
}

/** Port mappings must have concrete host ports by now (ephemeral ones chosen by the caller). */
export function buildPortmapConfig(ports: PortMapping[], prevResult: unknown): Record<string, unknown> {
  return {
    cniVersion: CNI_VERSION,
    name: NETWORK_NAME,
    type: 'portmap',
    capabilities: { portMappings: true },
    // snat lets the host reach a published port on 127.0.0.1 (portmap turns on route_localnet for it).
    snat: true,
    runtimeConfig: {
      portMappings: ports.map((p) => ({ hostPort: p.hostPort, containerPort: p.containerPort, protocol: p.protocol, hostIP: p.hostIp })),
    },
    prevResult,
  };
}

/** The environment of one plugin call. */
export function buildCniEnv(command: 'ADD' | 'DEL' | 'CHECK', containerId: string, netnsPath: string, ifName: string, cniPath: string) {
  return {
    CNI_COMMAND: command,
    CNI_CONTAINERID: containerId,
    CNI_NETNS: netnsPath,
    CNI_IFNAME: ifName,
    CNI_PATH: cniPath,
    PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
  };
}

/**
 * The container's resolv.conf from the host's: nameservers on the host's loopback cannot be reached
 * from the container's own network namespace, so they are dropped, and the fallbacks used if none remain.
 */
export function buildResolvConf(hostResolvConf: string, fallbacks: string[]): string {
  const lines: string[] = [];
  let servers = 0;
  for (const raw of hostResolvConf.split('\n')) {
    const line = raw.trim();
    const m = /^nameserver\s+(\S+)/.exec(line);
    if (m) {
      if (/^127\./.test(m[1]!) || m[1] === '::1') continue;
      servers++;
      lines.push(`nameserver ${m[1]}`);
    } else if (/^(search|domain|options)\s/.test(line)) {
      lines.push(line);
    }
  }
  if (servers === 0) lines.unshift(...fallbacks.map((s) => `nameserver ${s}`));
  return lines.join('\n') + '\n';
}

export function buildHostsFile(hostname: string, address?: string): string {
  const lines = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', 'fe00::0\tip6-localnet', 'ff00::0\tip6-mcastprefix', 'ff02::1\tip6-allnodes', 'ff02::2\tip6-allrouters'];
  lines.push(`${address ?? '127.0.1.1'}\t${hostname}`);
  return lines.join('\n') + '\n';
}
