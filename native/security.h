// The security ops of the child plan (NSB_OP_RLIMIT, NSB_OP_CAPS, NSB_OP_SECCOMP), and
// the constants lib/ checks its mirror of plan.h against.
#pragma once

#include <napi.h>

#include "plan.h"

// Runs one security op in the sandbox child (the rules of child.cc apply: raw syscalls
// only). Returns 0 or -errno, with *sys set to the NSB_SYS_* that failed.
long nsb_security_op(const nsb_op& op, const char* arena, int* sys);

// exports.securityLayout: the op and syscall-id numbers above, for the layout test.
void RegisterSecurity(Napi::Env env, Napi::Object exports);
