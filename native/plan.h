// The child plan: what the sandbox child does between clone and exec, as data.
//
// TypeScript (lib/plan.ts) decides everything and encodes it as one buffer:
//
//   [nsb_plan_header][nsb_op x nops][arena]
//
// The child walks the ops in order with raw syscalls. Strings and byte blobs live in
// the arena and are referenced by offset (offset 0 is the empty string: the arena starts
// with a NUL). This header is the source of truth; lib/plan/layout.ts mirrors it by name.
// test/plan/numbers.test.ts compares every op, syscall id, step, flag and report kind of
// this file with the mirror (both ways), and test/plan/layout.test.ts compares the sizes with
// the addon as compiled; a number added on one side only fails there.
#pragma once

#include <stdint.h>

#define NSB_PLAN_MAGIC 0x3142534eu  // "NSB1", little-endian
#define NSB_PLAN_VERSION 1u

struct nsb_plan_header {
  uint32_t magic;
  uint32_t version;
  uint32_t nops;
  uint32_t arena_len;
};

struct nsb_op {
  uint32_t kind;   // NSB_OP_*
  uint32_t flags;  // per-op bits
  uint32_t s[4];   // arena offsets: strings (NUL-terminated) or blobs
  uint64_t n[3];   // numbers
};

static_assert(sizeof(nsb_plan_header) == 16, "plan header layout");
static_assert(sizeof(nsb_op) == 48, "op layout");

// Op kinds. The numbers are part of the TS/C++ contract. Ranges by concern, so that
// work on one concern never renumbers another's:
//   1-15 process and namespaces (this list), 16-39 filesystem, 40-49 security,
//   50-54 network, 55-59 joining namespaces, 60-63 misc.
enum nsb_op_kind : uint32_t {
  NSB_OP_NONE = 0,
  NSB_OP_SETSID = 1,          // setsid()
  NSB_OP_PROPAGATION = 2,     // mount(NULL, "/", NULL, n0 | MS_REC, NULL)
  NSB_OP_SETHOSTNAME = 3,     // sethostname(s0)
  NSB_OP_SETDOMAINNAME = 4,   // setdomainname(s0)
  NSB_OP_LOOPBACK_UP = 5,     // SIOCSIFFLAGS lo IFF_UP
  NSB_OP_UNSHARE = 6,         // unshare(n0)
  NSB_OP_SETGROUPS = 7,       // setgroups(n0 = count, s0 = uint32 blob)
  NSB_OP_SETRESGID = 8,       // setresgid(n0, n0, n0)
  NSB_OP_SETRESUID = 9,       // setresuid(n0, n0, n0)
  NSB_OP_UMASK = 10,          // umask(n0)
  NSB_OP_CHDIR = 11,          // close the setup's descriptors, then chdir to s0 resolved
                              // inside the root (openat2 RESOLVE_IN_ROOT|NO_MAGICLINKS)
  NSB_OP_EXEC = 12,           // last op: exec s0 (PATH search in s1 when s0 has no '/'),
                              // directly or through the init (flags & NSB_EXEC_VIA_INIT)
  NSB_OP_SETNS = 13,          // setns(job extra fd n0, n1 = nstype)
  NSB_OP_MOUNT = 14,          // mount(s0, s1, s2, n0, s3); an empty string is NULL
  NSB_OP_PRCTL = 15,          // prctl(n0, n1, n2, 0, 0)
  // Filesystem (native/fs.cc). Sources are captured first (host paths as the caller
  // sees them, before any step); destinations are resolved inside the sandbox's root.
  NSB_OP_FS_OPEN_TREE = 16,   // slot n0 = open_tree(s0, OPEN_TREE_CLONE | AT_RECURSIVE)
  NSB_OP_FS_OPEN_PATH = 17,   // slot n0 = open(s0, O_PATH | n1)
  NSB_OP_FS_NEW_ROOT = 18,    // the root: slot n0 (flags & NSB_FS_NEW_TMPFS: a tmpfs with
                              // options blob s1) mounted over "/" until NSB_OP_FS_ENTER
  NSB_OP_FS_BIND = 19,        // attach slot n0 at s0, mount attributes n1 set recursively
  NSB_OP_FS_MOUNT = 20,       // fsopen(s1) + options blob s2 + fsmount(attrs n1), at s0
  NSB_OP_FS_OVERLAY = 21,     // overlay at s0: slots in int32 blob s1 = [n, lower.., upper,
                              // work] (upper -1: a tmpfs-backed layer), options blob s2
  NSB_OP_FS_MASK = 22,        // hide s0: a read-only empty tmpfs, or slot n0 (/dev/null)
  NSB_OP_FS_READONLY = 23,    // s0 and its submounts read-only
  NSB_OP_FS_MKDIR = 24,       // mkdir s0 (mode n0)
  NSB_OP_FS_SYMLINK = 25,     // symlink s0 -> s1
  NSB_OP_FS_FILE = 26,        // file s0 with the n0 bytes of blob s1, mode n1
  NSB_OP_FS_ENTER = 27,       // into the root: pivot_root and detach the old root, or
                              // (flags & NSB_FS_CHROOT) chroot
  NSB_OP_DIE_WITH_PARENT = 28,  // arm the parent-death signal again (a credential change
                                // cleared it), then check the parent still lives
  // 29-32 identity (lib/namespaces/idmap.ts)
  NSB_OP_FS_EXTRA_TREE = 29,  // slot n0 = job extra fd n1: a detached tree the parent opened
                              // and idmapped for the tree's owner (an idmapped bind,
                              // native/idmap.cc), taken over like an NSB_OP_FS_OPEN_TREE capture
  // 33-35 kernels without an interface (native/fs_remount.cc)
  NSB_OP_FS_NO_SETATTR = 33,  // from here on, binds, masks and read-only steps set their mount
                              // flags with mount(MS_REMOUNT | MS_BIND) after the attach
                              // (mount_setattr came with Linux 5.12)
  // 40-49 security (native/security.cc)
  NSB_OP_RLIMIT = 40,         // prlimit64(0, n0, {soft n1, hard n2}, NULL)
  NSB_OP_CAPS = 41,           // keep capabilities n0 (mask; flags & NSB_CAPS_ALL: all held),
                              // n1 = cap_last_cap: bounding, e/p/i, ambient
  NSB_OP_SECCOMP = 42,        // seccomp(SET_MODE_FILTER, 0, {n0 insns, blob s0})
  NSB_OP_LANDLOCK = 43,       // a Landlock ruleset (handled n0 fs, n1 net, n2 scoped; rules
                              // blob s0, s[2] of them), then restrict_self(flags): landlock.h
  NSB_OP_LOCK_FILE = 44,      // a read lock (fcntl F_SETLK F_RDLCK) on s0, opened inside the
                              // sandbox and kept open for its life: run by nsbind-init only
                              // (lock_file.h; bubblewrap's --lock-file)
  // 50-54 network (native/egress_child.cc)
  NSB_OP_NET_LISTEN = 50,     // a TCP socket listening on 127.0.0.1:n0 (backlog n2), sent
                              // over the socketpair in job extra fd n1 (SCM_RIGHTS), then
                              // closed here: the sandbox keeps no copy
  NSB_OP_UMOUNT = 55,         // umount2(s0, n0): namespaces.release() of a persisted ns
  NSB_OP_EXIT = 60,           // last op of a helper child that only sets something up:
                              // _exit(n0) instead of exec
  NSB_OP_SETCTTY = 62,        // setsid(), then ioctl(n0, TIOCSCTTY, 0): the terminal on
                              // fd n0 becomes the session's controlling terminal (pty)
  NSB_OP_FS_DATA = 63,        // slot n0 = a mount of a new file holding the n1 bytes of blob
                              // s0 (mode n2) on a private detached tmpfs, for NSB_OP_FS_BIND
                              // (bubblewrap's --bind-data; native/fs.cc op_data)
  NSB_OP_COUNT = 64           // an upper bound, not a count
};

// NSB_OP_EXEC flags.
#define NSB_EXEC_VIA_INIT 1u
// NSB_OP_CHDIR flags: fall back to "/" when the directory is missing.
#define NSB_CHDIR_FALLBACK_ROOT 1u
// Filesystem op flags.
#define NSB_FS_OPTIONAL 1u    // a missing source or path skips the step
#define NSB_FS_CREATE 2u      // may create missing destinations (only in mounts it made)
#define NSB_FS_NEW_TMPFS 4u   // NSB_OP_FS_NEW_ROOT: a fresh tmpfs
#define NSB_FS_CHROOT 8u      // NSB_OP_FS_ENTER: chroot instead of pivot_root
#define NSB_FS_MADE_HERE 16u  // NSB_OP_FS_MOUNT: a filesystem the sandbox owns (creatable)
#define NSB_FS_OVERLAY_PATHS 1024u  // 1u << 10: NSB_OP_FS_OVERLAY: layers as /proc/self/fd paths (before 6.8)
#define NSB_FS_PIN 2048u  // 1u << 11: NSB_OP_FS_READONLY: bind the path over itself with its flags unchanged
                          // (a mount point cannot be renamed or removed: .files() pins the names
                          // leading to a protected path)
#define NSB_FS_MASK_ATTACH 32768u  // 1u << 15: NSB_OP_FS_MASK: clone the empty file by attaching its tmpfs
                                   // over the root for a moment (before 6.15: no clone from a detached mount)
// NSB_OP_CAPS flags: keep every capability the child holds (n0 is ignored).
#define NSB_CAPS_ALL 1u

// What failed, for the report; lib/plan/layout.ts has the names. Ranges by concern:
//   1-29 core, 30-49 filesystem, 50-59 security, 60-64 network, 65-69 joining.
enum nsb_syscall_id : int32_t {
  NSB_SYS_NONE = 0,
  NSB_SYS_CLONE3 = 1,
  NSB_SYS_CLONE = 2,
  NSB_SYS_SETSID = 3,
  NSB_SYS_MOUNT = 4,
  NSB_SYS_SETHOSTNAME = 5,
  NSB_SYS_SETDOMAINNAME = 6,
  NSB_SYS_SOCKET = 7,
  NSB_SYS_IOCTL = 8,
  NSB_SYS_UNSHARE = 9,
  NSB_SYS_SETGROUPS = 10,
  NSB_SYS_SETRESGID = 11,
  NSB_SYS_SETRESUID = 12,
  NSB_SYS_CHDIR = 13,
  NSB_SYS_EXECVE = 14,
  NSB_SYS_PRCTL = 15,
  NSB_SYS_FCNTL = 16,
  NSB_SYS_DUP3 = 17,
  NSB_SYS_CLOSE_RANGE = 18,
  NSB_SYS_READ = 19,
  NSB_SYS_WRITE = 20,
  NSB_SYS_OPEN = 21,
  NSB_SYS_SETNS = 22,
  NSB_SYS_FORK = 23,
  NSB_SYS_PIPE = 24,
  NSB_SYS_EXECVEAT = 25,
  NSB_SYS_NEWUIDMAP = 26,  // the helper program, for a caller's subordinate id ranges
  NSB_SYS_NEWGIDMAP = 27,
  NSB_SYS_WAITID = 28,
  NSB_SYS_MMAP = 29,       // nsbind-init mapping the plan it was sent
  NSB_SYS_OPEN_TREE = 30,
  NSB_SYS_MOVE_MOUNT = 31,
  NSB_SYS_FSOPEN = 32,
  NSB_SYS_FSCONFIG = 33,
  NSB_SYS_FSMOUNT = 34,
  NSB_SYS_MOUNT_SETATTR = 35,
  NSB_SYS_OPENAT2 = 36,
  NSB_SYS_MKDIRAT = 37,
  NSB_SYS_SYMLINKAT = 38,
  NSB_SYS_OPENAT = 39,
  NSB_SYS_PIVOT_ROOT = 40,
  NSB_SYS_UMOUNT2 = 41,
  NSB_SYS_CHROOT = 42,
  NSB_SYS_FCHDIR = 43,
  NSB_SYS_STATX = 44,
  NSB_SYS_FCHMOD = 45,
  // 50-59 security
  NSB_SYS_PRLIMIT = 50,
  NSB_SYS_CAPGET = 51,
  NSB_SYS_CAPSET = 52,
  NSB_SYS_CAPBSET_DROP = 53,   // prctl(PR_CAPBSET_DROP)
  NSB_SYS_CAP_AMBIENT = 54,    // prctl(PR_CAP_AMBIENT)
  NSB_SYS_SECCOMP = 55,
  NSB_SYS_LANDLOCK_CREATE_RULESET = 56,
  NSB_SYS_LANDLOCK_ADD_RULE = 57,
  NSB_SYS_LANDLOCK_RESTRICT_SELF = 58,
  // Network (60-64): rtnetlink requests, named by message type.
  NSB_SYS_RTM_NEWLINK = 60,
  NSB_SYS_RTM_GETLINK = 61,
  NSB_SYS_RTM_SETLINK = 62,
  NSB_SYS_RTM_NEWADDR = 63,
  NSB_SYS_RTM_NEWROUTE = 64,
  // 68-71 egress and port forwarding
  NSB_SYS_BIND = 68,
  NSB_SYS_LISTEN = 69,
  NSB_SYS_SENDMSG = 70,
  NSB_SYS_RECVMSG = 71,
  NSB_SYS_COUNT = 128      // an upper bound
};

// Steps that are not ops of the plan (the report's `op` field is then negative).
#define NSB_STEP_FDS (-1)         // arranging stdio and closing the rest
#define NSB_STEP_START (-2)       // waiting for the parent's go-ahead
#define NSB_STEP_INIT (-3)        // starting nsbind's init (PID 1)
#define NSB_STEP_EXEC (-4)        // the program's exec, done by the init
#define NSB_STEP_SETUP_EXEC (-5)  // starting nsbind-init to run the setup in its own memory
#define NSB_STEP_KILLED (-6)      // the setup process died of signal `err` (an OOM kill...)
#define NSB_STEP_PLAN (-7)        // nsbind-init receiving its plan
// Steps the parent does for the child, while it waits.
#define NSB_STEP_CLONE (-10)
#define NSB_STEP_SETGROUPS (-11)  // /proc/PID/setgroups
#define NSB_STEP_UID_MAP (-12)
#define NSB_STEP_GID_MAP (-13)
#define NSB_STEP_TIME_OFFSETS (-14)
#define NSB_STEP_CGROUP (-15)     // joining the sandbox's cgroup (v1, or without clone3)
#define NSB_STEP_PIPES (-16)      // creating the stdio pipes
#define NSB_STEP_TIME_NS (-20)    // the child unsharing the time namespace (before its offsets)
// The network concern's parent steps (native/veth.h), numbered after its op range.
#define NSB_STEP_VETH_CREATE (-50)   // creating the pair, the sandbox end in the child's netns
#define NSB_STEP_VETH_PEER (-51)     // the other end: address, up
#define NSB_STEP_VETH_SANDBOX (-52)  // the sandbox end: address, up, default route
// Egress and forwarding (lib/net/egress/): steps the parent does, named in errors.
#define NSB_STEP_EGRESS_RECEIVE (-53)  // taking the listening sockets the setup sent
#define NSB_STEP_FORWARD_SOCKET (-54)  // a socket made inside the sandbox's netns

// Records on the report pipe, child (or init) -> parent.
enum nsb_report_kind : int32_t {
  NSB_REPORT_ERROR = 1,    // a step failed: op, sys, err
  NSB_REPORT_STARTED = 2,  // the init has exec'd the program: pid (inside the sandbox)
  NSB_REPORT_EXIT = 3,     // the init's program ended: status (as from wait4)
  NSB_REPORT_READY = 4,    // nsbind-init runs in its own memory, waiting for its plan
};

struct nsb_report {
  int32_t kind;
  int32_t op;
  int32_t sys;
  int32_t err;
  int32_t pid;
  int32_t status;
  // NSB_REPORT_EXIT: the program's own peak RSS (KiB). The top process's rusage cannot
  // say it: a CLONE_VM child's peak includes the Node process it shared memory with.
  int32_t maxrss_kb;
  // The spawn's secret (nsb_init_msg.token): a record without it was not written by nsbind
  // and is ignored. (The report pipe is unreachable from the sandbox; this is the second
  // line, should a descriptor ever leak.)
  int32_t token;
};

static_assert(sizeof(nsb_report) == 32, "report layout");
