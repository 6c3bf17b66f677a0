// The control pipe: what the parent (spawn.cc) tells the setup child and nsbind-init.
//
// One pipe, parent -> child, whose read end the child keeps across its exec of the init:
//
//   '1'                  the go-ahead: id maps, time offsets and the veth are in place
//   nsb_init_msg         what the init needs before anything else (only when an init runs)
//   [plan]               msg.plan_len bytes: the whole plan; the init runs it from
//                        msg.start_op on (the setup child ran the ops before that)
//
// (A second pipe, child -> parent, the exec-detect pipe, is described at exec_detect.)
//
// With NSB_INIT_READY (the setup runs in the init's own memory), the parent writes the
// message with the go-ahead but the plan only after the init has reported
// NSB_REPORT_READY and the parent has moved it into the sandbox's cgroup: no task that
// shares the Node process's memory is ever in a limited cgroup (SPEC 4).
//
// The parent keeps its end open until the program runs: a child that finds the pipe
// hung up knows its parent died (see nsb_parent_alive in interp.h).
#pragma once

#include <stdint.h>

#define NSB_INIT_MAGIC 0x494e534eu  // "NSNI"

// nsb_init_msg.flags
#define NSB_INIT_READY 1u       // report READY, then wait for the plan (setup in the init)
#define NSB_INIT_SUPERVISE 2u   // the sandbox has a cgroup: when the parent dies, or the
                                // program ends, kill everything in it (not PID 1 only)

// The supervisor's parent-death signal when it must outlive Node for a moment, to kill
// the cgroup (a sandbox with a cgroup and no pid namespace): the kernel's last real-time
// signal, which nothing else uses. Otherwise it is SIGKILL.
#define NSB_INIT_DEATHSIG 64

// nsb_init_msg.unsafe: protections switched off, for the escape suite only (lib/ reads
// NSBIND_UNSAFE_TEST_DISABLE once; see test/security/escape.test.ts). Never set otherwise.
#define NSB_UNSAFE_SETUP_DUMPABLE 1u  // the Node process stays dumpable during the setup
#define NSB_UNSAFE_INIT_DUMPABLE 2u   // nsbind-init makes itself dumpable again
#define NSB_UNSAFE_REPORT_TOKEN 4u    // the parent accepts records without the token
#define NSB_UNSAFE_SETUP_CAPS 8u      // the setup child drops its permitted set before exec
// (16, user-join-in-init, is lib/'s alone: lib/unsafe-test.ts)

struct nsb_init_msg {
  uint32_t magic;
  uint32_t flags;         // NSB_INIT_*
  uint32_t unsafe;        // NSB_UNSAFE_* (tests only)
  int32_t token;          // stamped on every report record
  int32_t expected_ppid;  // getppid() while the parent lives; 0 in a new pid namespace
  int32_t pdeathsig;      // the parent-death signal to arm (0: dieWithParent(false))
  int32_t nextra;         // descriptors at nfds+3+i (joins; then the cgroup's, below)
  int32_t cgroup_kill;    // index among them of cgroup.kill (v2, O_WRONLY), or -1
  int32_t cgroup_procs;   // index of cgroup.procs (O_RDONLY), or -1
  uint32_t plan_len;      // bytes of plan that follow
  uint32_t start_op;      // the first op the init runs
  int32_t exec_detect;    // index among the extra descriptors of the exec-detect pipe's
                          // write end, or -1: the init gives it to the program's fork
                          // alone (CLOEXEC), so the parent sees the program's exec itself
                          // as EOF, without waiting for the init's STARTED record. The
                          // fork writes one byte to it when the exec failed.
};

static_assert(sizeof(nsb_init_msg) == 48, "init message layout");
