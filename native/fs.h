// The filesystem part of the plan (ops 16-39): binds, new filesystems, masks, files, the
// switch into a new root, and resolving the working directory. Runs in the interpreter
// under its rules (interp.h: raw syscalls only, no libc, scratch space on the stack).
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
  int mask_fd;  // a small detached tmpfs holding one empty file, for masking files; -1
  int remount;  // NSB_OP_FS_NO_SETATTR seen: mount flags by mount(2), not mount_setattr
};

// Hidden: called directly, never through a PLT or GOT entry (interp.h).
#pragma GCC visibility push(hidden)

void nsb_fs_init(nsb_fs_state* s);

// Runs one filesystem op. Returns 0 or -errno, and the failing call's NSB_SYS_* in *sys.
long nsb_fs_op(nsb_fs_state* s, const char* arena, const nsb_op& op, int* sys);

// Closes every descriptor the filesystem ops still hold (captured sources that no op
// consumed), except the root's, which nsb_fs_chdir still needs.
void nsb_fs_close_slots(nsb_fs_state* s);

// The working directory (NSB_OP_CHDIR): `path` is resolved inside the sandbox's root the
// way a mount destination is (a symlink cannot lead out, a /proc magic link such as
// /proc/self/fd/N or /proc/1/cwd is refused with ELOOP), then fchdir'd into. Closes the
// root's descriptor. Returns 0 or -errno (*sys: the call that failed).
long nsb_fs_chdir(nsb_fs_state* s, const char* path, int* sys);

#pragma GCC visibility pop
