// Security ops, run by the sandbox child between clone and exec: resource limits,
// capabilities and the seccomp filter. lib/security/ decides what and when; this file
// only makes the calls, in the order the kernel needs. Child-side rules (see child.cc):
// raw syscalls only, no libc, nothing written outside this stack.
#include "security.h"

#include <fcntl.h>
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
//   4. ambient := kept, so they survive exec for a non-root uid (for uid 0 the kernel
//      computes the new sets from inheritable and bounding, also = kept).
long keep_caps(const nsb_op& op, int* sys) {
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

long nsb_security_op(const nsb_op& op, const char* arena, int* sys) {
  switch (op.kind) {
    case NSB_OP_RLIMIT:
      return set_rlimit(op, sys);
    case NSB_OP_CAPS:
      return keep_caps(op, sys);
    case NSB_OP_SECCOMP:
      return install_seccomp(op, arena, sys);
    default:
      *sys = NSB_SYS_NONE;
      return -22;
  }
}

namespace {

// setCloexec(fd, on) -> 0 or -errno. Node opens everything with O_CLOEXEC (and marks
// inherited descriptors so at start-up); the escape suite needs a descriptor without it
// to show that the sandbox child closes those too.
Napi::Value SetCloexec(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  bool on = info[1].ToBoolean().Value();
  long r = nsb_sys(SYS_fcntl, fd, F_SETFD, on ? FD_CLOEXEC : 0);
  return Napi::Number::New(info.Env(), (double)r);
}

}  // namespace

void RegisterSecurity(Napi::Env env, Napi::Object exports) {
  exports.Set("setCloexec", Napi::Function::New(env, SetCloexec));
  Napi::Object l = Napi::Object::New(env);
#define K(name, value) l.Set(name, Napi::Number::New(env, (double)(value)))
  K("OP_RLIMIT", NSB_OP_RLIMIT);
  K("OP_CAPS", NSB_OP_CAPS);
  K("OP_SECCOMP", NSB_OP_SECCOMP);
  K("CAPS_ALL", NSB_CAPS_ALL);
  K("SYS_PRLIMIT", NSB_SYS_PRLIMIT);
  K("SYS_CAPGET", NSB_SYS_CAPGET);
  K("SYS_CAPSET", NSB_SYS_CAPSET);
  K("SYS_CAPBSET_DROP", NSB_SYS_CAPBSET_DROP);
  K("SYS_CAP_AMBIENT", NSB_SYS_CAP_AMBIENT);
  K("SYS_SECCOMP", NSB_SYS_SECCOMP);
  K("PR_SET_NO_NEW_PRIVS", PR_SET_NO_NEW_PRIVS);
  K("PR_SET_KEEPCAPS", PR_SET_KEEPCAPS);
#undef K
  exports.Set("securityLayout", l);
}
