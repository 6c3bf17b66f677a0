// The filesystem ops' numbers (native/plan.h), exported as `fsLayout` so that
// test/fs/layout.test.ts can check lib/plan/layout.ts against what the addon was built with.
#include <fcntl.h>
#include <napi.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "fs.h"
#include "plan.h"

// open_tree(path, OPEN_TREE_CLONE | AT_RECURSIVE | O_CLOEXEC) in the Node process: a writable
// bind's source for an idmapped mount (idmapped for its owner before the clone, idmap.cc
// IdmapTree). Returns the descriptor or -errno.
Napi::Value OpenTree(const Napi::CallbackInfo& info) {
  std::string path = info[0].As<Napi::String>();
  long fd = syscall(428 /* SYS_open_tree */, AT_FDCWD, path.c_str(), 1 /* OPEN_TREE_CLONE */ | O_CLOEXEC | AT_RECURSIVE);
  return Napi::Number::New(info.Env(), fd < 0 ? -errno : fd);
}

void RegisterFilesystem(Napi::Env env, Napi::Object exports) {
  exports.Set("openTree", Napi::Function::New(env, OpenTree));
  Napi::Object l = Napi::Object::New(env);
  auto set = [&](const char* k, double v) { l.Set(k, Napi::Number::New(env, v)); };
#define K(x) set(#x, x)
  K(NSB_OP_FS_OPEN_TREE); K(NSB_OP_FS_OPEN_PATH); K(NSB_OP_FS_NEW_ROOT); K(NSB_OP_FS_BIND);
  K(NSB_OP_FS_MOUNT); K(NSB_OP_FS_OVERLAY); K(NSB_OP_FS_MASK); K(NSB_OP_FS_READONLY);
  K(NSB_OP_FS_MKDIR); K(NSB_OP_FS_SYMLINK); K(NSB_OP_FS_FILE); K(NSB_OP_FS_ENTER);
  K(NSB_OP_FS_EXTRA_TREE); K(NSB_OP_FS_NO_SETATTR); K(NSB_OP_FS_DATA);
  K(NSB_FS_OPTIONAL); K(NSB_FS_CREATE); K(NSB_FS_NEW_TMPFS); K(NSB_FS_CHROOT); K(NSB_FS_MADE_HERE); K(NSB_FS_OVERLAY_PATHS); K(NSB_FS_PIN);
  K(NSB_FS_MASK_ATTACH);
  K(NSB_SYS_OPEN_TREE); K(NSB_SYS_MOVE_MOUNT); K(NSB_SYS_FSOPEN); K(NSB_SYS_FSCONFIG);
  K(NSB_SYS_FSMOUNT); K(NSB_SYS_MOUNT_SETATTR); K(NSB_SYS_OPENAT2); K(NSB_SYS_MKDIRAT);
  K(NSB_SYS_SYMLINKAT); K(NSB_SYS_OPENAT); K(NSB_SYS_PIVOT_ROOT); K(NSB_SYS_UMOUNT2);
  K(NSB_SYS_CHROOT); K(NSB_SYS_FCHDIR); K(NSB_SYS_STATX); K(NSB_SYS_FCHMOD);
  K(NSB_FS_SLOTS);
#undef K
  exports.Set("fsLayout", l);
}
