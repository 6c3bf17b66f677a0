// The filesystem ops' numbers (native/plan.h), exported as `fsLayout` so that
// test/fs-layout.test.ts can check lib/plan/layout.ts against what the addon was built with.
#include <napi.h>

#include "fs.h"
#include "plan.h"

void RegisterFilesystem(Napi::Env env, Napi::Object exports) {
  Napi::Object l = Napi::Object::New(env);
  auto set = [&](const char* k, double v) { l.Set(k, Napi::Number::New(env, v)); };
#define K(x) set(#x, x)
  K(NSB_OP_FS_OPEN_TREE); K(NSB_OP_FS_OPEN_PATH); K(NSB_OP_FS_NEW_ROOT); K(NSB_OP_FS_BIND);
  K(NSB_OP_FS_MOUNT); K(NSB_OP_FS_OVERLAY); K(NSB_OP_FS_MASK); K(NSB_OP_FS_READONLY);
  K(NSB_OP_FS_MKDIR); K(NSB_OP_FS_SYMLINK); K(NSB_OP_FS_FILE); K(NSB_OP_FS_ENTER);
  K(NSB_FS_OPTIONAL); K(NSB_FS_CREATE); K(NSB_FS_NEW_TMPFS); K(NSB_FS_CHROOT); K(NSB_FS_MADE_HERE); K(NSB_FS_OVERLAY_PATHS);
  K(NSB_SYS_OPEN_TREE); K(NSB_SYS_MOVE_MOUNT); K(NSB_SYS_FSOPEN); K(NSB_SYS_FSCONFIG);
  K(NSB_SYS_FSMOUNT); K(NSB_SYS_MOUNT_SETATTR); K(NSB_SYS_OPENAT2); K(NSB_SYS_MKDIRAT);
  K(NSB_SYS_SYMLINKAT); K(NSB_SYS_OPENAT); K(NSB_SYS_PIVOT_ROOT); K(NSB_SYS_UMOUNT2);
  K(NSB_SYS_CHROOT); K(NSB_SYS_FCHDIR); K(NSB_SYS_STATX); K(NSB_SYS_FCHMOD);
  K(NSB_FS_SLOTS);
#undef K
  exports.Set("fsLayout", l);
}
