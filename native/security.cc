// The security concern's exports: its numbers for the layout test, and setCloexec for
// the escape suite. The ops themselves run in the interpreter (security_ops.cc).
#include "security.h"

#include <fcntl.h>
#include <sys/prctl.h>

#include "sys.h"

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
