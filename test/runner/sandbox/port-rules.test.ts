import { describe, expect, it } from 'vitest';
import { buildBaseRules, buildDnatChainName, buildPublishRules, buildUnpublishRules } from '../../../runner/sandbox/port-rules';
import { splitRule } from '../../../runner/container/stray-rules';

const id = 'berth-0123456789abcdef01234567';
const chain = buildDnatChainName(id);

describe('port rules', () => {
  it("names the container's chain the way portmap does, short enough for iptables", () => {
    expect(chain).toMatch(/^CNI-DN-[0-9a-f]{21}$/);
    expect(chain.length).toBeLessThanOrEqual(28);
    expect(buildDnatChainName('berth-other')).not.toBe(chain);
  });

  it('writes hairpin and localhost marks and the DNAT per port, and one jump naming the container', () => {
    const rules = buildPublishRules({
      containerId: id,
      address: '10.214.0.7',
      subnet: '10.214.0.0/16',
      ports: [
        { hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'tcp' },
        { hostIp: '', hostPort: 8443, containerPort: 443, protocol: 'tcp' },
      ],
    });
    expect(rules.split('\n')).toEqual([
      '*nat',
      `:${chain} - [0:0]`,
      `-A ${chain} -s 10.214.0.0/16 -p tcp -m tcp --dport 8080 -d 127.0.0.1/32 -j CNI-HOSTPORT-SETMARK`,
      `-A ${chain} -s 127.0.0.1/32 -p tcp -m tcp --dport 8080 -d 127.0.0.1/32 -j CNI-HOSTPORT-SETMARK`,
      `-A ${chain} -p tcp -m tcp --dport 8080 -d 127.0.0.1/32 -j DNAT --to-destination 10.214.0.7:80`,
      `-A ${chain} -s 10.214.0.0/16 -p tcp -m tcp --dport 8443 -j CNI-HOSTPORT-SETMARK`,
      `-A ${chain} -s 127.0.0.1/32 -p tcp -m tcp --dport 8443 -j CNI-HOSTPORT-SETMARK`,
      `-A ${chain} -p tcp -m tcp --dport 8443 -j DNAT --to-destination 10.214.0.7:443`,
      `-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"berth\\" id: \\"${id}\\"" -m multiport --dports 8080,8443 -j ${chain}`,
      'COMMIT',
      '',
    ]);
    // The comment reads back as one argument with its quotes, as stray-rule clean-up splits it.
    const jump = rules.split('\n').find((l) => l.startsWith('-A CNI-HOSTPORT-DNAT'))!;
    expect(splitRule(jump)).toContain(`dnat name: "berth" id: "${id}"`);
  });

  it('removes the jump, then flushes and deletes the chain', () => {
    expect(buildUnpublishRules(id, [{ hostIp: '', hostPort: 8080, containerPort: 80, protocol: 'tcp' }]).split('\n')).toEqual([
      '*nat',
      `-D CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"berth\\" id: \\"${id}\\"" -m multiport --dports 8080 -j ${chain}`,
      `:${chain} - [0:0]`,
      `-X ${chain}`,
      'COMMIT',
      '',
    ]);
  });

  it('refuses UDP (portmap keeps it) ', () => {
    expect(() => buildPublishRules({ containerId: id, address: '10.214.0.7', subnet: '10.214.0.0/16', ports: [{ hostIp: '', hostPort: 53, containerPort: 53, protocol: 'udp' }] })).toThrow(
      'Cannot write port rules for "53/udp"',
    );
  });

  it('creates only the shared chains and jumps that are missing', () => {
    const fresh = buildBaseRules('-P PREROUTING ACCEPT\n');
    expect(fresh.split('\n')).toEqual([
      '*nat',
      '-N CNI-HOSTPORT-SETMARK',
      '-A CNI-HOSTPORT-SETMARK -m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark 0x2000/0x2000',
      '-N CNI-HOSTPORT-MASQ',
      '-A CNI-HOSTPORT-MASQ -m mark --mark 0x2000/0x2000 -j MASQUERADE',
      '-A POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ',
      '-N CNI-HOSTPORT-DNAT',
      '-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT',
      '-A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT',
      'COMMIT',
      '',
    ]);
    const existing = fresh.split('\n').filter((l) => l.startsWith('-')).join('\n');
    expect(buildBaseRules(existing)).toBe('');
  });
});
