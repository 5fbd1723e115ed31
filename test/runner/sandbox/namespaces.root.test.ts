// Namespaces made before runc runs: the network namespace must belong to the user namespace the
// container joins (asked of the kernel with NS_GET_USERNS), lo must be up for IPv4 and IPv6, and the
// pins must go without a trace.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_IDMAP } from '../../../runner/sandbox/idmap';
import { describeNamespacePins, prepareNamespaces, unpinNamespace, type NamespacePins } from '../../../runner/sandbox/namespaces';
import { createContainerId } from '../../../runner/sandbox/runc';

const made: NamespacePins[] = [];

afterEach(async () => {
  for (const pins of made.splice(0)) await Promise.all([unpinNamespace(pins.user), unpinNamespace(pins.net)]);
});

function nsenter(args: string[]) {
  return spawnSync('nsenter', args, { encoding: 'utf8' });
}

/** The inode of the user namespace owning the namespace pinned at `path` (ioctl NS_GET_USERNS). */
function ownerOf(path: string): number {
  const script = 'open(my $f, "<", $ARGV[0]) or die "$!\\n"; my $fd = ioctl($f, 0xb701, 0) or die "$!\\n"; print((stat("/proc/self/fd/" . int($fd)))[1])';
  const r = spawnSync('perl', ['-e', script, path], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`Cannot ask the owner of "${path}": ${r.stderr}`);
  return Number(r.stdout);
}

function mounted(path: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === path);
}

describe('prepareNamespaces', () => {
  it('pins a user namespace with the id map and a network namespace it owns, lo up', async () => {
    const a = await prepareNamespaces(createContainerId(), DEFAULT_IDMAP);
    const b = await prepareNamespaces(createContainerId(), DEFAULT_IDMAP);
    made.push(a, b);
    expect(mounted(a.user) && mounted(a.net)).toBe(true);
    expect(nsenter([`--user=${a.user}`, 'cat', '/proc/self/uid_map']).stdout.trim().split(/\s+/)).toEqual(['0', String(DEFAULT_IDMAP.hostBase), String(DEFAULT_IDMAP.size)]);
    expect(nsenter([`--user=${a.user}`, 'cat', '/proc/self/gid_map']).stdout.trim().split(/\s+/)).toEqual(['0', String(DEFAULT_IDMAP.hostBase), String(DEFAULT_IDMAP.size)]);
    expect(ownerOf(a.net)).toBe(statSync(a.user).ino);
    expect(ownerOf(b.net)).toBe(statSync(b.user).ino);
    expect(statSync(a.user).ino).not.toBe(statSync(b.user).ino);
    expect(ownerOf(a.user)).toBe(statSync('/proc/self/ns/user').ino);
    const lo = nsenter([`--net=${a.net}`, 'ip', '-br', 'addr', 'show', 'lo']);
    expect(lo.stdout).toMatch(/^lo\s+UNKNOWN\s+127\.0\.0\.1\/8 ::1\/128/);
    // Only lo: nothing of the host's interfaces.
    expect(nsenter([`--net=${a.net}`, 'ip', '-br', 'link']).stdout.trim().split('\n').map((l) => l.split(/\s+/)[0])).toEqual(['lo']);
  });

  it('unpins without a trace, twice over', async () => {
    const id = createContainerId();
    const pins = await prepareNamespaces(id, DEFAULT_IDMAP);
    expect(pins).toEqual(describeNamespacePins(id));
    for (let i = 0; i < 2; i++) await Promise.all([unpinNamespace(pins.user), unpinNamespace(pins.net)]);
    expect([existsSync(pins.user), existsSync(pins.net), mounted(pins.user), mounted(pins.net)]).toEqual([false, false, false, false]);
  });
});
