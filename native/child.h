// What the parent hands the sandbox child: everything prepared before the clone.
// The child shares the parent's memory (CLONE_VM) and must treat this as read-only.
#pragma once

#include "plan.h"

#define NSB_MAX_FDS 64

struct nsb_child_job {
  const nsb_op* ops;
  uint32_t nops;
  const char* arena;
  uint32_t arena_len;

  int report_fd;  // write end of the report pipe (CLOEXEC)
  int sync_fd;    // read end of the go-ahead pipe (CLOEXEC)
  int init_fd;    // O_PATH fd of nsbind-init, or -1

  // Descriptors the program gets: slot i <- fd_src[i]; -1 leaves slot i closed.
  int nfds;
  int fd_src[NSB_MAX_FDS];

  // Extra descriptors an op refers to by index (NSB_OP_SETNS's n0): moved above the
  // stdio slots with the others and looked up by the child in its own copy.
  int nextra;
  int extra_fd[NSB_MAX_FDS];

  int pdeathsig;  // PR_SET_PDEATHSIG before the go-ahead, or 0

  char* const* argv;       // the program's argv
  char* const* envp;       // the program's environment
  char* const* init_argv;  // argv for nsbind-init (used with NSB_EXEC_VIA_INIT)
};

// Runs the plan; never returns. The entry point passed to the clone trampoline.
extern "C" int nsb_child_main(void* job);
