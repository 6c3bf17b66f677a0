// idmapTree(tree, ownerUid, uid, ownerGid, gid) -> 0 or -errno: makes a detached tree
// (openTree, fs_layout.cc) an idmapped mount on which host id `uid` acts as the tree's
// owner `ownerUid` (and `gid` as `ownerGid`), for a root caller's writable binds (SPEC 2.1).
//
// Why the owner's mapping and not the sandbox's own user namespace: an idmapped mount
// shows a file whose on-disk owner is N as the owner the idmapping's "inside N" maps to.
// With the sandbox's map (inside 0 = host 65534 for root's default) only root's files get
// a mapped owner; a tree owned by anyone else shows an unmapped owner, and the kernel
// refuses every write to such an inode. A one-line map "ownerUid uid 1" makes the
// program's host id the tree's owner on this mount, whoever that is, and what the program
// creates there is written to disk as the owner's. Other owners' files in the tree stay
// unmapped: readable as their mode allows, never writable.
//
// The idmapping is a user namespace with those maps: a helper child is cloned into a new
// one (helper.h), the parent writes its maps (root may map any id), opens
// /proc/PID/ns/user and lets the child go; the mount keeps the namespace alive. Done in
// the Node process, on the tree before any clone: only a task with CAP_SYS_ADMIN over the
// filesystem's own user namespace (the host's) may idmap it.
#include <errno.h>
#include <fcntl.h>
#include <napi.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "helper.h"
#include "plan.h"
#include "sys.h"

namespace {

struct Job {
  int release[2];  // the child waits on [0] until the parent closes [1] (never changed:
                   // the child reads them from this shared memory whenever it runs)
  bool released;   // the parent closed its [1]
  unsigned owner_uid, uid, owner_gid, gid;
  int userns;      // the parent's descriptor of the child's user namespace, or -errno
  nsb_helper_result res;
};

// Child side (helper.h rules): raw syscalls only. Waits until the parent has its
// namespace: read returns 0 once every write end is closed (ours first, then the
// parent's, which also happens if Node dies).
int hold(void* p) {
  Job* j = (Job*)p;
  nsb_sys(SYS_close, j->release[1]);
  char c;
  while (nsb_sys(SYS_read, j->release[0], NSB_P(&c), 1) == -EINTR) {
  }
  return 0;
}

int write_map(long pid, const char* file, unsigned inside, unsigned outside) {
  char path[64], line[64];
  snprintf(path, sizeof path, "/proc/%ld/%s", pid, file);
  int n = snprintf(line, sizeof line, "%u %u 1\n", inside, outside);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  int r = write(fd, line, n) == n ? 0 : -errno;
  close(fd);
  return r;
}

// Parent side, while the child holds its namespace.
void maps(long pid, void* p) {
  Job* j = (Job*)p;
  int r = write_map(pid, "uid_map", j->owner_uid, j->uid);
  if (r == 0) r = write_map(pid, "gid_map", j->owner_gid, j->gid);
  if (r == 0) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/ns/user", pid);
    r = open(path, O_RDONLY | O_CLOEXEC);
    if (r < 0) r = -errno;
  }
  j->userns = r;
  close(j->release[1]);
  j->released = true;
}

Napi::Value IdmapTree(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int tree = info[0].As<Napi::Number>().Int32Value();
  Job j = {};
  j.owner_uid = info[1].As<Napi::Number>().Uint32Value();
  j.uid = info[2].As<Napi::Number>().Uint32Value();
  j.owner_gid = info[3].As<Napi::Number>().Uint32Value();
  j.gid = info[4].As<Napi::Number>().Uint32Value();
  j.userns = -EINVAL;
  if (pipe2(j.release, O_CLOEXEC) < 0) return Napi::Number::New(env, -errno);
  long r = nsb_run_helper(CLONE_NEWUSER, hold, &j, &j.res, maps);
  close(j.release[0]);
  if (!j.released) close(j.release[1]);  // the clone failed: maps never ran
  if (r < 0) return Napi::Number::New(env, (double)r);
  if (j.userns < 0) return Napi::Number::New(env, j.userns);
  struct {
    uint64_t attr_set, attr_clr, propagation, userns_fd;
  } attr = {0x00100000 /* MOUNT_ATTR_IDMAP */, 0, 0, (uint64_t)j.userns};
  long m = syscall(442 /* SYS_mount_setattr */, tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr);
  int err = m < 0 ? -errno : 0;
  close(j.userns);
  return Napi::Number::New(env, err);
}

}  // namespace

void RegisterIdmap(Napi::Env env, Napi::Object exports) {
  exports.Set("idmapTree", Napi::Function::New(env, IdmapTree));
}
