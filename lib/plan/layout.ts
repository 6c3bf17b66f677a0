// The child plan's layout, mirrored from native/plan.h. test/plan/layout.test.ts checks these
// numbers against the ones the addon was compiled with.

export const PLAN_MAGIC = 0x3142534e;
export const PLAN_VERSION = 1;
export const HEADER_SIZE = 16;
export const OP_SIZE = 48;
export const REPORT_SIZE = 32;

/** Op kinds (native/plan.h `nsb_op_kind`). */
export const Op = {
  SETSID: 1,
  PROPAGATION: 2,
  SETHOSTNAME: 3,
  SETDOMAINNAME: 4,
  LOOPBACK_UP: 5,
  UNSHARE: 6,
  SETGROUPS: 7,
  SETRESGID: 8,
  SETRESUID: 9,
  UMASK: 10,
  CHDIR: 11,
  EXEC: 12,
  SETNS: 13,
  MOUNT: 14,
  PRCTL: 15,
  FS_OPEN_TREE: 16,
  FS_OPEN_PATH: 17,
  FS_NEW_ROOT: 18,
  FS_BIND: 19,
  FS_MOUNT: 20,
  FS_OVERLAY: 21,
  FS_MASK: 22,
  FS_READONLY: 23,
  FS_MKDIR: 24,
  FS_SYMLINK: 25,
  FS_FILE: 26,
  FS_ENTER: 27,
  DIE_WITH_PARENT: 28,
  FS_EXTRA_TREE: 29,
  /** From here on, mount flags by mount(MS_REMOUNT | MS_BIND) after the attach (no mount_setattr before 5.12). */
  FS_NO_SETATTR: 33,
  RLIMIT: 40,
  CAPS: 41,
  SECCOMP: 42,
  LANDLOCK: 43,
  /** A read lock on s0 held by nsbind-init for the sandbox's life (bwrap's --lock-file). */
  LOCK_FILE: 44,
  NET_LISTEN: 50,
  UMOUNT: 55,
  EXIT: 60,
  SETCTTY: 62,
  /** Slot n0 = a mount of a new file (the n1 bytes of blob s0, mode n2) on a private tmpfs, for FS_BIND. */
  FS_DATA: 63,
} as const;

export const EXEC_VIA_INIT = 1;
/** NSB_OP_CAPS: keep every capability the child holds. */
export const CAPS_ALL = 1;
/** NSB_OP_CHDIR: on failure, fall back to "/" (the default cwd, not one the user chose). */
export const CHDIR_FALLBACK_ROOT = 1;
/** Filesystem op flags (native/plan.h `NSB_FS_*`). */
export const FsFlag = {
  OPTIONAL: 1,
  CREATE: 2,
  NEW_TMPFS: 4,
  CHROOT: 8,
  MADE_HERE: 16,
  /** FS_OVERLAY: layers as /proc/self/fd/N option strings (kernels before 6.8 lack "lowerdir+" by fd). */
  OVERLAY_PATHS: 1 << 10,
  /** FS_READONLY: bind the path over itself, flags unchanged (a mount point's name cannot be renamed or removed). */
  PIN: 1 << 11,
  /** FS_MASK: clone the empty file by attaching its tmpfs over the root for a moment (kernels before 6.15 cannot clone from a detached mount). */
  MASK_ATTACH: 1 << 15,
} as const;

/** Which system call failed (native/plan.h `nsb_syscall_id`) -> its name. */
export const syscallNames: Record<number, string> = {
  0: '',
  1: 'clone3',
  2: 'clone',
  3: 'setsid',
  4: 'mount',
  5: 'sethostname',
  6: 'setdomainname',
  7: 'socket',
  8: 'ioctl',
  9: 'unshare',
  10: 'setgroups',
  11: 'setresgid',
  12: 'setresuid',
  13: 'chdir',
  14: 'execve',
  15: 'prctl',
  16: 'fcntl',
  17: 'dup3',
  18: 'close_range',
  19: 'read',
  20: 'write',
  21: 'open',
  22: 'setns',
  23: 'fork',
  24: 'pipe2',
  25: 'execveat',
  26: 'newuidmap',
  27: 'newgidmap',
  28: 'waitid',
  29: 'mmap',
  30: 'open_tree',
  31: 'move_mount',
  32: 'fsopen',
  33: 'fsconfig',
  34: 'fsmount',
  35: 'mount_setattr',
  36: 'openat2',
  37: 'mkdirat',
  38: 'symlinkat',
  39: 'openat',
  40: 'pivot_root',
  41: 'umount2',
  42: 'chroot',
  43: 'fchdir',
  44: 'statx',
  45: 'fchmod',
  50: 'prlimit64',
  51: 'capget',
  52: 'capset',
  53: 'prctl(PR_CAPBSET_DROP)',
  54: 'prctl(PR_CAP_AMBIENT)',
  55: 'seccomp',
  56: 'landlock_create_ruleset',
  57: 'landlock_add_rule',
  58: 'landlock_restrict_self',
  60: 'RTM_NEWLINK',
  61: 'RTM_GETLINK',
  62: 'RTM_SETLINK',
  63: 'RTM_NEWADDR',
  64: 'RTM_NEWROUTE',
  68: 'bind',
  69: 'listen',
  70: 'sendmsg',
  71: 'recvmsg',
};

/** Steps that are not ops of the plan (negative `op` in a report). */
export const Step = {
  FDS: -1,
  START: -2,
  INIT: -3,
  EXEC: -4,
  SETUP_EXEC: -5,
  KILLED: -6,
  PLAN: -7,
  CLONE: -10,
  SETGROUPS: -11,
  UID_MAP: -12,
  GID_MAP: -13,
  TIME_OFFSETS: -14,
  CGROUP: -15,
  PIPES: -16,
  TIME_NS: -20,
  VETH_CREATE: -50,
  VETH_PEER: -51,
  VETH_SANDBOX: -52,
  EGRESS_RECEIVE: -53,
  FORWARD_SOCKET: -54,
} as const;

export const Report = { ERROR: 1, STARTED: 2, EXIT: 3, READY: 4 } as const;
