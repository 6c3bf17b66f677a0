// The security ops of the plan (NSB_OP_RLIMIT, NSB_OP_CAPS, NSB_OP_SECCOMP), run by the
// interpreter (interp.h: raw syscalls only).
#pragma once

#include "plan.h"

// Hidden: called directly, never through a PLT or GOT entry (interp.h).
#pragma GCC visibility push(hidden)

// Runs one security op. Returns 0 or -errno, with *sys set to the NSB_SYS_* that failed.
// keep_permitted: NSB_OP_CAPS leaves the permitted set whole; the program's exec reduces
// it to the kept set (the bounding and ambient sets decide what an exec gives).
long nsb_security_op(const nsb_op& op, const char* arena, int* sys, bool keep_permitted);

// Raises every permitted capability into the inheritable and ambient sets, so that they
// survive an exec as a non-root uid. Returns 0 or -errno (*sys: the call that failed).
long nsb_caps_to_ambient(int* sys);

#pragma GCC visibility pop
