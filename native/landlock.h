// NSB_OP_LANDLOCK: one Landlock ruleset, built and enforced in a single op (plan.h).
// lib/security/landlock.ts decides the rights (already reduced to the kernel's ABI);
// this file only makes the calls. The interpreter's rules apply (interp.h).
#pragma once

#include "plan.h"

// One rule of the blob s0 of NSB_OP_LANDLOCK (24 bytes, little-endian, in order).
struct nsb_landlock_rule {
  uint32_t type;    // NSB_LANDLOCK_PATH or NSB_LANDLOCK_PORT
  uint32_t flags;   // NSB_LANDLOCK_OPTIONAL: a missing path skips the rule
  uint64_t access;  // LANDLOCK_ACCESS_FS_* or LANDLOCK_ACCESS_NET_*
  uint64_t arg;     // PATH: arena offset of the path; PORT: the port
};
static_assert(sizeof(nsb_landlock_rule) == 24, "landlock rule layout");

#define NSB_LANDLOCK_PATH 1u
#define NSB_LANDLOCK_PORT 2u
#define NSB_LANDLOCK_OPTIONAL 1u

#pragma GCC visibility push(hidden)

// Runs NSB_OP_LANDLOCK (layout in landlock.cc). Returns 0 or -errno with *sys the
// NSB_SYS_* that failed.
long nsb_landlock_op(const nsb_op& op, const char* arena, int* sys);

#pragma GCC visibility pop
