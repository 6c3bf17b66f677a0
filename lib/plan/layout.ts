// The child plan's layout, mirrored from native/plan.h. test/layout.test.ts checks these
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
  UMOUNT: 55,
  TIME_FOR_INIT: 56,
  EXIT: 60,
} as const;

export const EXEC_VIA_INIT = 1;
/** NSB_OP_CHDIR: on failure, fall back to "/" (the default cwd, not one the user chose). */
export const CHDIR_FALLBACK_ROOT = 1;

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
  65: 'umount2',
};

/** Steps that are not ops of the plan (negative `op` in a report). */
export const Step = {
  FDS: -1,
  START: -2,
  INIT: -3,
  EXEC: -4,
  CLONE: -10,
  SETGROUPS: -11,
  UID_MAP: -12,
  GID_MAP: -13,
  TIME_OFFSETS: -14,
  CGROUP: -15,
  PIPES: -16,
} as const;

export const Report = { ERROR: 1, STARTED: 2, EXIT: 3 } as const;
