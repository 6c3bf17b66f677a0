// Mount flags without mount_setattr (Linux < 5.12): the old way, mount(2) with
// MS_REMOUNT | MS_BIND on each mount of a tree, as bubblewrap does. Runs in the
// interpreter under its rules (interp.h: raw syscalls only, no libc, stack only).
#pragma once

#include <stdint.h>

#pragma GCC visibility push(hidden)

// Adds the MS_* flags `add` (MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC) to the mount whose
// root `top` holds (a descriptor of an attached mount, e.g. open_tree's after move_mount)
// and, when `recursive`, to every mount beneath it. The flags each mount already has are
// kept (a user namespace may not clear them). Returns 0 or -errno (*sys: the NSB_SYS_*).
long nsb_fs_remount(long top, unsigned long add, bool recursive, int* sys);

#pragma GCC visibility pop
