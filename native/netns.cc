// See netns.h.
#include "netns.h"

#include <sched.h>
#include <sys/mount.h>

#include "plan.h"
#include "sys.h"

namespace nsb {
namespace {

struct AddJob {
  const char* dir;
  const char* file;
  nsb_helper_result res;
};

int fail(AddJob* j, int step, long r) {
  j->res = {NSB_SYS_MOUNT, (int32_t)-r, step};
  return 1;
}

// Child side (helper.h rules): raw syscalls only.
int add_child(void* p) {
  AddJob* j = (AddJob*)p;
  long r = nsb_sys(SYS_mount, NSB_P(""), NSB_P(j->dir), NSB_P("none"), MS_SHARED | MS_REC, 0);
  if (r == -22 /* EINVAL: not a mount point */) {
    r = nsb_sys(SYS_mount, NSB_P(j->dir), NSB_P(j->dir), NSB_P("none"), MS_BIND | MS_REC, 0);
    if (r < 0) return fail(j, NSB_NETNS_BIND_DIR, r);
    r = nsb_sys(SYS_mount, NSB_P(""), NSB_P(j->dir), NSB_P("none"), MS_SHARED | MS_REC, 0);
  }
  if (r < 0) return fail(j, NSB_NETNS_SHARE_DIR, r);
  // /proc/self is this child (a process of its own: no CLONE_THREAD), and its network
  // namespace is the one the clone just made.
  r = nsb_sys(SYS_mount, NSB_P("/proc/self/ns/net"), NSB_P(j->file), NSB_P("none"), MS_BIND, 0);
  if (r < 0) return fail(j, NSB_NETNS_BIND_NS, r);
  return 0;
}

}  // namespace

long netns_add(const char* dir, const char* file, nsb_helper_result* res) {
  AddJob job = {dir, file, {0, 0, 0}};
  long r = nsb_run_helper(CLONE_NEWNET, add_child, &job, &job.res);
  *res = job.res;
  return r == 0 ? 0 : -job.res.err;
}

}  // namespace nsb
