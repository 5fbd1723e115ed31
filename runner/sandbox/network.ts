// A container's network: its namespace pinned under /run/netns, CNI plugins run directly (bridge,
// loopback where lo is not up yet, portmap for UDP), TCP ports published by port-rules.ts, outbound
// NAT by one masquerade rule per subnet, and a teardown that runs CNI DEL while the namespace still
// exists — the only order in which the bridge plugin finds the container's interface, and in which
// attachments made when it still masqueraded have their rules removed.
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { buildBridgeConfig, buildCniEnv, buildLoopbackConfig, buildPortmapConfig, type NetworkSettings, type PortMapping } from './cni-config';
import { runCommand, runCommandOrThrow } from './exec';
import { publishTcpPorts, unpublishTcpPorts } from './port-rules';

export const NETNS_DIR = '/run/netns';

export interface NetworkAttachment {
  containerId: string;
  netnsPath: string;
  /** The container's IPv4 address on the bridge. */
  address: string;
  gateway: string;
  /** With concrete host ports, ephemeral ones resolved. */
  ports: PortMapping[];
}

interface CachedAttachment {
  bridgeResult: unknown;
  ports: PortMapping[];
  netnsPath: string;
  /** Whether the loopback plugin was ADDed (absent in records older than the field: it was). */
  loopback?: boolean;
  /** TCP ports are published by port-rules.ts and UDP ones by portmap (absent: portmap did all). */
  tcpRules?: boolean;
  /** The bridge plugin masqueraded this container itself (absent: records from when it always did). */
  ipMasq?: boolean;
}

export function buildNetnsAttachArgv(name: string, pid: number): string[] {
  return ['ip', 'netns', 'attach', name, String(pid)];
}

export function buildNetnsDeleteArgv(name: string): string[] {
  return ['ip', 'netns', 'delete', name];
}

/** Bind /proc/PID/ns/net to /run/netns/NAME so the namespace outlives the process for CNI DEL. */
export async function pinNetns(name: string, pid: number): Promise<string> {
  await runCommandOrThrow(buildNetnsAttachArgv(name, pid));
  return join(NETNS_DIR, name);
}

export async function unpinNetns(name: string): Promise<void> {
  const r = await runCommand(buildNetnsDeleteArgv(name));
  if (r.code !== 0 && !/No such file/.test(r.stderr)) throw new Error(`Cannot delete network namespace "${name}": ${r.stderr.trim()}`);
}

async function invokePlugin(settings: NetworkSettings, command: 'ADD' | 'DEL', containerId: string, netnsPath: string, ifName: string, config: Record<string, unknown>) {
  const type = String(config.type);
  const r = await runCommand([join(settings.cniPath, type)], {
    env: buildCniEnv(command, containerId, netnsPath, ifName, settings.cniPath),
    input: JSON.stringify(config),
    timeoutMs: 30_000,
  });
  if (r.code !== 0) {
    let detail = r.stdout.trim() || r.stderr.trim();
    try {
      const e = JSON.parse(r.stdout) as { msg?: string; details?: string };
      detail = [e.msg, e.details].filter(Boolean).join(': ');
    } catch {
      // not JSON: keep the raw text
    }
    throw new Error(`Cannot ${command === 'ADD' ? 'attach' : 'detach'} network plugin "${type}" for container "${containerId}": ${detail}`);
  }
  return r.stdout.trim() === '' ? undefined : (JSON.parse(r.stdout) as unknown);
}

/**
 * A free host port now; portmap needs a number, and 0 means "any" to the caller. A port another
 * container already publishes holds no socket (portmap DNATs it), so the OS would hand it out again:
 * candidates that appear in the nat table's rules are skipped.
 */
async function pickFreePort(hostIp: string, protocol: 'tcp' | 'udp'): Promise<number> {
  const nat = await runCommand(['iptables', '-w', '-t', 'nat', '-S']);
  const published = new Set([...(nat.stdout ?? '').matchAll(/--dport (\d+)/g)].map((m) => Number(m[1])));
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await osEphemeralPort(hostIp, protocol);
    if (!published.has(port)) return port;
  }
  throw new Error(`Cannot pick an ephemeral ${protocol} port on ${hostIp || 'any address'}: every candidate is already published`);
}

async function osEphemeralPort(hostIp: string, protocol: 'tcp' | 'udp'): Promise<number> {
  if (protocol === 'udp') {
    const socket = createSocket(hostIp.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => socket.once('error', reject).bind(0, hostIp || undefined, () => resolve()));
    const port = socket.address().port;
    await new Promise<void>((resolve) => socket.close(() => resolve()));
    return port;
  }
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, hostIp || undefined, () => resolve()));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === 'string') throw new Error('Cannot pick an ephemeral port: no address');
  return address.port;
}

function cachePath(settings: NetworkSettings, containerId: string): string {
  return join(settings.stateDir, 'attachments', `${containerId}.json`);
}

/**
 * Containers may not open connections to the runner itself: not to the bridge address, not to the
 * host's other addresses, and not to 127.0.0.1 — portmap turns on route_localnet on the bridge so
 * published ports answer on localhost, which would otherwise let a container with CAP_NET_RAW send
 * packets to the runner's loopback services (the kube-proxy CVE-2020-8558 pattern). Replies and
 * published-port traffic (DNAT, forwarded) are untouched.
 */
export function buildHostGuardRule(bridge: string): string[] {
  return ['INPUT', '-i', bridge, '-m', 'conntrack', '--ctstate', 'NEW,INVALID', '-m', 'comment', '--comment', 'berth: containers may not connect to the runner', '-j', 'DROP'];
}

/**
 * Containers of different tenants share the bridge: they may reach each other only through published
 * ports (DNAT), never directly. With br_netfilter, bridged frames pass iptables too, so one FORWARD
 * rule covers routed and bridged traffic alike — and keeps working for a published port reached from
 * a neighbour, which br_netfilter delivers by bridging after the DNAT.
 */
export function buildNeighbourGuardRule(bridge: string): string[] {
  return ['FORWARD', '-i', bridge, '-o', bridge, '-m', 'conntrack', '!', '--ctstate', 'DNAT', '-m', 'comment', '--comment', 'berth: containers reach each other only through published ports', '-j', 'DROP'];
}

/** Without br_netfilter, port isolation stops bridged neighbour traffic instead (and the hairpin with it). */
export function buildIsolatePortArgv(hostVeth: string): string[] {
  return ['ip', 'link', 'set', 'dev', hostVeth, 'type', 'bridge_slave', 'isolated', 'on'];
}

/**
 * Outbound NAT for every container on the bridge, added once like the guards (Docker does the same):
 * traffic leaving the subnet, multicast aside, takes the runner's address.
 */
export function buildMasqueradeRule(settings: NetworkSettings): string[] {
  return [
    'POSTROUTING', '-s', settings.subnet, '!', '-d', settings.subnet, '-m', 'addrtype', '!', '--dst-type', 'MULTICAST',
    '-m', 'comment', '--comment', `berth: outbound NAT for ${settings.bridge}`, '-j', 'MASQUERADE',
  ];
}

const BRIDGE_NF = '/proc/sys/net/bridge/bridge-nf-call-iptables';
const guarded = new Map<string, { isolatePorts: boolean }>();

async function enableBridgeFiltering(): Promise<boolean> {
  if (!existsSync(BRIDGE_NF)) await runCommand(['modprobe', 'br_netfilter']);
  if (!existsSync(BRIDGE_NF)) return false;
  await writeFile(BRIDGE_NF, '1');
  return true;
}

export async function ensureHostGuard(settings: NetworkSettings): Promise<{ isolatePorts: boolean }> {
  const known = guarded.get(settings.bridge);
  if (known) return known;
  for (const rule of [buildHostGuardRule(settings.bridge), buildNeighbourGuardRule(settings.bridge)]) {
    const check = await runCommand(['iptables', '-w', '-C', ...rule]);
    if (check.code !== 0) await runCommandOrThrow(['iptables', '-w', '-I', ...rule]);
  }
  const masquerade = buildMasqueradeRule(settings);
  if ((await runCommand(['iptables', '-w', '-t', 'nat', '-C', ...masquerade])).code !== 0) await runCommandOrThrow(['iptables', '-w', '-t', 'nat', '-A', ...masquerade]);
  const state = { isolatePorts: !(await enableBridgeFiltering()) };
  guarded.set(settings.bridge, state);
  return state;
}

/** Concrete host ports for `ports`: ephemeral ones (host port 0) chosen now. */
export async function choosePorts(ports: PortMapping[]): Promise<PortMapping[]> {
  const concrete: PortMapping[] = [];
  for (const p of ports) concrete.push(p.hostPort === 0 ? { ...p, hostPort: await pickFreePort(p.hostIp, p.protocol) } : p);
  return concrete;
}

export interface InterfaceOptions {
  /** Bring lo up with the loopback plugin (false when the namespace was made with lo up already). */
  loopback?: boolean;
}

/**
 * ADD the container's interfaces: loopback (unless told not to) and eth0 on the bridge with NAT. The
 * ports, concrete already, are recorded first so a crash before publishPorts still leaves the DEL to
 * cleanupOrphans. On failure everything added is removed again.
 */
export async function attachInterfaces(settings: NetworkSettings, containerId: string, netnsPath: string, ports: PortMapping[], options: InterfaceOptions = {}): Promise<NetworkAttachment> {
  const loopback = options.loopback ?? true;
  const guard = await ensureHostGuard(settings);
  await mkdir(join(settings.stateDir, 'attachments'), { recursive: true });
  // Recorded before ADD so a crash half-way still leaves something for cleanupOrphans to find.
  const cache: CachedAttachment = { bridgeResult: undefined, ports, netnsPath, loopback, ipMasq: false };
  await writeFile(cachePath(settings, containerId), JSON.stringify(cache));
  try {
    // lo and eth0 are independent: bring them up side by side (~10 ms saved on every start).
    const [, bridged] = await Promise.all([
      loopback ? invokePlugin(settings, 'ADD', containerId, netnsPath, 'lo', buildLoopbackConfig()) : undefined,
      invokePlugin(settings, 'ADD', containerId, netnsPath, 'eth0', buildBridgeConfig(settings)),
    ]);
    const result = bridged as { ips?: Array<{ address: string; gateway?: string }>; interfaces?: Array<{ name: string; sandbox?: string }> };
    cache.bridgeResult = result;
    await writeFile(cachePath(settings, containerId), JSON.stringify(cache));
    if (guard.isolatePorts) {
      const hostVeth = result.interfaces?.find((i) => !i.sandbox && i.name !== settings.bridge)?.name;
      if (!hostVeth) throw new Error(`Cannot isolate the network of container "${containerId}": the bridge plugin returned no host interface`);
      await runCommandOrThrow(buildIsolatePortArgv(hostVeth));
    }
    const ip = result.ips?.find((i) => !i.address.includes(':'));
    if (!ip) throw new Error(`Cannot attach network for container "${containerId}": the bridge plugin returned no IPv4 address`);
    return { containerId, netnsPath, address: ip.address.split('/')[0]!, gateway: ip.gateway ?? '', ports };
  } catch (error) {
    await detachNetwork(settings, containerId).catch(() => {});
    throw error;
  }
}

/**
 * Publish the attachment's ports: TCP with our own rules in one iptables-restore (port-rules.ts), UDP
 * with the portmap plugin. On failure the whole network is removed.
 */
export async function publishPorts(settings: NetworkSettings, attachment: NetworkAttachment): Promise<void> {
  if (attachment.ports.length === 0) return;
  try {
    const cache = JSON.parse(await readFile(cachePath(settings, attachment.containerId), 'utf8')) as CachedAttachment;
    cache.tcpRules = true;
    await writeFile(cachePath(settings, attachment.containerId), JSON.stringify(cache));
    const tcp = attachment.ports.filter((p) => p.protocol === 'tcp');
    const udp = attachment.ports.filter((p) => p.protocol === 'udp');
    await Promise.all([
      publishTcpPorts(settings.bridge, { containerId: attachment.containerId, address: attachment.address, subnet: settings.subnet, ports: tcp }),
      udp.length > 0 ? invokePlugin(settings, 'ADD', attachment.containerId, attachment.netnsPath, 'eth0', buildPortmapConfig(udp, cache.bridgeResult)) : undefined,
    ]);
  } catch (error) {
    await detachNetwork(settings, attachment.containerId).catch(() => {});
    throw error;
  }
}

/** ADD loopback, bridge and (if any ports) portmap; on failure everything added is removed again. */
export async function attachNetwork(settings: NetworkSettings, containerId: string, netnsPath: string, ports: PortMapping[], options: InterfaceOptions = {}): Promise<NetworkAttachment> {
  const attachment = await attachInterfaces(settings, containerId, netnsPath, await choosePorts(ports), options);
  await publishPorts(settings, attachment);
  return attachment;
}

export function buildNeighbourFlushArgv(address: string, bridge: string): string[] {
  return ['ip', 'neigh', 'flush', 'to', `${address}/32`, 'dev', bridge];
}

function readIpv4(bridgeResult: unknown): string | undefined {
  const ips = (bridgeResult as { ips?: Array<{ address?: unknown }> } | undefined)?.ips ?? [];
  const ip = ips.map((i) => String(i.address ?? '')).find((a) => /^\d+\.\d+\.\d+\.\d+\/\d+$/.test(a));
  return ip?.split('/')[0];
}

/** DEL in reverse order; idempotent, and tolerant of a namespace that is already gone. */
export async function detachNetwork(settings: NetworkSettings, containerId: string): Promise<void> {
  let cache: CachedAttachment;
  try {
    cache = JSON.parse(await readFile(cachePath(settings, containerId), 'utf8')) as CachedAttachment;
  } catch {
    return; // never attached, or already detached
  }
  const errors: unknown[] = [];
  const attempt = async (fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (e) {
      errors.push(e);
    }
  };
  const netns = cache.netnsPath;
  const portmapped = cache.tcpRules ? cache.ports.filter((p) => p.protocol === 'udp') : cache.ports;
  if (cache.tcpRules) await attempt(() => unpublishTcpPorts(containerId, cache.ports.filter((p) => p.protocol === 'tcp')));
  if (portmapped.length > 0) {
    await attempt(() => invokePlugin(settings, 'DEL', containerId, netns, 'eth0', buildPortmapConfig(portmapped, cache.bridgeResult)));
  }
  await attempt(() => invokePlugin(settings, 'DEL', containerId, netns, 'eth0', { ...buildBridgeConfig(settings, { ipMasq: cache.ipMasq ?? true }), prevResult: cache.bridgeResult }));
  // The host remembers the address's MAC for a while; a container handed the address next would be
  // unreachable from the runner (health checks) until that entry expires, as its gratuitous ARP can
  // be ignored when the entry was refreshed less than a second before.
  const address = readIpv4(cache.bridgeResult);
  if (address) await attempt(() => runCommand(buildNeighbourFlushArgv(address, settings.bridge)));
  if (cache.loopback !== false) await attempt(() => invokePlugin(settings, 'DEL', containerId, netns, 'lo', buildLoopbackConfig()));
  if (errors.length > 0) throw errors[0];
  await rm(cachePath(settings, containerId), { force: true });
}

/** Containers with a recorded attachment, for orphan cleanup. */
export async function listAttachments(settings: NetworkSettings): Promise<string[]> {
  try {
    return (await readdir(join(settings.stateDir, 'attachments'))).filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -5));
  } catch {
    return [];
  }
}
