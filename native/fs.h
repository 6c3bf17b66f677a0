// The filesystem part of the child plan (ops 16-39): binds, new filesystems, masks,
// files, and the switch into a new root. Runs in the sandbox child under child.cc's
// rules (raw syscalls only, no libc, scratch space on the child's own stack).
#pragma once

#include <stdint.h>

#include "plan.h"

// Descriptors captured by NSB_OP_FS_OPEN_TREE / NSB_OP_FS_OPEN_PATH, by slot number.
#define NSB_FS_SLOTS 256
// Mounts the sandbox made itself (tmpfs, overlay, the root() tmpfs): only inside these
// may the child create files and directories (nsbind never changes the host's files).
#define NSB_FS_MADE 128

struct nsb_fs_state {
  int root_fd;  // the sandbox's root directory (O_PATH), -1 until first needed
  int slot[NSB_FS_SLOTS];
  uint64_t made[NSB_FS_MADE];
  int nmade;
};

void nsb_fs_init(nsb_fs_state* s);

// Runs one filesystem op. Returns 0 or -errno, and the failing call's NSB_SYS_* in *sys.
long nsb_fs_op(nsb_fs_state* s, const char* arena, const nsb_op& op, int* sys);
