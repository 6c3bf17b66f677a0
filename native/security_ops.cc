// Security ops of the plan, run by the interpreter (interp.h): resource limits,
// capabilities and the seccomp filter. lib/security/ decides what and when; this file
// only makes the calls, in the order the kernel needs. The interpreter's rules apply (raw
// syscalls only, no libc, nothing written outside this stack).
#include "security_ops.h"

#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>

#include "sys.h"

namespace {

struct rlimit64_k {
  uint64_t cur;
  uint64_t max;
};

long set_rlimit(const nsb_op& op, int* sys) {
  rlimit64_k lim = {op.n[1], op.n[2]};
  *sys = NSB_SYS_PRLIMIT;
  return nsb_sys(SYS_prlimit64, 0, (long)op.n[0], NSB_P(&lim), 0);
}

uint64_t permitted_of(const __user_cap_data_struct d[2]) {
  return (uint64_t)d[0].permitted | ((uint64_t)d[1].permitted << 32);
}

void set_all(__user_cap_data_struct d[2], uint64_t mask) {
  for (int i = 0; i < 2; i++) {
    uint32_t w = (uint32_t)(mask >> (32 * i));
    d[i].effective = w;
    d[i].permitted = w;
    d[i].inheritable = w;
  }
}

// Keeps exactly the capabilities in n0 in every set. The order matters:
//   1. effective := permitted. After .as() switched to a non-zero uid (with
//      PR_SET_KEEPCAPS, set by an earlier op) the effective set is empty, and
//      dropping from the bounding set needs CAP_SETPCAP in it.
//   2. drop the bounding set, while CAP_SETPCAP is still effective. Without
//      CAP_SETPCAP at all (no user namespace, not root) the child holds no capability
//      and the bounding set is left as is: there is nothing to drop that it has, and
//      no_new_privs stops setuid and file capabilities from adding any.
//   3. effective = permitted = inheritable := kept. Asking for one the child does not
//      hold fails here with EPERM, as it should: nsbind cannot give what it lacks.
//      With keep_permitted, the permitted set stays whole until the exec: the kernel's
//      ptrace and /proc checks refuse a caller whose permitted set is not a superset of
//      the target's, so the sandbox's program (which holds at most the kept set) can
//      never attach to the setup child that shares Node's memory, nor open its
//      /proc/PID/mem. The exec then computes the program's sets from the next two.
//   4. ambient := kept, so they survive exec for a non-root uid (for uid 0 the kernel
//      computes the new sets from inheritable and bounding, also = kept).
long keep_caps(const nsb_op& op, int* sys, bool keep_permitted) {
  __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct d[2];
  *sys = NSB_SYS_CAPGET;
  long r = nsb_sys(SYS_capget, NSB_P(&hdr), NSB_P(d));
  if (r < 0) return r;
  uint64_t held = permitted_of(d);
  uint64_t keep = (op.flags & NSB_CAPS_ALL) ? held : op.n[0];
  int last = (int)op.n[1];

  d[0].effective = d[0].permitted;
  d[1].effective = d[1].permitted;
  *sys = NSB_SYS_CAPSET;
  r = nsb_sys(SYS_capset, NSB_P(&hdr), NSB_P(d));
  if (r < 0) return r;

  if (held & (1ull << CAP_SETPCAP)) {
    *sys = NSB_SYS_CAPBSET_DROP;
    for (int cap = 0; cap <= last && cap < 64; cap++) {
      if (keep & (1ull << cap)) continue;
      r = nsb_sys(SYS_prctl, PR_CAPBSET_DROP, cap, 0, 0, 0);
      if (r < 0) return r;
    }
  }

  set_all(d, keep);
  if (keep_permitted) {
    d[0].permitted = (uint32_t)held;
    d[1].permitted = (uint32_t)(held >> 32);
  }
  *sys = NSB_SYS_CAPSET;
  r = nsb_sys(SYS_capset, NSB_P(&hdr), NSB_P(d));
  if (r < 0) return r;

  *sys = NSB_SYS_CAP_AMBIENT;
  r = nsb_sys(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  // Kernels before 4.3 have no ambient set: nothing to clear, and nothing survives exec.
  if (r < 0) return keep ? r : 0;
  for (int cap = 0; cap <= last && cap < 64; cap++) {
    if (!(keep & (1ull << cap))) continue;
    r = nsb_sys(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0);
    if (r < 0) return r;
  }
  return 0;
}

long install_seccomp(const nsb_op& op, const char* arena, int* sys) {
  sock_fprog prog;
  prog.len = (unsigned short)op.n[0];
  prog.filter = (sock_filter*)(arena + op.s[0]);  // 8-byte aligned by the plan writer
  *sys = NSB_SYS_SECCOMP;
  return nsb_sys(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, NSB_P(&prog));
}

}  // namespace

long nsb_security_op(const nsb_op& op, const char* arena, int* sys, bool keep_permitted) {
  switch (op.kind) {
    case NSB_OP_RLIMIT:
      return set_rlimit(op, sys);
    case NSB_OP_CAPS:
      return keep_caps(op, sys, keep_permitted);
    case NSB_OP_SECCOMP:
      return install_seccomp(op, arena, sys);
    default:
      *sys = NSB_SYS_NONE;
      return -22;
  }
}


// Before the setup child execs nsbind-init to run the plan (interp.h), in a new user
// namespace whose maps give it a non-zero uid: an exec as non-root computes the new
// permitted set from the ambient one, so without this the init would start with none of
// the capabilities the namespace gave (and could mount nothing). NSB_OP_CAPS clears the
// ambient set again and raises only what the program keeps.
long nsb_caps_to_ambient(int* sys) {
  __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct d[2];
  *sys = NSB_SYS_CAPGET;
  long r = nsb_sys(SYS_capget, NSB_P(&hdr), NSB_P(d));
  if (r < 0) return r;
  uint64_t held = permitted_of(d);
  d[0].inheritable = d[0].permitted;
  d[1].inheritable = d[1].permitted;
  *sys = NSB_SYS_CAPSET;
  r = nsb_sys(SYS_capset, NSB_P(&hdr), NSB_P(d));
  if (r < 0) return r;
  *sys = NSB_SYS_CAP_AMBIENT;
  for (int cap = 0; cap < 64; cap++) {
    if (!(held & (1ull << cap))) continue;
    r = nsb_sys(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0);
    if (r < 0) return r;
  }
  return 0;
}
