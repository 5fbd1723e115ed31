// EXPOSE port specs the way Docker reads them (go-connections nat.ParsePortSpec): `80`, `80/udp`,
// `8000-8010/tcp`, and the publish forms `8080:80` or `127.0.0.1:8080:80` of which only the container
// port is exposed. Result: the image config's ExposedPorts keys, `80/tcp`.
const PROTOCOLS = new Set(['tcp', 'udp', 'sctp']);

export class PortSpecError extends Error {
  override name = 'PortSpecError';
}

function parsePort(spec: string, raw: string): number {
  if (!/^[0-9]+$/.test(raw)) throw new PortSpecError(`Invalid port "${spec}": "${raw}" is not a port number`);
  const n = Number(raw);
  if (n > 65535) throw new PortSpecError(`Invalid port "${spec}": ${n} is above 65535`);
  return n;
}

export function parsePortSpec(spec: string): string[] {
  const slash = spec.indexOf('/');
  const address = slash === -1 ? spec : spec.slice(0, slash);
  const proto = slash === -1 || slash === spec.length - 1 ? 'tcp' : spec.slice(slash + 1).toLowerCase();
  if (!PROTOCOLS.has(proto)) throw new PortSpecError(`Invalid port "${spec}": protocol "${proto}" is not tcp, udp or sctp`);
  // `[::1]:8080:80`, `1.2.3.4:8080:80`, `8080:80`, `80`: the container port is the last part.
  const container = address.slice(address.lastIndexOf(':') + 1);
  if (container === '') throw new PortSpecError(`Invalid port "${spec}": no container port`);
  const dash = container.indexOf('-');
  const start = parsePort(spec, dash === -1 ? container : container.slice(0, dash));
  const end = dash === -1 ? start : parsePort(spec, container.slice(dash + 1));
  if (end < start) throw new PortSpecError(`Invalid port "${spec}": range ${start}-${end} ends before it starts`);
  const keys: string[] = [];
  for (let p = start; p <= end; p++) keys.push(`${p}/${proto}`);
  return keys;
}
