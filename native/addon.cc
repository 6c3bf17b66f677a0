// Module init: the exported functions and the constants shared with lib/.
// Each concern registers itself (one file each); this file only wires them up.
#include <dlfcn.h>
#include <napi.h>
#include <sched.h>
#include <sys/mount.h>

#include "network.h"
#include "nsfs.h"
#include "plan.h"
#include "optional.h"
#include "probe.h"
#include "security.h"
#include "spawn.h"
#include "syscalls.h"
#include "pty.h"

void RegisterFilesystem(Napi::Env env, Napi::Object exports);  // fs_layout.cc
void RegisterIdmap(Napi::Env env, Napi::Object exports);  // idmap.cc
void RegisterAudit(Napi::Env env, Napi::Object exports);  // audit.cc
namespace nsb {
void RegisterEgress(Napi::Env env, Napi::Object exports);  // egress.cc
}

namespace {

void set(Napi::Env env, Napi::Object o, const char* k, double v) { o.Set(k, Napi::Number::New(env, v)); }

Napi::Object Constants(Napi::Env env) {
  Napi::Object c = Napi::Object::New(env);
#define K(x) set(env, c, #x, (double)(x))
  K(CLONE_NEWNS); K(CLONE_NEWUTS); K(CLONE_NEWIPC); K(CLONE_NEWUSER); K(CLONE_NEWPID);
  K(CLONE_NEWNET); K(CLONE_NEWCGROUP); K(CLONE_NEWTIME);
  K(MS_RDONLY); K(MS_NOSUID); K(MS_NODEV); K(MS_NOEXEC); K(MS_SYNCHRONOUS); K(MS_REMOUNT);
  K(MS_MANDLOCK); K(MS_DIRSYNC); K(MS_NOATIME); K(MS_NODIRATIME); K(MS_BIND); K(MS_MOVE);
  K(MS_REC); K(MS_SILENT); K(MS_UNBINDABLE); K(MS_PRIVATE); K(MS_SLAVE); K(MS_SHARED);
  K(MS_RELATIME); K(MS_STRICTATIME); K(MS_LAZYTIME);
  K(MNT_FORCE); K(MNT_DETACH); K(MNT_EXPIRE); K(UMOUNT_NOFOLLOW);
#undef K
  return c;
}

// The plan layout, for test/plan/layout.test.ts to compare with lib/plan.ts.
Napi::Object Layout(Napi::Env env) {
  Napi::Object l = Napi::Object::New(env);
  set(env, l, "magic", NSB_PLAN_MAGIC);
  set(env, l, "version", NSB_PLAN_VERSION);
  set(env, l, "headerSize", sizeof(nsb_plan_header));
  set(env, l, "opSize", sizeof(nsb_op));
  set(env, l, "reportSize", sizeof(nsb_report));
  set(env, l, "opCount", NSB_OP_COUNT);
  set(env, l, "sysCount", NSB_SYS_COUNT);
  set(env, l, "OP_SETSID", NSB_OP_SETSID);
  set(env, l, "OP_SETCTTY", NSB_OP_SETCTTY);
  set(env, l, "OP_EXEC", NSB_OP_EXEC);
  set(env, l, "OP_PRCTL", NSB_OP_PRCTL);
  set(env, l, "SYS_EXECVE", NSB_SYS_EXECVE);
  set(env, l, "SYS_WAITID", NSB_SYS_WAITID);
  set(env, l, "STEP_EXEC", NSB_STEP_EXEC);
  set(env, l, "STEP_PIPES", NSB_STEP_PIPES);
  set(env, l, "EXEC_VIA_INIT", NSB_EXEC_VIA_INIT);
  return l;
}

// Node unloads an addon when the last environment that loaded it ends (a worker_thread
// exiting). Ours must stay: its spawn threads never end, its sandboxes' poll handles
// may still be closing. RTLD_NODELETE pins the already-loaded library for good.
void pin_library() {
  static bool pinned = false;
  if (pinned) return;
  Dl_info info;
  if (dladdr((void*)&pin_library, &info) && info.dli_fname) {
    if (dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE)) pinned = true;
  }
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  pin_library();
  nsb::Process::Init(env, exports);
  exports.Set("spawn", Napi::Function::New(env, nsb::Spawn));
  nsb::RegisterSyscalls(env, exports);
  RegisterFilesystem(env, exports);
  RegisterIdmap(env, exports);
  RegisterAudit(env, exports);
  RegisterOptional(env, exports);
  RegisterSecurity(env, exports);
  nsb::RegisterNetwork(env, exports);
  nsb::RegisterEgress(env, exports);
  nsb::RegisterNsfs(env, exports);
  nsb::RegisterProbes(env, exports);
  nsb::RegisterPty(env, exports);
  exports.Set("constants", Constants(env));
  exports.Set("layout", Layout(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(nsbind, Init)
