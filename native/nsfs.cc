// Namespace files (nsfs): thin wrappers over the NS_GET_* ioctls (ioctl_ns(2)), stat of
// a namespace file, and pidfd_open. No policy: each returns its result, or -errno; the
// TypeScript side (lib/namespaces/) decides what a result means and how to report it.
// These run in the Node process: they only inspect namespaces, never enter one.
#include "nsfs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

#include "napi_util.h"

namespace nsb {
namespace {

Napi::Value ret(const Napi::CallbackInfo& info, long r) { return syscall_result(info, r); }

int fd_arg(const Napi::CallbackInfo& info) {
  return info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : -1;
}

// nsType(fd) -> the CLONE_NEW* constant of the namespace behind fd.
Napi::Value NsType(const Napi::CallbackInfo& info) { return ret(info, ioctl(fd_arg(info), NS_GET_NSTYPE)); }

// nsUserns(fd) -> a new fd (CLOEXEC, the kernel sets it) for the owning user namespace.
Napi::Value NsUserns(const Napi::CallbackInfo& info) { return ret(info, ioctl(fd_arg(info), NS_GET_USERNS)); }

// nsParent(fd) -> a new fd for the parent of a pid or user namespace.
Napi::Value NsParent(const Napi::CallbackInfo& info) { return ret(info, ioctl(fd_arg(info), NS_GET_PARENT)); }

// nsOwnerUid(fd) -> the uid (in the caller's user namespace) that created a user namespace.
Napi::Value NsOwnerUid(const Napi::CallbackInfo& info) {
  uid_t uid = 0;
  long r = ioctl(fd_arg(info), NS_GET_OWNER_UID, &uid);
  return ret(info, r < 0 ? r : (long)uid);
}

// nsStat(fdOrPath) -> [inode, dev] of the file (a path is followed, as /proc/PID/ns/*
// links must be), or -errno. Numbers: nsfs inodes and device numbers fit in 2^53.
Napi::Value NsStat(const Napi::CallbackInfo& info) {
  struct stat st;
  long r;
  if (info[0].IsNumber()) {
    r = fstat(info[0].As<Napi::Number>().Int32Value(), &st);
  } else {
    std::string p = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
    r = stat(p.c_str(), &st);
  }
  if (r < 0) return ret(info, r);
  Napi::Array a = Napi::Array::New(info.Env(), 2);
  a.Set(0u, Napi::Number::New(info.Env(), (double)st.st_ino));
  a.Set(1u, Napi::Number::New(info.Env(), (double)st.st_dev));
  return a;
}

// pidfdOpen(pid) -> a pidfd (CLOEXEC by the kernel): joining namespaces through it
// cannot hit a recycled pid.
Napi::Value PidfdOpen(const Napi::CallbackInfo& info) {
  return ret(info, syscall(SYS_pidfd_open, (pid_t)fd_arg(info), 0));
}

}  // namespace

void RegisterNsfs(Napi::Env env, Napi::Object exports) {
  exports.Set("nsType", Napi::Function::New(env, NsType));
  exports.Set("nsUserns", Napi::Function::New(env, NsUserns));
  exports.Set("nsParent", Napi::Function::New(env, NsParent));
  exports.Set("nsOwnerUid", Napi::Function::New(env, NsOwnerUid));
  exports.Set("nsStat", Napi::Function::New(env, NsStat));
  exports.Set("pidfdOpen", Napi::Function::New(env, PidfdOpen));
}

}  // namespace nsb
