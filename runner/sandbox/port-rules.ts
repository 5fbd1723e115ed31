// Published TCP ports as iptables nat rules written by one iptables-restore per container. The CNI
// portmap plugin makes the same rules with ~20 iptables processes in a row: ~35 ms on every start,
// where it is the last thing a start waits for, and ~100 ms on every stop. The rules and chains are
// portmap's own, so teardown and orphan clean-up find either's by the container id in the comment:
//   PREROUTING, OUTPUT (to a local address) → CNI-HOSTPORT-DNAT → by id and ports → CNI-DN-<hash>
//   CNI-DN-<hash>: from the subnet (hairpin) or from 127.0.0.1 → CNI-HOSTPORT-SETMARK; then DNAT
//   POSTROUTING → CNI-HOSTPORT-MASQ: masquerade what was marked
// UDP stays with portmap, which also drops stale conntrack entries for the port (netlink only).
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { NETWORK_NAME, type PortMapping } from './cni-config';
import { runCommand, runCommandOrThrow } from './exec';

const MARK = '0x2000/0x2000';

/** portmap's per-container chain name: `CNI-DN-` and a hash of network name and container id. */
export function buildDnatChainName(containerId: string): string {
  return `CNI-DN-${createHash('sha512').update(NETWORK_NAME + containerId).digest('hex').slice(0, 21)}`;
}

/** The comment that names the container on its jump rule (what stray-rule clean-up looks for). */
export function buildDnatComment(containerId: string): string {
  return `dnat name: "${NETWORK_NAME}" id: "${containerId}"`;
}

function quote(arg: string): string {
  return /^[\w./:,!-]+$/.test(arg) ? arg : `"${arg.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function line(argv: string[]): string {
  return argv.map(quote).join(' ');
}

function jumpRules(containerId: string, ports: PortMapping[]): string[][] {
  const hostPorts = [...new Set(ports.map((p) => p.hostPort))].join(',');
  return [['CNI-HOSTPORT-DNAT', '-p', 'tcp', '-m', 'comment', '--comment', buildDnatComment(containerId), '-m', 'multiport', '--dports', hostPorts, '-j', buildDnatChainName(containerId)]];
}

export interface PortRulesInput {
  containerId: string;
  /** The container's IPv4 address on the bridge. */
  address: string;
  /** The bridge subnet, for the hairpin (a container reaching its own published port). */
  subnet: string;
  /** TCP mappings with concrete host ports. */
  ports: PortMapping[];
}

/** iptables-restore input (nat table, --noflush) that publishes the ports. */
export function buildPublishRules(input: PortRulesInput): string {
  const chain = buildDnatChainName(input.containerId);
  const out = ['*nat', `:${chain} - [0:0]`];
  for (const p of input.ports) {
    if (p.protocol !== 'tcp') throw new Error(`Cannot write port rules for "${p.hostPort}/${p.protocol}": only tcp is written here`);
    const match = ['-p', 'tcp', '-m', 'tcp', '--dport', String(p.hostPort), ...(p.hostIp ? ['-d', `${p.hostIp}/32`] : [])];
    out.push(line(['-A', chain, '-s', input.subnet, ...match, '-j', 'CNI-HOSTPORT-SETMARK']));
    out.push(line(['-A', chain, '-s', '127.0.0.1/32', ...match, '-j', 'CNI-HOSTPORT-SETMARK']));
    out.push(line(['-A', chain, ...match, '-j', 'DNAT', '--to-destination', `${input.address}:${p.containerPort}`]));
  }
  for (const rule of jumpRules(input.containerId, input.ports)) out.push(line(['-A', ...rule]));
  out.push('COMMIT', '');
  return out.join('\n');
}

/** iptables-restore input (nat table, --noflush) that removes what buildPublishRules wrote. */
export function buildUnpublishRules(containerId: string, ports: PortMapping[]): string {
  const chain = buildDnatChainName(containerId);
  const out = ['*nat'];
  for (const rule of jumpRules(containerId, ports)) out.push(line(['-D', ...rule]));
  out.push(`:${chain} - [0:0]`, `-X ${chain}`, 'COMMIT', '');
  return out.join('\n');
}

/** The shared chains and jumps portmap would create on first use, for a machine where it never ran. */
export function buildBaseRules(existing: string): string {
  const has = (rule: string) => existing.split('\n').some((l) => l.trim() === rule);
  const out = ['*nat'];
  const chains: Array<[string, string[]]> = [
    ['CNI-HOSTPORT-SETMARK', ['-A CNI-HOSTPORT-SETMARK -m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark ' + MARK]],
    ['CNI-HOSTPORT-MASQ', ['-A CNI-HOSTPORT-MASQ -m mark --mark ' + MARK + ' -j MASQUERADE', '-A POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ']],
    ['CNI-HOSTPORT-DNAT', ['-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT', '-A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT']],
  ];
  for (const [chain, rules] of chains) {
    if (!has(`-N ${chain}`)) out.push(`-N ${chain}`);
    for (const rule of rules) if (!has(rule)) out.push(rule);
  }
  if (out.length === 1) return '';
  out.push('COMMIT', '');
  return out.join('\n');
}

const based = new Set<string>();

/** Base chains once per process, and route_localnet on the bridge (published ports answer on 127.0.0.1). */
async function ensureBase(bridge: string): Promise<void> {
  if (based.has(bridge)) return;
  const rules = buildBaseRules(await runCommandOrThrow(['iptables', '-w', '-t', 'nat', '-S']));
  if (rules) await restore(rules, 'create the port-publishing chains');
  await writeFile(`/proc/sys/net/ipv4/conf/${bridge}/route_localnet`, '1');
  based.add(bridge);
}

async function restore(input: string, what: string): Promise<void> {
  const r = await runCommand(['iptables-restore', '--noflush'], { input });
  if (r.code !== 0) throw new Error(`Cannot ${what}: ${(r.stderr.trim() || `exit ${r.code}`).split('\n').slice(-2).join(' ')}`);
}

export async function publishTcpPorts(bridge: string, input: PortRulesInput): Promise<void> {
  if (input.ports.length === 0) return;
  await ensureBase(bridge);
  await restore(buildPublishRules(input), `publish ports of container "${input.containerId}"`);
}

/** Idempotent: rules already gone are fine (one restore when they are there, a few execs when not). */
export async function unpublishTcpPorts(containerId: string, ports: PortMapping[]): Promise<void> {
  if (ports.length === 0) return;
  const all = await runCommand(['iptables-restore', '--noflush'], { input: buildUnpublishRules(containerId, ports) });
  if (all.code === 0) return;
  // Part of it is gone already: remove what is left, one piece at a time.
  const chain = buildDnatChainName(containerId);
  for (const rule of jumpRules(containerId, ports)) await runCommand(['iptables', '-w', '-t', 'nat', '-D', ...rule]);
  const flush = await runCommand(['iptables', '-w', '-t', 'nat', '-F', chain]);
  if (flush.code === 0) await runCommandOrThrow(['iptables', '-w', '-t', 'nat', '-X', chain]);
}
