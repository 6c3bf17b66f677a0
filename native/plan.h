// The child plan: what the sandbox child does between clone and exec, as data.
//
// TypeScript (lib/plan.ts) decides everything and encodes it as one buffer:
//
//   [nsb_plan_header][nsb_op x nops][arena]
//
// The child walks the ops in order with raw syscalls. Strings and byte blobs live in
// the arena and are referenced by offset (offset 0 is the empty string: the arena starts
// with a NUL). The layout is shared with lib/plan.ts and checked by test/layout.test.ts
// against the constants the addon exports, so the two sides cannot drift apart.
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
  NSB_OP_CHDIR = 11,          // chdir(s0)
  NSB_OP_EXEC = 12,           // last op: exec s0 (PATH search in s1 when s0 has no '/'),
                              // directly or through the init (flags & NSB_EXEC_VIA_INIT)
  NSB_OP_SETNS = 13,          // setns(job extra fd n0, n1 = nstype)
  NSB_OP_MOUNT = 14,          // mount(s0, s1, s2, n0, s3); an empty string is NULL
  NSB_OP_PRCTL = 15,          // prctl(n0, n1, n2, 0, 0)
  NSB_OP_UMOUNT = 55,         // umount2(s0, n0): namespaces.release() of a persisted ns
  NSB_OP_TIME_FOR_INIT = 56,  // the init joins extra fd n0 (a time ns): handed over at slot nfds + 1
  NSB_OP_EXIT = 60,           // last op of a helper child that only sets something up:
                              // _exit(n0) instead of exec
  NSB_OP_COUNT = 64           // an upper bound, not a count
};

// NSB_OP_EXEC flags.
#define NSB_EXEC_VIA_INIT 1u
// NSB_OP_CHDIR flags: fall back to "/" when the directory is missing.
#define NSB_CHDIR_FALLBACK_ROOT 1u

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
  NSB_SYS_UMOUNT2 = 65,
  NSB_SYS_COUNT = 128      // an upper bound
};

// Steps that are not ops of the plan (the report's `op` field is then negative).
#define NSB_STEP_FDS (-1)         // arranging stdio and closing the rest
#define NSB_STEP_START (-2)       // waiting for the parent's go-ahead
#define NSB_STEP_INIT (-3)        // starting nsbind's init (PID 1)
#define NSB_STEP_EXEC (-4)        // the program's exec, done by the init
// Steps the parent does for the child, while it waits.
#define NSB_STEP_CLONE (-10)
#define NSB_STEP_SETGROUPS (-11)  // /proc/PID/setgroups
#define NSB_STEP_UID_MAP (-12)
#define NSB_STEP_GID_MAP (-13)
#define NSB_STEP_TIME_OFFSETS (-14)
#define NSB_STEP_CGROUP (-15)     // joining the sandbox's cgroup (v1, or without clone3)
#define NSB_STEP_PIPES (-16)      // creating the stdio pipes

// Records on the report pipe, child (or init) -> parent.
enum nsb_report_kind : int32_t {
  NSB_REPORT_ERROR = 1,    // a step failed: op, sys, err
  NSB_REPORT_STARTED = 2,  // the init has exec'd the program: pid (inside the sandbox)
  NSB_REPORT_EXIT = 3,     // the init's program ended: status (as from wait4)
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
  int32_t reserved;
};

static_assert(sizeof(nsb_report) == 32, "report layout");
