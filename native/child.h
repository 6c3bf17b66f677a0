// What the parent hands the setup child: everything prepared before the clone.
// The child shares the parent's memory (CLONE_VM) and treats this as read-only, except
// for `armed`, the one word it writes (see nsb_child_main).
#pragma once

#include "interp.h"


struct nsb_child_job {
  const nsb_op* ops;
  uint32_t nops;
  const char* arena;
  uint32_t arena_len;

  int report_fd;   // write end of the report pipe (CLOEXEC)
  int control_fd;  // read end of the control pipe (CLOEXEC; init/control.h)
  int init_fd;     // O_PATH fd of nsbind-init, or -1

  // Descriptors the program gets: slot i <- fd_src[i]; -1 leaves slot i closed.
  int nfds;
  int fd_src[NSB_MAX_FDS];

  // Extra descriptors an op refers to by index (NSB_OP_SETNS's n0): moved above the
  // stdio slots with the others and looked up by the child in its own copy. With
  // an init, the init gets them too (and the cgroup's, appended by the parent).
  int nextra;
  int extra_fd[NSB_MAX_FDS];
  // The index among them of the exec-detect pipe's write end (init/control.h), or -1:
  // the child keeps it for the init (it is not one of the setup's, closed before cwd).
  int exec_detect;

  bool keep_permitted;    // NSB_OP_CAPS leaves the permitted set to the exec (interp.h)
  int pdeathsig;          // PR_SET_PDEATHSIG, armed first thing, or 0
  int32_t expected_ppid;  // getppid() while the parent lives; 0 with CLONE_NEWPID
  int32_t token;          // stamped on the child's report records
  // Set to 1 by the child once the parent-death signal is armed, with a futex wake: in
  // a new pid namespace (where getppid() cannot tell) the parent sends the go-ahead only
  // after that, so a parent that dies first always leaves the child an EOF instead.
  int armed;
  // Make the time namespace with unshare(CLONE_NEWTIME) before `armed` instead of with
  // clone (see spawn.cc): the parent writes the offsets after `armed`.
  bool unshare_time;

  // Where nsbind-init takes over (init/control.h): the child runs ops [0, init_from) and
  // then execs the init, which runs the rest in memory of its own; nops: no init.
  uint32_t init_from;

  char* const* argv;       // the program's argv
  char* const* envp;       // the program's environment
  char* const* init_argv;  // argv for nsbind-init
};

// Hidden: called directly, never through a PLT or GOT entry (interp.h).
#pragma GCC visibility push(hidden)

// Runs the plan; never returns. The entry point passed to the clone trampoline.
extern "C" int nsb_child_main(void* job);

#pragma GCC visibility pop
