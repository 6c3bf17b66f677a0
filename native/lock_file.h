// NSB_OP_LOCK_FILE: a read lock on a file inside the sandbox, held for the sandbox's life
// (bubblewrap's --lock-file). Run by the interpreter under its rules (interp.h).
#pragma once

// Hidden: called directly, never through a PLT or GOT entry (interp.h).
#pragma GCC visibility push(hidden)

// Opens `path` (as the sandbox sees it: after the switch into its root) read-only and
// takes a whole-file POSIX read lock (fcntl F_SETLK, F_RDLCK), without waiting. The
// descriptor stays open and close-on-exec: a POSIX lock belongs to the process that took
// it and ends when that process closes any descriptor of the file or exits, so it must
// be taken by the process that lives as long as the sandbox (nsbind-init) and never
// reach the program. Returns 0 or -errno (*sys: the call that failed).
long nsb_lock_file(const char* path, int* sys);

#pragma GCC visibility pop
