// Thin wrappers for the calling process (nsbind/syscalls). No policy: each returns 0
// (or an fd) on success and -errno on failure; lib/syscalls.ts throws NsbindError.
// They act on the calling thread/process, which is multithreaded: the kernel refuses
// some of them there (joining a user or mount namespace, unsharing a user namespace).
#include "syscalls.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

#include "napi_util.h"

namespace nsb {
namespace {

Napi::Value ret(const Napi::CallbackInfo& info, long r) { return syscall_result(info, r); }

std::string str(const Napi::Value& v) { return v.IsString() ? v.As<Napi::String>().Utf8Value() : ""; }

const char* str_or_null(const Napi::Value& v, std::string& keep) {
  if (!v.IsString()) return nullptr;
  keep = v.As<Napi::String>().Utf8Value();
  return keep.c_str();
}

Napi::Value Unshare(const Napi::CallbackInfo& info) {
  return ret(info, unshare((int)info[0].As<Napi::Number>().Int64Value()));
}

Napi::Value Setns(const Napi::CallbackInfo& info) {
  int type = info[1].IsNumber() ? info[1].As<Napi::Number>().Int32Value() : 0;
  if (info[0].IsNumber()) return ret(info, setns(info[0].As<Napi::Number>().Int32Value(), type));
  int fd = open(str(info[0]).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ret(info, -1);
  long r = setns(fd, type);
  int e = errno;
  close(fd);
  errno = e;
  return ret(info, r);
}

Napi::Value Mount(const Napi::CallbackInfo& info) {
  std::string a, b, c, d;
  const char* src = str_or_null(info[0], a);
  const char* dst = str_or_null(info[1], b);
  const char* fstype = str_or_null(info[2], c);
  unsigned long flags = info[3].IsNumber() ? (unsigned long)info[3].As<Napi::Number>().Int64Value() : 0;
  const char* data = str_or_null(info[4], d);
  return ret(info, mount(src, dst, fstype, flags, data));
}

Napi::Value Umount(const Napi::CallbackInfo& info) {
  int flags = info[1].IsNumber() ? info[1].As<Napi::Number>().Int32Value() : 0;
  return ret(info, umount2(str(info[0]).c_str(), flags));
}

Napi::Value PivotRoot(const Napi::CallbackInfo& info) {
  return ret(info, syscall(SYS_pivot_root, str(info[0]).c_str(), str(info[1]).c_str()));
}

Napi::Value Chroot(const Napi::CallbackInfo& info) { return ret(info, chroot(str(info[0]).c_str())); }

Napi::Value Sethostname(const Napi::CallbackInfo& info) {
  std::string s = str(info[0]);
  return ret(info, sethostname(s.data(), s.size()));
}

Napi::Value Setdomainname(const Napi::CallbackInfo& info) {
  std::string s = str(info[0]);
  return ret(info, setdomainname(s.data(), s.size()));
}

// openNamespace(pid, type) -> fd of /proc/PID/ns/TYPE (CLOEXEC).
Napi::Value OpenNamespace(const Napi::CallbackInfo& info) {
  std::string p = "/proc/" + std::to_string(info[0].As<Napi::Number>().Int32Value()) + "/ns/" + str(info[1]);
  return ret(info, open(p.c_str(), O_RDONLY | O_CLOEXEC));
}

// open(path, flags) -> fd; for namespace files and cgroup directories the TS side holds.
Napi::Value Open(const Napi::CallbackInfo& info) {
  int flags = info[1].IsNumber() ? info[1].As<Napi::Number>().Int32Value() : O_RDONLY;
  return ret(info, open(str(info[0]).c_str(), flags | O_CLOEXEC));
}

// prctl(PR_GET_DUMPABLE): for the test that nsbind leaves the Node process as it was.
Napi::Value GetDumpable(const Napi::CallbackInfo& info) {
  return ret(info, prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
}

Napi::Value Close(const Napi::CallbackInfo& info) { return ret(info, close(info[0].As<Napi::Number>().Int32Value())); }

}  // namespace

void RegisterSyscalls(Napi::Env env, Napi::Object exports) {
  exports.Set("unshare", Napi::Function::New(env, Unshare));
  exports.Set("setns", Napi::Function::New(env, Setns));
  exports.Set("mount", Napi::Function::New(env, Mount));
  exports.Set("umount", Napi::Function::New(env, Umount));
  exports.Set("pivotRoot", Napi::Function::New(env, PivotRoot));
  exports.Set("chroot", Napi::Function::New(env, Chroot));
  exports.Set("sethostname", Napi::Function::New(env, Sethostname));
  exports.Set("setdomainname", Napi::Function::New(env, Setdomainname));
  exports.Set("openNamespace", Napi::Function::New(env, OpenNamespace));
  exports.Set("open", Napi::Function::New(env, Open));
  exports.Set("close", Napi::Function::New(env, Close));
  exports.Set("getDumpable", Napi::Function::New(env, GetDumpable));
}

}  // namespace nsb
