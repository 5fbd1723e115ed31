// A container's user and network namespaces, made before runc runs and pinned by path, so runc joins
// them instead of creating them. The network namespace must belong to the container's user namespace
// (or the container's root cannot mount sysfs, bind low ports, or configure its own interfaces), which
// is why it used to be made by runc and wired from a hook that paused the start. Made here, the
// network is attached before runc starts and the start does not wait on a hook.
//
// One perl process (perl-base is Essential on Debian) does it without further execs: a child unshares
// both namespaces and raises `lo` (IPv4 and IPv6 loopback); the parent, still host root in the
// host's namespaces, writes the child's id maps and bind-mounts the two namespace files onto the pin
// paths; then the child exits. Nothing runs afterwards: the pins keep the namespaces. Paths are ours
// and fixed per container id, so runc never opens a /proc path whose pid could have been reused.
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand, runCommandOrThrow } from './exec';
import type { IdMap } from './idmap';
import { NETNS_DIR } from './network';

/** Where user namespaces are pinned while runc joins them; the network namespace keeps its owner alive after. */
export const USERNS_DIR = '/run/berth/userns';

const SYSCALLS: Record<string, { unshare: number; mount: number }> = {
  x64: { unshare: 272, mount: 165 },
  arm64: { unshare: 97, mount: 40 },
};

// $ARGV: unshare nr, mount nr, user pin, net pin, uid_map, gid_map. CLONE_NEWUSER|CLONE_NEWNET =
// 0x50000000; SIOCGIFFLAGS 0x8913, SIOCSIFFLAGS 0x8914 on a 40-byte struct ifreq; MS_BIND 4096.
export const PREPARE_SCRIPT = `use strict;
my ($unshare, $mount, $userPin, $netPin, $uidMap, $gidMap) = @ARGV;
pipe(my $fromChild, my $toParent) or die "pipe: $!\\n";
pipe(my $fromParent, my $toChild) or die "pipe: $!\\n";
my $pid = fork() // die "fork: $!\\n";
if ($pid == 0) {
  close $fromChild; close $toChild;
  syscall($unshare, 0x50000000) == 0 or die "unshare: $!\\n";
  socket(my $s, 2, 2, 0) or die "socket: $!\\n";
  my $req = pack('a16 x24', 'lo');
  ioctl($s, 0x8913, $req) or die "read the flags of lo: $!\\n";
  ioctl($s, 0x8914, pack('a16 s x22', 'lo', unpack('x16 s', $req) | 1)) or die "raise lo: $!\\n";
  syswrite($toParent, 'u') == 1 or die "report: $!\\n";
  sysread($fromParent, my $done, 1);
  exit 0;
}
close $toParent; close $fromParent;
if (sysread($fromChild, my $ready, 1) != 1) { waitpid($pid, 0); die "the namespaces could not be made\\n"; }
for (['uid_map', $uidMap], ['gid_map', $gidMap]) {
  open(my $f, '>', "/proc/$pid/$_->[0]") or die "open $_->[0]: $!\\n";
  syswrite($f, $_->[1]) or die "write $_->[0]: $!\\n";
  close($f) or die "write $_->[0]: $!\\n";
}
for (['user', $userPin], ['net', $netPin]) {
  open(my $f, '>', $_->[1]) or die "create $_->[1]: $!\\n";
  close $f;
  syscall($mount, "/proc/$pid/ns/$_->[0]", $_->[1], 0, 4096, 0) == 0 or die "pin $_->[1]: $!\\n";
}
syswrite($toChild, 'x');
waitpid($pid, 0);
`;

export interface NamespacePins {
  user: string;
  net: string;
}

export function describeNamespacePins(containerId: string): NamespacePins {
  return { user: join(USERNS_DIR, containerId), net: join(NETNS_DIR, containerId) };
}

export function buildPrepareArgv(pins: NamespacePins, idmap: IdMap, arch: string = process.arch): string[] {
  const nr = SYSCALLS[arch];
  if (!nr) throw new Error(`Cannot prepare namespaces on architecture "${arch}": only ${Object.keys(SYSCALLS).join(' and ')} are known`);
  const map = `0 ${idmap.hostBase} ${idmap.size}\n`;
  return ['perl', '-e', PREPARE_SCRIPT, String(nr.unshare), String(nr.mount), pins.user, pins.net, map, map];
}

/** Make and pin the container's user namespace (with `idmap`) and network namespace (lo up) it owns. */
export async function prepareNamespaces(containerId: string, idmap: IdMap): Promise<NamespacePins> {
  const pins = describeNamespacePins(containerId);
  await Promise.all([mkdir(USERNS_DIR, { recursive: true, mode: 0o700 }), mkdir(NETNS_DIR, { recursive: true })]);
  const r = await runCommand(buildPrepareArgv(pins, idmap));
  if (r.code !== 0) {
    await Promise.all([unpinNamespace(pins.user), unpinNamespace(pins.net)]).catch(() => {});
    throw new Error(`Cannot prepare the namespaces of container "${containerId}": ${r.stderr.trim() || `exit ${r.code}`}`);
  }
  return pins;
}

/** Remove a pin made by prepareNamespaces (the user one once runc has joined); idempotent. */
export async function unpinNamespace(path: string): Promise<void> {
  if (!existsSync(path)) return;
  const r = await runCommand(['umount', path]);
  if (r.code !== 0 && !/not mounted|no mount point/i.test(r.stderr)) await runCommandOrThrow(['umount', '-l', path]);
  await rm(path, { force: true });
}

export async function unpinUserNamespace(containerId: string): Promise<void> {
  await unpinNamespace(describeNamespacePins(containerId).user);
}
