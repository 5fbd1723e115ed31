// HostConfig fields of a container create that Berth cannot honour. Running without them would run
// something other than what was asked (a writable root for --read-only, the bridge for
// --network host), so each is refused naming its flag; the CLI's defaults (null, [], "", "default")
// pass.
import { dockerError } from './engine-errors';

const set = (v: unknown) => v !== undefined && v !== null && v !== '' && v !== false && !(Array.isArray(v) && v.length === 0) && !(typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0);

const FLAGS: Array<[field: string, flag: string]> = [
  ['ReadonlyRootfs', '--read-only'],
  ['ExtraHosts', '--add-host'],
  ['CapAdd', '--cap-add'],
  ['Mounts', '--mount'],
  ['Tmpfs', '--tmpfs'],
  ['Devices', '--device'],
  ['VolumesFrom', '--volumes-from'],
  ['Sysctls', '--sysctl'],
  ['Dns', '--dns'],
  ['DnsSearch', '--dns-search'],
  ['Links', '--link'],
];

export function refuseUnsupportedHostConfig(hc: Record<string, unknown>): void {
  for (const [field, flag] of FLAGS) {
    if (set(hc[field])) throw dockerError(400, `Cannot create the container with ${flag}: not supported by Berth`);
  }
  const network = hc.NetworkMode;
  if (typeof network === 'string' && !['', 'default', 'bridge'].includes(network)) {
    throw dockerError(400, `Cannot create the container on network "${network}": Berth runs every container on its own bridge`);
  }
  for (const [field, flag] of [['PidMode', '--pid'], ['IpcMode', '--ipc'], ['UTSMode', '--uts'], ['UsernsMode', '--userns']] as const) {
    const v = hc[field];
    if (typeof v === 'string' && v !== '' && v !== 'private' && v !== 'shareable') throw dockerError(400, `Cannot create the container with ${flag}=${v}: not supported by Berth`);
  }
}
