import { describe, expect, it } from 'vitest';
import { buildRuntimeSpec, type SandboxSpecInput } from '../../../runner/sandbox/spec';
import { buildDefaultSeccompProfile } from '../../../runner/sandbox/seccomp';

const CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

const STANDARD_MOUNTS = [
  { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
  { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
  { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
  { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
  { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
  { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
  { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
];

const MASKED = [
  '/proc/asound', '/proc/acpi', '/proc/interrupts', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
  '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
];
const READONLY = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

function minimalInput(): SandboxSpecInput {
  return {
    process: { args: ['/bin/sh', '-c', 'make'], env: ['PATH=/usr/bin:/bin'], cwd: '/src', uid: 0, gid: 0, nofile: { soft: 1024, hard: 20000 } },
    root: { path: '/var/lib/berth/rootfs/x/merged', readonly: false },
    hostname: 'build',
    network: { kind: 'new' },
    idmap: { hostBase: 100000, size: 65536 },
    cgroupsPath: '/berth/berth-abc/c',
  };
}

describe('buildRuntimeSpec', () => {
  it('builds the isolated default spec for a build step', () => {
    expect(buildRuntimeSpec(minimalInput())).toEqual({
      ociVersion: '1.0.2',
      process: {
        terminal: false,
        user: { uid: 0, gid: 0 },
        args: ['/bin/sh', '-c', 'make'],
        env: ['PATH=/usr/bin:/bin'],
        cwd: '/src',
        capabilities: { bounding: CAPS, effective: CAPS, permitted: CAPS },
        rlimits: [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 20000 }],
        noNewPrivileges: true,
      },
      root: { path: '/var/lib/berth/rootfs/x/merged', readonly: false },
      hostname: 'build',
      mounts: STANDARD_MOUNTS,
      linux: {
        uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
        gidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
        namespaces: [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'network' }, { type: 'user' }],
        cgroupsPath: '/berth/berth-abc/c',
        resources: { devices: [{ allow: false, access: 'rwm' }] },
        maskedPaths: MASKED,
        readonlyPaths: READONLY,
        seccomp: buildDefaultSeccompProfile(),
      },
    });
  });

  it('builds a container spec with limits, injected files, a joined netns and a hook', () => {
    const input: SandboxSpecInput = {
      ...minimalInput(),
      process: {
        args: ['nginx', '-g', 'daemon off;'], env: ['A=1'], cwd: '/', uid: 33, gid: 33, additionalGids: [4, 27], terminal: true,
        nofile: { soft: 1024, hard: 1024 },
      },
      root: { path: '/r', readonly: true },
      hostname: 'web-1',
      tmpfsRun: true,
      mounts: [
        { kind: 'bind', source: '/b/hosts', destination: '/etc/hosts', readonly: true },
        { kind: 'bind', source: '/cache/apt', destination: '/var/cache/apt', readonly: false },
        { kind: 'tmpfs', destination: '/tmp', sizeBytes: 1048576 },
      ],
      network: { kind: 'path', path: '/run/netns/berth-abc' },
      resources: { memoryBytes: 512 * 1024 * 1024, cpus: 1.5, cpuShares: 512, pidsLimit: 256 },
      oomScoreAdj: 500,
      createRuntimeHooks: [{ path: '/bin/sh', args: ['sh', '-c', 'true'], timeout: 5 }],
    };
    const spec = buildRuntimeSpec(input);
    expect(spec.process).toEqual({
      terminal: true,
      user: { uid: 33, gid: 33, additionalGids: [4, 27] },
      args: ['nginx', '-g', 'daemon off;'],
      env: ['A=1'],
      cwd: '/',
      capabilities: { bounding: CAPS, effective: CAPS, permitted: CAPS },
      rlimits: [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 1024 }],
      noNewPrivileges: true,
      oomScoreAdj: 500,
    });
    expect(spec.root).toEqual({ path: '/r', readonly: true });
    expect(spec.mounts).toEqual([
      ...STANDARD_MOUNTS,
      { destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=755', 'size=65536k'] },
      { destination: '/etc/hosts', type: 'bind', source: '/b/hosts', options: ['rbind', 'rprivate', 'nosuid', 'nodev', 'ro'] },
      { destination: '/var/cache/apt', type: 'bind', source: '/cache/apt', options: ['rbind', 'rprivate', 'nosuid', 'nodev', 'rw'] },
      { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777', 'size=1048576'] },
    ]);
    expect(spec.hooks).toEqual({ createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', 'true'], timeout: 5 }] });
    expect(spec.linux.namespaces).toEqual([
      { type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'network', path: '/run/netns/berth-abc' }, { type: 'user' },
    ]);
    // Joining a prepared user namespace keeps the id maps: runc still needs them for its own chowns.
    const joined = buildRuntimeSpec({ ...input, userNamespacePath: '/run/berth/userns/berth-abc' });
    expect(joined.linux.namespaces).toEqual([
      { type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'network', path: '/run/netns/berth-abc' }, { type: 'user', path: '/run/berth/userns/berth-abc' },
    ]);
    expect(joined.linux.uidMappings).toEqual(spec.linux.uidMappings);
    expect(spec.linux.resources).toEqual({
      devices: [{ allow: false, access: 'rwm' }],
      memory: { limit: 536870912, swap: 536870912 },
      cpu: { quota: 150000, period: 100000, shares: 512 },
      pids: { limit: 256 },
    });
  });

  it('refuses ids outside the user namespace and nonsense limits', () => {
    expect(() => buildRuntimeSpec({ ...minimalInput(), process: { ...minimalInput().process, uid: 70000 } })).toThrow('Cannot map id 70000');
    expect(() => buildRuntimeSpec({ ...minimalInput(), process: { ...minimalInput().process, args: [] } })).toThrow('no arguments');
    expect(() => buildRuntimeSpec({ ...minimalInput(), process: { ...minimalInput().process, cwd: 'src' } })).toThrow('"src": it must be absolute');
    expect(() => buildRuntimeSpec({ ...minimalInput(), resources: { memoryBytes: 1000 } })).toThrow('Cannot limit memory to "1000"');
    expect(() => buildRuntimeSpec({ ...minimalInput(), resources: { pidsLimit: 0 } })).toThrow('Cannot limit processes to "0"');
    expect(() => buildRuntimeSpec({ ...minimalInput(), resources: { cpus: -1 } })).toThrow('Cannot limit CPUs to "-1"');
    expect(() => buildRuntimeSpec({ ...minimalInput(), mounts: [{ kind: 'bind', source: 'rel', destination: '/x', readonly: true }] })).toThrow('"rel"');
  });
});

describe('buildDefaultSeccompProfile', () => {
  const profile = buildDefaultSeccompProfile();

  it('allows by default and refuses the calls Docker documents as blocked, on every x86 ABI', () => {
    expect(profile.defaultAction).toBe('SCMP_ACT_ALLOW');
    expect(profile.architectures).toEqual(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
    const blocked = profile.syscalls[0]!;
    expect(blocked.action).toBe('SCMP_ACT_ERRNO');
    expect(blocked.errnoRet).toBe(1);
    for (const name of ['mount', 'umount2', 'pivot_root', 'kexec_load', 'init_module', 'finit_module', 'delete_module', 'reboot', 'swapon',
      'swapoff', 'keyctl', 'add_key', 'request_key', 'bpf', 'perf_event_open', 'unshare', 'setns', 'open_by_handle_at', 'userfaultfd',
      'iopl', 'ioperm', 'acct', 'settimeofday', 'clock_settime', 'lookup_dcookie', 'quotactl', 'name_to_handle_at', 'nfsservctl', 'vm86',
      'fsopen', 'move_mount', 'open_tree', 'io_uring_setup']) {
      expect(blocked.names).toContain(name);
    }
    // Kernel >= 4.8: Docker allows ptrace, and so do we.
    expect(blocked.names).not.toContain('ptrace');
  });

  it('refuses clone with any namespace flag and makes clone3 fall back', () => {
    const clone = profile.syscalls.filter((r) => r.names.includes('clone'));
    expect(clone.map((r) => r.args![0]!.value)).toEqual([0x80, 0x20000, 0x2000000, 0x4000000, 0x8000000, 0x10000000, 0x20000000, 0x40000000]);
    expect(clone.every((r) => r.args![0]!.op === 'SCMP_CMP_MASKED_EQ' && r.args![0]!.valueTwo === r.args![0]!.value)).toBe(true);
    expect(profile.syscalls.find((r) => r.names.includes('clone3'))).toEqual({ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 });
  });

  it('refuses dangerous personality flags but not the query value 0xffffffff', () => {
    const rules = profile.syscalls.filter((r) => r.names.includes('personality'));
    const refused = (value: number) => rules.some((r) => ((value & r.args![0]!.value) >>> 0) === r.args![0]!.valueTwo);
    expect(refused(0)).toBe(false);
    expect(refused(8)).toBe(false);
    expect(refused(0x20000)).toBe(false);
    expect(refused(0xffffffff)).toBe(false);
    expect(refused(0x0040000)).toBe(true); // ADDR_NO_RANDOMIZE
    expect(refused(0x0400000)).toBe(true); // READ_IMPLIES_EXEC
    expect(refused(0x0100000 | 8)).toBe(true); // MMAP_PAGE_ZERO
  });
});
