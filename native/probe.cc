// Does the kernel (and the seccomp policy we run under) have these system calls?
// Each probe makes a call that the kernel rejects while validating its arguments, before
// it does anything: a kernel that has the call answers EINVAL/EBADF, one that lacks it
// (or a container profile that hides it) answers ENOSYS. Nothing is created, nothing
// changes, so this is safe in the multithreaded Node process. lib/doctor.ts reads the
// numbers (0 or -errno) and decides.
#include "probe.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#endif

namespace nsb {
namespace {

long neg(long r) { return r < 0 ? -errno : r; }

Napi::Value Probes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  auto put = [&](const char* k, long v) { o.Set(k, Napi::Number::New(env, (double)v)); };

  // size 0 is below CLONE_ARGS_SIZE_VER0: EINVAL before any process is made.
  put("clone3", neg(syscall(SYS_clone3, nullptr, 0)));
  // Unknown flags: EINVAL before looking at the pid.
  put("pidfd_open", neg(syscall(SYS_pidfd_open, getpid(), ~0u)));
  put("pidfd_send_signal", neg(syscall(SYS_pidfd_send_signal, -1, 0, nullptr, 0)));
  // size 0 is below MOUNT_ATTR_SIZE_VER0 / OPEN_HOW_SIZE_VER0: EINVAL.
  put("mount_setattr", neg(syscall(SYS_mount_setattr, -1, "", 0, nullptr, 0)));
  put("openat2", neg(syscall(SYS_openat2, -1, "", nullptr, 0)));
  // Filter mode is there when the kernel can tell which filter actions it has.
  unsigned int action = SECCOMP_RET_ERRNO;
  put("seccomp", neg(syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action)));
  // 0: none, 1: strict, 2: filter (we already run under a filter).
  put("seccompMode", neg(prctl(PR_GET_SECCOMP, 0, 0, 0, 0)));
  put("setns", neg(syscall(SYS_setns, -1, 0)));
  // LANDLOCK_CREATE_RULESET_VERSION (1): the highest ABI, or -EOPNOTSUPP when Landlock is
  // built but not enabled at boot, -ENOSYS when absent. Creates nothing.
  put("landlock", neg(syscall(SYS_landlock_create_ruleset, nullptr, 0, 1)));
  return o;
}

}  // namespace

void RegisterProbes(Napi::Env env, Napi::Object exports) {
  exports.Set("probes", Napi::Function::New(env, Probes));
}

}  // namespace nsb
