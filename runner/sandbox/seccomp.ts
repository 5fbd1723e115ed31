// Berth's default seccomp profile. Written from the list of calls Docker documents its default profile
// as blocking ("Significant syscalls blocked by the default profile"), as a deny list: everything is
// allowed except calls that reach kernel state no namespace isolates (modules, keyrings, clocks,
// swap, reboot, accounting), that manipulate mounts or namespaces, or that are classic exploit
// primitives (userfaultfd, bpf, perf_event_open, open_by_handle_at). The capability set already stops
// most of these; seccomp is the second wall for when a capability check has a bug.
//
// Every rule is listed for x86_64, i386 and x32: a 32-bit `int 0x80` call must not slip past a rule
// written for the 64-bit numbers.

export interface SeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: 'SCMP_CMP_EQ' | 'SCMP_CMP_NE' | 'SCMP_CMP_LT' | 'SCMP_CMP_LE' | 'SCMP_CMP_GT' | 'SCMP_CMP_GE' | 'SCMP_CMP_MASKED_EQ';
}

export interface SeccompRule {
  names: string[];
  action: 'SCMP_ACT_ERRNO' | 'SCMP_ACT_ALLOW';
  errnoRet?: number;
  args?: SeccompArg[];
}

export interface SeccompProfile {
  defaultAction: 'SCMP_ACT_ALLOW' | 'SCMP_ACT_ERRNO';
  architectures: string[];
  syscalls: SeccompRule[];
}

const EPERM = 1;
const ENOSYS = 38;

/** Calls refused outright with EPERM. */
export const BLOCKED_SYSCALLS = [
  // kernel modules
  'create_module', 'init_module', 'finit_module', 'delete_module', 'query_module', 'get_kernel_syms',
  // machine-wide state no namespace isolates
  'reboot', 'kexec_load', 'kexec_file_load', 'swapon', 'swapoff', 'acct', 'quotactl', 'quotactl_fd',
  'settimeofday', 'stime', 'clock_settime', 'clock_settime64', 'clock_adjtime', 'clock_adjtime64', 'adjtimex',
  'syslog', 'nfsservctl', 'lookup_dcookie', 'sysfs', '_sysctl', 'uselib', 'ustat', 'vhangup',
  // the kernel keyring is not namespaced
  'keyctl', 'add_key', 'request_key',
  // mounts and namespaces, including the new mount API
  'mount', 'umount', 'umount2', 'pivot_root',
  'fsopen', 'fsconfig', 'fsmount', 'fspick', 'open_tree', 'move_mount', 'mount_setattr',
  'unshare', 'setns',
  // exploit primitives. ptrace stays allowed: since Linux 4.8 seccomp re-checks after a tracer
  // changes a call, which is why Docker allows it on such kernels.
  'bpf', 'perf_event_open', 'userfaultfd', 'open_by_handle_at', 'name_to_handle_at',
  'iopl', 'ioperm', 'vm86', 'vm86old', 'modify_ldt',
  'io_uring_setup', 'io_uring_enter', 'io_uring_register',
  'mbind', 'set_mempolicy', 'move_pages', 'migrate_pages', 'set_mempolicy_home_node',
  'fanotify_init', 'lsm_set_self_attr',
];

// clone's flags are its first argument on x86; any namespace flag is refused, plain forks and threads
// pass. One rule per flag because rules with several arguments AND them and seccomp has no "any bit of".
const CLONE_NAMESPACE_FLAGS = {
  CLONE_NEWTIME: 0x00000080,
  CLONE_NEWNS: 0x00020000,
  CLONE_NEWCGROUP: 0x02000000,
  CLONE_NEWUTS: 0x04000000,
  CLONE_NEWIPC: 0x08000000,
  CLONE_NEWUSER: 0x10000000,
  CLONE_NEWPID: 0x20000000,
  CLONE_NEWNET: 0x40000000,
};

// personality(2): Docker allows only PER_LINUX, PER_LINUX32, UNAME26 and the query 0xffffffff. A rule
// cannot hold two comparisons of one argument (libseccomp keeps one), so refuse each dangerous flag
// on its own: "flag set and bit 31 clear", which spares the query value.
const PERSONALITY_REFUSED_FLAGS = {
  ADDR_NO_RANDOMIZE: 0x0040000,
  FDPIC_FUNCPTRS: 0x0080000,
  MMAP_PAGE_ZERO: 0x0100000,
  ADDR_COMPAT_LAYOUT: 0x0200000,
  READ_IMPLIES_EXEC: 0x0400000,
  ADDR_LIMIT_32BIT: 0x0800000,
  SHORT_INODE: 0x1000000,
  WHOLE_SECONDS: 0x2000000,
  STICKY_TIMEOUTS: 0x4000000,
  ADDR_LIMIT_3GB: 0x8000000,
};
const BIT31 = 0x80000000;

export function buildDefaultSeccompProfile(): SeccompProfile {
  const syscalls: SeccompRule[] = [{ names: [...BLOCKED_SYSCALLS], action: 'SCMP_ACT_ERRNO', errnoRet: EPERM }];
  for (const flag of Object.values(CLONE_NAMESPACE_FLAGS)) {
    syscalls.push({
      names: ['clone'],
      action: 'SCMP_ACT_ERRNO',
      errnoRet: EPERM,
      args: [{ index: 0, value: flag, valueTwo: flag, op: 'SCMP_CMP_MASKED_EQ' }],
    });
  }
  // clone3 passes its flags in memory, which seccomp cannot read: ENOSYS makes libc fall back to clone.
  syscalls.push({ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS });
  for (const flag of Object.values(PERSONALITY_REFUSED_FLAGS)) {
    syscalls.push({
      names: ['personality'],
      action: 'SCMP_ACT_ERRNO',
      errnoRet: EPERM,
      args: [{ index: 0, value: flag + BIT31, valueTwo: flag, op: 'SCMP_CMP_MASKED_EQ' }],
    });
  }
  return {
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    syscalls,
  };
}
