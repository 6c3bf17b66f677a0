// nsbind-init's supervisor (supervise.cc): the program's parent until the sandbox ends.
#pragma once

#include "../interp.h"
#include "control.h"

// Hidden: called directly, never through a PLT or GOT entry (interp.h).
#pragma GCC visibility push(hidden)

// The init's own data (nsb_interp.host): where the plan it received lies, to be given
// back once the program runs (a supervisor lives as long as its sandbox).
struct nsb_init_host {
  void* plan;
  uint32_t plan_len;
};

// Before the plan runs: takes the cgroup's descriptors out of the extras (the plan's
// NSB_OP_CHDIR closes those) and, for a sandbox with a cgroup but without a pid
// namespace of its own, becomes the subreaper of everything the program starts.
void nsb_supervise_prepare(nsb_interp* it, const nsb_init_msg* msg);

// NSB_OP_EXEC with NSB_EXEC_VIA_INIT, in the init: fork and exec the program, then
// supervise it. Never returns.
void nsb_supervise(nsb_interp* it, int op_index, const nsb_op& op);

#pragma GCC visibility pop
