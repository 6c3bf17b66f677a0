// NSB_OP_LOCK_FILE (see lock_file.h).
#include "lock_file.h"

#include <fcntl.h>

#include "plan.h"
#include "sys.h"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

namespace {

struct open_how_k {
  uint64_t flags;
  uint64_t mode;
  uint64_t resolve;
};

constexpr long kAtFdcwd = -100;
constexpr uint64_t kResolveNoMagiclinks = 0x02;

}  // namespace

long nsb_lock_file(const char* path, int* sys) {
  // O_NONBLOCK: a FIFO at the path must not stall the setup (nothing is read from it).
  // No /proc magic link (/proc/N/fd/M, /proc/N/root): the path names a file of the
  // sandbox's own tree, not something another process holds open.
  const uint64_t flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
  open_how_k how = {flags, 0, kResolveNoMagiclinks};
  *sys = NSB_SYS_OPENAT2;
  long fd = nsb_sys(SYS_openat2, kAtFdcwd, NSB_P(path), NSB_P(&how), sizeof how);
  if (fd == -38 /* ENOSYS: openat2 came with Linux 5.6 */) {
    *sys = NSB_SYS_OPENAT;
    fd = nsb_sys(SYS_openat, kAtFdcwd, NSB_P(path), (long)flags, 0);
  }
  if (fd < 0) return fd;
  struct flock lock;
  char* b = (char*)&lock;
  for (unsigned i = 0; i < sizeof lock; i++) b[i] = 0;
  lock.l_type = F_RDLCK;
  lock.l_whence = 0;  // SEEK_SET; l_start 0, l_len 0: the whole file, however it grows
  long r = nsb_sys(SYS_fcntl, fd, F_SETLK, NSB_P(&lock));
  if (r < 0) {
    *sys = NSB_SYS_FCNTL;
    nsb_sys(SYS_close, fd);
    return r;
  }
  // The descriptor stays open: closing it would release the lock.
  return 0;
}
