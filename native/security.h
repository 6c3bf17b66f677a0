// The security concern's exports: the constants lib/ checks its mirror of plan.h against.
// The ops (NSB_OP_RLIMIT, NSB_OP_CAPS, NSB_OP_SECCOMP) are in security_ops.h.
#pragma once

#include <napi.h>

#include "plan.h"

// exports.securityLayout: the op and syscall-id numbers above, for the layout test.
void RegisterSecurity(Napi::Env env, Napi::Object exports);
