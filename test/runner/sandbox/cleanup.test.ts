import { describe, expect, it } from 'vitest';
import { findMasqueradeRules } from '../../../runner/sandbox/cleanup';

const RULES = [
  '-P POSTROUTING ACCEPT',
  '-A POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ',
  '-A POSTROUTING -s 10.213.0.3/32 -m comment --comment "name: \\"berth\\" id: \\"berth-8bedb80d6e29\\"" -j CNI-82b9c4da7d82be3f1865e393',
  '-A POSTROUTING -s 10.213.0.4/32 -m comment --comment "name: \\"berth\\" id: \\"berth-live\\"" -j CNI-0123456789abcdef01234567',
  '-A POSTROUTING -s 10.88.0.4/32 -m comment --comment "name: \\"podman\\" id: \\"abc\\"" -j CNI-aaaa',
].join('\n');

describe('findMasqueradeRules', () => {
  it('finds the bridge plugin rules of orphaned Berth containers only, as iptables -D argv', () => {
    expect(findMasqueradeRules(RULES, (id) => id !== 'berth-live')).toEqual([
      {
        id: 'berth-8bedb80d6e29',
        chain: 'CNI-82b9c4da7d82be3f1865e393',
        deleteArgv: [
          'iptables', '-w', '-t', 'nat', '-D', 'POSTROUTING', '-s', '10.213.0.3/32', '-m', 'comment', '--comment',
          'name: "berth" id: "berth-8bedb80d6e29"', '-j', 'CNI-82b9c4da7d82be3f1865e393',
        ],
      },
    ]);
  });
});
