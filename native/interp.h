// The plan interpreter: runs the ops of a plan (plan.h) in order, raw syscalls only.
//
// One interpreter, two hosts:
//   - the setup child (child.cc), cloned with CLONE_VM: it shares the Node process's
//     memory until its exec, which makes it fast and its cost independent of Node's heap;
//   - nsbind-init (init/init.cc), a static program with memory of its own, for sandboxes
//     whose setup must not share Node's memory (limits: an OOM kill in the sandbox's
//     cgroup must never reach Node; joining a time namespace).
// The hosts differ in what NSB_OP_EXEC with NSB_EXEC_VIA_INIT means (exec the init, or
// be the init and fork the program), passed in as a function.
//
// Rules for everything the interpreter runs (this file, fs.cc, security_ops.cc, exec.h,
// sys.h): no libc, no allocation, no locks, no stdio, no exceptions; scratch space on the
// stack. The objects are built freestanding into a static library with hidden symbols
// (binding.gyp), linked both into the addon and into the -nostdlib static init, so a call
// to anything outside that library fails the init's link.
#pragma once

#include <stdint.h>

#include "fs.h"
#include "plan.h"


#define NSB_MAX_FDS 64

struct nsb_interp;
typedef void (*nsb_exec_via_init_fn)(nsb_interp* it, int op_index, const nsb_op& op);

struct nsb_interp {
  const nsb_op* ops;
  uint32_t nops;
  const char* arena;

  int report_fd;          // records to the parent (plan.h nsb_report)
  int control_fd;         // the parent's control pipe (init/control.h), read end
  int32_t token;          // stamped on every record
  int32_t expected_ppid;  // getppid() while the parent lives; 0 in a new pid namespace
  int pdeathsig;          // what NSB_OP_DIE_WITH_PARENT arms (0: nothing)
  bool joined_pid;        // a pid namespace was joined: children are born in it
  // NSB_OP_CAPS leaves the permitted set as it is, for the exec to reduce (security_ops.h):
  // the setup child, which shares Node's memory, never holds fewer capabilities than a
  // sandbox's program until it is gone.
  bool keep_permitted;

  // Descriptors NSB_OP_SETNS refers to by index (-1: none); closed by NSB_OP_CHDIR.
  int nextra;
  int extra[NSB_MAX_FDS];

  char* const* argv;  // the program's
  char* const* envp;
  nsb_exec_via_init_fn exec_via_init;
  const void* host;  // the host's own data, for exec_via_init

  nsb_fs_state fs;
};

// Hidden: called directly, never through a PLT or GOT entry (interp.h).
#pragma GCC visibility push(hidden)

// Writes one record (with the token) on the report pipe.
void nsb_report_record(const nsb_interp* it, int32_t kind, int32_t op, int32_t sys, int32_t err,
                       int32_t pid, int32_t status, int32_t maxrss_kb);

// A failed step: one ERROR record, then exit.
[[noreturn]] void nsb_fail(const nsb_interp* it, int op, int sys, long neg_errno);

// Whether the parent that cloned us still lives (after the parent-death signal is armed:
// see nsb_arm_parent_death). By pid where we can see it; in a new pid namespace, where
// getppid() is 0 whoever the parent is, by the control pipe: the parent holds its write
// end until the program runs, so a hang-up means it is gone.
bool nsb_parent_alive(const nsb_interp* it);

// Arms it->pdeathsig, then exits quietly if the parent died before that took effect (the
// signal is sent at the parent's death only to children armed by then).
void nsb_arm_parent_death(const nsb_interp* it);

void nsb_unblock_signals();

// Runs ops[first, end) and returns.
void nsb_run_ops(nsb_interp* it, uint32_t first, uint32_t end);

// Runs ops[first..] (the last one execs, or NSB_OP_EXIT exits).
[[noreturn]] void nsb_run_plan(nsb_interp* it, uint32_t first);

#pragma GCC visibility pop
