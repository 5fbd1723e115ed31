import { describe, expect, it } from 'vitest';
import { parseCreateBody } from '../../../functions/docker/container-config';

describe('HostConfig fields Berth cannot honour', () => {
  it('refuses each naming its flag', () => {
    const refused: Array<[Record<string, unknown>, string]> = [
      [{ ReadonlyRootfs: true }, '--read-only'],
      [{ ExtraHosts: ['foo:1.2.3.4'] }, '--add-host'],
      [{ CapAdd: ['NET_ADMIN'] }, '--cap-add'],
      [{ Tmpfs: { '/run': '' } }, '--tmpfs'],
      [{ Mounts: [{ Type: 'volume', Target: '/x' }] }, '--mount'],
      [{ NetworkMode: 'host' }, 'on network "host"'],
      [{ PidMode: 'host' }, '--pid=host'],
    ];
    for (const [hc, flag] of refused) expect(() => parseCreateBody({ Image: 'x', HostConfig: hc as never })).toThrow(flag);
    expect(() => parseCreateBody({ Image: 'x', HostConfig: [] as never })).toThrow('Invalid "HostConfig"');
  });

  it('lets the CLI\'s defaults through', () => {
    const hc = { NetworkMode: 'default', ExtraHosts: null, CapAdd: null, Tmpfs: null, Devices: [], Dns: [], DnsSearch: [], ReadonlyRootfs: false, PidMode: '', IpcMode: '', Sysctls: {} };
    expect(parseCreateBody({ Image: 'x', HostConfig: hc as never }).image).toBe('x');
  });
});
