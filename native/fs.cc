// Filesystem ops of the child plan (see native/fs.h and the NSB_OP_FS_* list in plan.h).
//
// The design, and why:
//   - Sources are host paths as the caller sees them before any step. The plan captures
//     every source first (NSB_OP_FS_OPEN_TREE: a detached recursive copy of the mount
//     tree at that path; NSB_OP_FS_OPEN_PATH: an O_PATH descriptor), so no later step,
//     and no change of root, can change what a source means.
//   - The sandbox's root is a directory descriptor (root_fd): the caller's "/" (in the new
//     mount namespace), or with .root()/.chroot() a new mount stacked over "/" that the
//     process enters last (NSB_OP_FS_ENTER). Stacking over "/" needs no mount point on the
//     host, and absolute paths still resolve in the old root until the switch.
//   - Every destination is resolved inside root_fd with openat2(RESOLVE_IN_ROOT |
//     RESOLVE_NO_MAGICLINKS): a symlink is read as the sandbox would read it, never out of
//     it, and /proc magic links are refused. The mount then goes onto the descriptor that
//     was resolved (move_mount with MOVE_MOUNT_T_EMPTY_PATH): a symlink swapped in after
//     the check cannot redirect it.
//   - Files and directories are only created inside mounts this child made (their mount
//     ids are recorded): nsbind never writes to the host's filesystems.
//
// The interpreter's rules (interp.h): raw syscalls only, no libc, nothing written outside
// our stack.
#include "fs.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "fs_remount.h"
#include "sys.h"

// Older libc headers lack the new mount API; the numbers are the same on every
// architecture since Linux 5.1 (the unified syscall table).
#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_fsopen
#define SYS_fsopen 430
#endif
#ifndef SYS_fsconfig
#define SYS_fsconfig 431
#endif
#ifndef SYS_fsmount
#define SYS_fsmount 432
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif


namespace {

constexpr long kAtFdcwd = -100;
constexpr long kAtEmptyPath = 0x1000;
constexpr long kAtRecursive = 0x8000;
constexpr long kOpenTreeClone = 1;
constexpr long kMoveFEmpty = 0x4;
constexpr long kMoveTEmpty = 0x40;
constexpr long kFsconfigSetFlag = 0;
constexpr long kFsconfigSetString = 1;
constexpr long kFsconfigSetFd = 5;
constexpr long kFsconfigCreate = 6;
constexpr long kResolveNoMagiclinks = 0x02;
constexpr long kResolveInRoot = 0x10;
constexpr long kMntDetach = 2;
constexpr uint64_t kAttrRdonly = 0x1, kAttrNosuid = 0x2, kAttrNodev = 0x4, kAttrNoexec = 0x8;
constexpr long ENOENT_ = 2, EPERM_ = 1, EEXIST_ = 17, ENOTDIR_ = 20, EINVAL_ = 22;

constexpr unsigned kStatxType = 0x1, kStatxMntId = 0x1000;

// The kernel's struct statx, spelled out: libc headers differ (and musl's lacks mnt_id).
struct statx_k {
  uint32_t mask, blksize;
  uint64_t attributes;
  uint32_t nlink, uid, gid;
  uint16_t mode, pad1;
  uint64_t ino, size, blocks, attributes_mask;
  struct {
    int64_t sec;
    uint32_t nsec;
    int32_t pad;
  } atime, btime, ctime, mtime;
  uint32_t rdev_major, rdev_minor, dev_major, dev_minor;
  uint64_t mnt_id;
  uint32_t dio_mem_align, dio_offset_align;
  uint64_t spare[12];
};
static_assert(sizeof(statx_k) == 256, "struct statx layout");

struct open_how_k {
  uint64_t flags;
  uint64_t mode;
  uint64_t resolve;
};
struct mount_attr_k {
  uint64_t attr_set;
  uint64_t attr_clr;
  uint64_t propagation;
  uint64_t userns_fd;
};

// One op's run: where to say which call failed.
struct Run {
  nsb_fs_state* s;
  const char* arena;
  int* sys;
};

long fail(const Run& r, int sys, long err) {
  *r.sys = sys;
  return err;
}

void close_fd(long fd) {
  if (fd >= 0) nsb_sys(SYS_close, fd);
}

bool is_root_path(const char* p) { return p[0] == '/' && p[1] == 0; }

long root_fd(const Run& r) {
  if (r.s->root_fd < 0) {
    long fd = nsb_sys(SYS_openat, kAtFdcwd, NSB_P("/"), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return fail(r, NSB_SYS_OPENAT, fd);
    r.s->root_fd = (int)fd;
  }
  return r.s->root_fd;
}

// A path inside the sandbox's root, never leaving it (see the top of this file).
long resolve(const Run& r, const char* path, long extra_flags = 0) {
  long root = root_fd(r);
  if (root < 0) return root;
  open_how_k how = {(uint64_t)(O_PATH | O_CLOEXEC | extra_flags), 0,
                    (uint64_t)(kResolveInRoot | kResolveNoMagiclinks)};
  long fd = nsb_sys(SYS_openat2, root, NSB_P(path), NSB_P(&how), sizeof how);
  return fd < 0 ? fail(r, NSB_SYS_OPENAT2, fd) : fd;
}

long statx_of(const Run& r, long fd, unsigned mask, statx_k* st) {
  long e = nsb_sys(SYS_statx, fd, NSB_P(""), kAtEmptyPath, mask, NSB_P(st));
  return e < 0 ? fail(r, NSB_SYS_STATX, e) : 0;
}

bool is_dir(const Run& r, long fd) {
  statx_k st;
  if (statx_of(r, fd, kStatxType, &st) < 0) return true;
  return (st.mode & S_IFMT) == S_IFDIR;
}

void remember_made(const Run& r, long mount_fd) {
  statx_k st;
  if (statx_of(r, mount_fd, kStatxMntId, &st) < 0) return;
  if (r.s->nmade < NSB_FS_MADE) r.s->made[r.s->nmade++] = st.mnt_id;
}

// Whether fd lies in a mount this sandbox made (and so may be written to).
bool in_made(const Run& r, long fd) {
  statx_k st;
  if (statx_of(r, fd, kStatxMntId, &st) < 0) return false;
  for (int i = 0; i < r.s->nmade; i++)
    if (r.s->made[i] == st.mnt_id) return true;
  return false;
}

enum Kind { kDir, kFile };

// Resolves path, creating what is missing (directories 0755, the last one `kind` with
// `mode`) when `create` and only inside mounts this sandbox made; elsewhere a missing
// component stays an ENOENT error. Returns an O_PATH descriptor.
long make_path_any(const Run& r, const char* path, Kind kind, long mode, bool create) {
  long fd = resolve(r, path);
  if (fd != -ENOENT_ || !create) return fd;

  char buf[4096];
  size_t len = nsb_strlen(path);
  if (len >= sizeof buf) return fail(r, NSB_SYS_OPENAT2, -36 /* ENAMETOOLONG */);
  for (size_t i = 0; i <= len; i++) buf[i] = path[i];

  long cur = resolve(r, "/");
  if (cur < 0) return cur;
  size_t i = 0;
  while (i < len) {
    while (i < len && buf[i] == '/') i++;
    if (i >= len) break;
    size_t start = i;
    while (i < len && buf[i] != '/') i++;
    bool last = true;
    for (size_t k = i; k < len; k++)
      if (buf[k] != '/') last = false;
    char saved = buf[i];
    buf[i] = 0;
    long next = resolve(r, buf);
    if (next == -ENOENT_) {
      if (!in_made(r, cur)) {
        close_fd(cur);
        return fail(r, NSB_SYS_OPENAT2, -ENOENT_);
      }
      const char* name = buf + start;
      long e;
      if (last && kind == kFile) {
        e = nsb_sys(SYS_openat, cur, NSB_P(name), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    mode);
        if (e >= 0) close_fd(e);
        if (e < 0 && e != -EEXIST_) {
          close_fd(cur);
          return fail(r, NSB_SYS_OPENAT, e);
        }
      } else {
        e = nsb_sys(SYS_mkdirat, cur, NSB_P(name), last ? mode : 0755);
        if (e < 0 && e != -EEXIST_) {
          close_fd(cur);
          return fail(r, NSB_SYS_MKDIRAT, e);
        }
      }
      next = resolve(r, buf);
    }
    close_fd(cur);
    if (next < 0) return next;
    cur = next;
    buf[i] = saved;
  }
  return cur;
}

// make_path_any, and what was found must be of the kind asked for: a directory mount
// onto a file (or the reverse) is ENOTDIR (EISDIR), not the kernel's bare EINVAL.
long make_path(const Run& r, const char* path, Kind kind, long mode, bool create) {
  long fd = make_path_any(r, path, kind, mode, create);
  if (fd < 0) return fd;
  bool dir = is_dir(r, fd);
  if (dir != (kind == kDir)) {
    close_fd(fd);
    return fail(r, NSB_SYS_OPENAT2, dir ? -21 /* EISDIR */ : -ENOTDIR_);
  }
  return fd;
}

// Splits "/a/b/c" into the parent "/a/b" (in buf) and the name "c".
const char* split(const char* path, char (&buf)[4096]) {
  size_t len = nsb_strlen(path);
  if (len >= sizeof buf) len = sizeof buf - 1;
  for (size_t i = 0; i < len; i++) buf[i] = path[i];
  buf[len] = 0;
  size_t slash = 0;
  for (size_t i = 0; i < len; i++)
    if (buf[i] == '/') slash = i;
  if (slash == 0) {
    buf[0] = '/';
    buf[1] = 0;
    return path + 1;
  }
  buf[slash] = 0;
  return path + slash + 1;
}

long set_attrs(const Run& r, long mount_fd, uint64_t attrs, bool recursive) {
  if (!attrs) return 0;
  if (r.s->remount) return 0;  // after the attach: remount_attrs
  mount_attr_k a = {attrs, 0, 0, 0};
  long e = nsb_sys(SYS_mount_setattr, mount_fd, NSB_P(""), kAtEmptyPath | (recursive ? kAtRecursive : 0),
                   NSB_P(&a), sizeof a);
  return e < 0 ? fail(r, NSB_SYS_MOUNT_SETATTR, e) : 0;
}

// set_attrs without mount_setattr (NSB_OP_FS_NO_SETATTR, kernels before 5.12): mount(2) can only
// change a mount in our namespace, so this runs right after the attach, before anything
// runs in the sandbox (native/fs_remount.cc). The MOUNT_ATTR_* bits named here are the
// MS_* ones.
long remount_attrs(const Run& r, long mount_fd, uint64_t attrs, bool recursive) {
  if (!r.s->remount || !attrs) return 0;
  unsigned long ms = ((attrs & kAttrRdonly) ? MS_RDONLY : 0) | ((attrs & kAttrNosuid) ? MS_NOSUID : 0) |
                     ((attrs & kAttrNodev) ? MS_NODEV : 0) | ((attrs & kAttrNoexec) ? MS_NOEXEC : 0);
  return nsb_fs_remount(mount_fd, ms, recursive, r.sys);
}

// Attaches a detached mount at the resolved destination. A mount over the root itself
// becomes the new root descriptor (later steps then see it, and NSB_OP_FS_ENTER enters it).
long attach(const Run& r, long mount_fd, long dst_fd, const char* dst, bool* kept) {
  long e = nsb_sys(SYS_move_mount, mount_fd, NSB_P(""), dst_fd, NSB_P(""), kMoveFEmpty | kMoveTEmpty);
  if (e < 0) return fail(r, NSB_SYS_MOVE_MOUNT, e);
  *kept = false;
  if (is_root_path(dst)) {
    close_fd(r.s->root_fd);
    r.s->root_fd = (int)mount_fd;
    *kept = true;
  }
  return 0;
}

// A new filesystem as a detached mount: fsopen, the "key\0value\0...\0" options (an empty
// value sets a flag), create, fsmount.
long new_fs(const Run& r, const char* type, const char* opts, uint64_t attrs) {
  long fs = nsb_sys(SYS_fsopen, NSB_P(type), 1 /* FSOPEN_CLOEXEC */);
  if (fs < 0) return fail(r, NSB_SYS_FSOPEN, fs);
  const char* p = opts;
  long e = 0;
  while (p && *p && e >= 0) {
    const char* key = p;
    p += nsb_strlen(p) + 1;
    const char* value = p;
    p += nsb_strlen(p) + 1;
    e = *value ? nsb_sys(SYS_fsconfig, fs, kFsconfigSetString, NSB_P(key), NSB_P(value), 0)
               : nsb_sys(SYS_fsconfig, fs, kFsconfigSetFlag, NSB_P(key), 0, 0);
  }
  if (e >= 0) e = nsb_sys(SYS_fsconfig, fs, kFsconfigCreate, 0, 0, 0);
  if (e < 0) {
    close_fd(fs);
    return fail(r, NSB_SYS_FSCONFIG, e);
  }
  long m = nsb_sys(SYS_fsmount, fs, 1 /* FSMOUNT_CLOEXEC */, (long)attrs);
  close_fd(fs);
  return m < 0 ? fail(r, NSB_SYS_FSMOUNT, m) : m;
}

// Mounts a new detached mount at dst (a directory, created where allowed).
long place(const Run& r, long m, const char* dst, bool create, bool made) {
  long d = make_path(r, dst, kDir, 0755, create);
  if (d < 0) {
    close_fd(m);
    return d;
  }
  if (made) remember_made(r, m);
  bool kept = false;
  long e = attach(r, m, d, dst, &kept);
  close_fd(d);
  if (!kept) close_fd(m);
  return e;
}

long op_bind(const Run& r, const nsb_op& op) {
  int& slot = r.s->slot[op.n[0] % NSB_FS_SLOTS];
  long src = slot;
  if (src < 0) return 0;  // an optional source that was missing
  slot = -1;
  long e = set_attrs(r, src, op.n[1], true);
  if (e < 0) {
    close_fd(src);
    return e;
  }
  long d = make_path(r, r.arena + op.s[0], is_dir(r, src) ? kDir : kFile, 0755, op.flags & NSB_FS_CREATE);
  if (d < 0) {
    close_fd(src);
    return d;
  }
  bool kept = false;
  e = attach(r, src, d, r.arena + op.s[0], &kept);
  close_fd(d);
  if (e >= 0) e = remount_attrs(r, src, op.n[1], true);
  if (!kept) close_fd(src);
  return e;
}

// "/proc/self/fd/N" appended at p (at most 24 bytes): a magic link to the very directory
// the descriptor holds, so a layer named this way cannot be swapped by a symlink either.
char* put_fd_path(char* p, long fd) {
  const char* pre = "/proc/self/fd/";
  while (*pre) *p++ = *pre++;
  char digits[20];
  int n = 0;
  do digits[n++] = (char)('0' + fd % 10);
  while ((fd /= 10) > 0 && n < 20);
  while (n) *p++ = digits[--n];
  *p = 0;
  return p;
}

// Before Linux 6.8 overlayfs takes no layer by descriptor ("lowerdir+", upperdir and
// workdir by FSCONFIG_SET_FD): the same descriptors go in as /proc/self/fd paths in the
// option strings, which the kernel resolves once, at FSCONFIG_CMD_CREATE.
long overlay_layers_by_path(const Run& r, long fs, const int32_t* b, int n, long upper, long work) {
  char buf[4096];
  char* p = buf;
  for (int i = 0; i < n; i++) {
    if (p - buf > (long)sizeof buf - 32) return -36 /* ENAMETOOLONG */;
    if (i) *p++ = ':';
    p = put_fd_path(p, r.s->slot[b[1 + i] % NSB_FS_SLOTS]);
  }
  long c = nsb_sys(SYS_fsconfig, fs, kFsconfigSetString, NSB_P("lowerdir"), NSB_P(buf), 0);
  if (c < 0) return c;
  put_fd_path(buf, upper);
  c = nsb_sys(SYS_fsconfig, fs, kFsconfigSetString, NSB_P("upperdir"), NSB_P(buf), 0);
  if (c < 0) return c;
  put_fd_path(buf, work);
  c = nsb_sys(SYS_fsconfig, fs, kFsconfigSetString, NSB_P("workdir"), NSB_P(buf), 0);
  if (c < 0) return c;
  return nsb_sys(SYS_fsconfig, fs, kFsconfigCreate, 0, 0, 0);
}

long op_overlay(const Run& r, const nsb_op& op) {
  const int32_t* b = (const int32_t*)(r.arena + op.s[1]);
  int n = b[0];
  long upper = b[n + 1] >= 0 ? r.s->slot[b[n + 1] % NSB_FS_SLOTS] : -1;
  long work = b[n + 2] >= 0 ? r.s->slot[b[n + 2] % NSB_FS_SLOTS] : -1;
  long scratch = -1, own_upper = -1, own_work = -1;
  if (upper < 0) {
    // No upper layer given: a tmpfs holds it, and the writes vanish with the sandbox.
    scratch = new_fs(r, "tmpfs", "mode\0" "0755\0", 0);
    if (scratch < 0) return scratch;
    long e = nsb_sys(SYS_mkdirat, scratch, NSB_P("upper"), 0755);
    if (e >= 0) e = nsb_sys(SYS_mkdirat, scratch, NSB_P("work"), 0755);
    if (e < 0) {
      close_fd(scratch);
      return fail(r, NSB_SYS_MKDIRAT, e);
    }
    own_upper = nsb_sys(SYS_openat, scratch, NSB_P("upper"), O_PATH | O_DIRECTORY | O_CLOEXEC);
    own_work = nsb_sys(SYS_openat, scratch, NSB_P("work"), O_PATH | O_DIRECTORY | O_CLOEXEC);
    upper = own_upper;
    work = own_work;
    if (op.flags & NSB_FS_OVERLAY_PATHS) {
      // Before 6.8 overlayfs refuses an upper layer in a detached mount (EINVAL): the
      // scratch tmpfs goes to the destination first, and the overlay is stacked over it.
      long d = make_path(r, r.arena + op.s[0], kDir, 0755, op.flags & NSB_FS_CREATE);
      bool kept = false;
      long a = d < 0 ? d : attach(r, scratch, d, r.arena + op.s[0], &kept);
      close_fd(d);
      if (kept) scratch = -1;  // it is the root descriptor now
      if (a < 0) {
        close_fd(own_upper);
        close_fd(own_work);
        close_fd(scratch);
        return a;
      }
    }
  }
  long e = 0;
  long fs = nsb_sys(SYS_fsopen, NSB_P("overlay"), 1);
  if (fs < 0) e = fail(r, NSB_SYS_FSOPEN, fs);
  const char* p = r.arena + op.s[2];
  while (e >= 0 && op.s[2] && *p) {
    const char* key = p;
    p += nsb_strlen(p) + 1;
    p += nsb_strlen(p) + 1;
    long c = nsb_sys(SYS_fsconfig, fs, kFsconfigSetFlag, NSB_P(key), 0, 0);
    if (c < 0) e = fail(r, NSB_SYS_FSCONFIG, c);
  }
  if (e >= 0 && (op.flags & NSB_FS_OVERLAY_PATHS)) {
    long c = overlay_layers_by_path(r, fs, b, n, upper, work);
    if (c < 0) e = fail(r, NSB_SYS_FSCONFIG, c);
  }
  // "lowerdir+" appends a layer below the ones given so far: the first is top-most.
  for (int i = 0; e >= 0 && !(op.flags & NSB_FS_OVERLAY_PATHS) && i < n; i++) {
    long c = nsb_sys(SYS_fsconfig, fs, kFsconfigSetFd, NSB_P("lowerdir+"), 0, r.s->slot[b[1 + i] % NSB_FS_SLOTS]);
    if (c < 0) e = fail(r, NSB_SYS_FSCONFIG, c);
  }
  if (e >= 0 && !(op.flags & NSB_FS_OVERLAY_PATHS)) {
    long c = nsb_sys(SYS_fsconfig, fs, kFsconfigSetFd, NSB_P("upperdir"), 0, upper);
    if (c >= 0) c = nsb_sys(SYS_fsconfig, fs, kFsconfigSetFd, NSB_P("workdir"), 0, work);
    if (c >= 0) c = nsb_sys(SYS_fsconfig, fs, kFsconfigCreate, 0, 0, 0);
    if (c < 0) e = fail(r, NSB_SYS_FSCONFIG, c);
  }
  long m = -1;
  if (e >= 0) {
    m = nsb_sys(SYS_fsmount, fs, 1, (long)op.n[1]);
    if (m < 0) e = fail(r, NSB_SYS_FSMOUNT, m);
  }
  close_fd(fs);
  close_fd(own_upper);
  close_fd(own_work);
  close_fd(scratch);
  if (e < 0) return e;
  return place(r, m, r.arena + op.s[0], op.flags & NSB_FS_CREATE, true);
}

// The tmpfs with the empty file that masks files, made on first use.
long mask_file_source(const Run& r) {
  if (r.s->mask_fd >= 0) return r.s->mask_fd;
  long t = new_fs(r, "tmpfs", "mode\0" "0555\0" "size\0" "4k\0", kAttrNosuid | kAttrNodev | kAttrNoexec);
  if (t < 0) return t;
  long f = nsb_sys(SYS_openat, t, NSB_P("empty"), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0444);
  if (f < 0) {
    close_fd(t);
    return fail(r, NSB_SYS_OPENAT, f);
  }
  close_fd(f);
  r.s->mask_fd = (int)t;
  return t;
}

// A mount of the mask tmpfs's empty file, to put over a masked file. Cloning from a
// detached mount (what mask_file_source made) is refused with EINVAL by kernels before
// 6.15 (open_tree wants a mount of this namespace). There the tmpfs is attached for the
// moment over the sandbox's root directory -- where nothing looks: a path walk never
// follows a mount on its starting point, and the root is one -- cloned, and unmounted
// again through the working directory (umount2 takes no descriptor). An unmounted mount
// cannot be attached again, so the next masked file gets a tmpfs of its own: the
// caller's `t` is gone then (*gone): closed, and not to be used again. `attach`
// (NSB_FS_MASK_ATTACH, picked from the kernel release) goes there without trying the
// detached clone first.
long clone_from_detached(const Run& r, long t, const char* name, bool attach, bool* gone) {
  *gone = false;
  long c;
  if (!attach) {
    c = nsb_sys(SYS_open_tree, t, NSB_P(name), kOpenTreeClone | O_CLOEXEC);
    if (c != -EINVAL_) return c < 0 ? fail(r, NSB_SYS_OPEN_TREE, c) : c;
  }
  long root = root_fd(r);
  if (root < 0) return root;
  long e = nsb_sys(SYS_move_mount, t, NSB_P(""), root, NSB_P(""), kMoveFEmpty | kMoveTEmpty);
  if (e < 0) return fail(r, NSB_SYS_MOVE_MOUNT, e);
  c = nsb_sys(SYS_open_tree, t, NSB_P(name), kOpenTreeClone | O_CLOEXEC);
  // Back to the working directory afterwards, or where the setup's ids cannot search it
  // (the caller's 0700 directory, for a root caller whose sandbox root is an unprivileged
  // host id: opening "." is EACCES) to the sandbox's root: nothing before the program's
  // own cwd op (NSB_OP_CHDIR) uses the working directory.
  long cwd = nsb_sys(SYS_openat, kAtFdcwd, NSB_P("."), O_PATH | O_DIRECTORY | O_CLOEXEC);
  e = nsb_sys(SYS_fchdir, t);
  if (e >= 0) e = nsb_sys(SYS_umount2, NSB_P("."), kMntDetach);
  nsb_sys(SYS_fchdir, cwd >= 0 ? cwd : root);
  close_fd(cwd);
  close_fd(t);
  *gone = true;
  if (c < 0) return fail(r, NSB_SYS_OPEN_TREE, c);
  if (e < 0) {
    // Left over the root, the tmpfs would show in mountinfo: fail rather than leave it.
    close_fd(c);
    return fail(r, NSB_SYS_UMOUNT2, e);
  }
  return c;
}

long clone_empty(const Run& r, bool attach) {
  long t = mask_file_source(r);
  if (t < 0) return t;
  bool gone = false;
  long c = clone_from_detached(r, t, "empty", attach, &gone);
  if (gone) r.s->mask_fd = -1;
  return c;
}

// Slot n0 = a mount of a file of its own: the n1 bytes of blob s0, mode n2, alone on a
// private detached tmpfs (bubblewrap's --bind-data: NSB_OP_FS_BIND then attaches it, so
// it may cover a file of the host's that the sandbox sees, which stays untouched).
long op_data(const Run& r, const nsb_op& op) {
  long t = new_fs(r, "tmpfs", "mode\0" "0755\0", kAttrNosuid | kAttrNodev);
  if (t < 0) return t;
  long f = nsb_sys(SYS_openat, t, NSB_P("data"), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, (long)op.n[2]);
  if (f < 0) {
    close_fd(t);
    return fail(r, NSB_SYS_OPENAT, f);
  }
  long e = op.n[1] ? nsb_write_all((int)f, r.arena + op.s[0], (size_t)op.n[1]) : 0;
  int sys = NSB_SYS_WRITE;
  if (e >= 0) {
    sys = NSB_SYS_FCHMOD;
    e = nsb_sys(SYS_fchmod, f, (long)op.n[2]);
  }
  close_fd(f);
  if (e < 0) {
    close_fd(t);
    return fail(r, sys, e);
  }
  bool gone = false;
  long c = clone_from_detached(r, t, "data", op.flags & NSB_FS_MASK_ATTACH, &gone);
  if (!gone) close_fd(t);
  if (c < 0) return c;
  r.s->slot[op.n[0] % NSB_FS_SLOTS] = (int)c;
  return 0;
}

long op_mask(const Run& r, const nsb_op& op) {
  long fd = resolve(r, r.arena + op.s[0]);
  if (fd == -ENOENT_ && (op.flags & NSB_FS_OPTIONAL)) return 0;
  if (fd < 0) return fd;
  long m;
  uint64_t later = 0;  // the flags remount_attrs sets after the attach
  if (is_dir(r, fd)) {
    // An empty, read-only tmpfs hides a directory.
    m = new_fs(r, "tmpfs", "mode\0" "0555\0" "size\0" "4k\0", kAttrRdonly | kAttrNosuid | kAttrNodev | kAttrNoexec);
  } else {
    // An empty file on a read-only mount over a file: it reads empty and every write
    // fails with EROFS. (/dev/null would read empty too, but a device node takes writes
    // on a read-only mount and drops them: a program would believe it had written.)
    // One small tmpfs serves every masked file of the sandbox.
    m = clone_empty(r, op.flags & NSB_FS_MASK_ATTACH);
    later = kAttrRdonly | kAttrNosuid | kAttrNodev | kAttrNoexec;
    if (m >= 0 && set_attrs(r, m, later, false) < 0) {
      close_fd(m);
      m = -1;
    }
  }
  if (m < 0) {
    close_fd(fd);
    return m;
  }
  bool kept = false;
  long e = attach(r, m, fd, r.arena + op.s[0], &kept);
  close_fd(fd);
  if (e >= 0) e = remount_attrs(r, m, later, false);
  if (!kept) close_fd(m);
  return e;
}

long op_readonly(const Run& r, const nsb_op& op) {
  const char* path = r.arena + op.s[0];
  long fd = resolve(r, path);
  if (fd == -ENOENT_ && (op.flags & NSB_FS_OPTIONAL)) return 0;
  if (fd < 0) return fd;
  // mount_setattr acts on a mount's root; a copy of the tree at this path bound over it
  // is one, whether or not the path was a mount point.
  long m = nsb_sys(SYS_open_tree, fd, NSB_P(""), kOpenTreeClone | O_CLOEXEC | kAtEmptyPath | kAtRecursive);
  if (m < 0) {
    close_fd(fd);
    return fail(r, NSB_SYS_OPEN_TREE, m);
  }
  // NSB_FS_PIN: the same copy with its flags as they are, only to make the path a mount point.
  uint64_t attrs = (op.flags & NSB_FS_PIN) ? 0 : kAttrRdonly;
  long e = attrs ? set_attrs(r, m, attrs, true) : 0;
  bool kept = false;
  if (e >= 0) e = attach(r, m, fd, path, &kept);
  close_fd(fd);
  if (e >= 0 && attrs) e = remount_attrs(r, m, attrs, true);
  if (!kept) close_fd(m);
  return e;
}

// The parent directory of a file, symlink or directory to create, which must lie in a
// mount this sandbox made.
long creatable_parent(const Run& r, const char* path, const char** name, int sys) {
  char buf[4096];
  *name = split(path, buf);
  long p = make_path(r, buf, kDir, 0755, true);
  if (p < 0) return p;
  if (!in_made(r, p)) {
    close_fd(p);
    return fail(r, sys, -EPERM_);
  }
  return p;
}

long op_mkdir(const Run& r, const nsb_op& op) {
  const char* name;
  long p = creatable_parent(r, r.arena + op.s[0], &name, NSB_SYS_MKDIRAT);
  if (p < 0) return p;
  long e = nsb_sys(SYS_mkdirat, p, NSB_P(name), 0700);
  if (e < 0 && e != -EEXIST_) {
    close_fd(p);
    return fail(r, NSB_SYS_MKDIRAT, e);
  }
  // The exact mode, whatever the umask: through a descriptor of what is really there.
  long d = nsb_sys(SYS_openat, p, NSB_P(name), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  close_fd(p);
  if (d < 0) return fail(r, NSB_SYS_OPENAT, d);
  e = in_made(r, d) ? nsb_sys(SYS_fchmod, d, (long)op.n[0]) : -EPERM_;
  close_fd(d);
  return e < 0 ? fail(r, NSB_SYS_FCHMOD, e) : 0;
}

long op_symlink(const Run& r, const nsb_op& op) {
  const char* name;
  long p = creatable_parent(r, r.arena + op.s[0], &name, NSB_SYS_SYMLINKAT);
  if (p < 0) return p;
  const char* target = r.arena + op.s[1];
  long e = nsb_sys(SYS_symlinkat, NSB_P(target), p, NSB_P(name));
  if (e == -EEXIST_) {
    // The same link already there is fine, as bubblewrap (>= 0.9) has it: layered
    // configurations repeat common links. A different link or a file stays EEXIST.
    char buf[4096];
    long n = nsb_sys(SYS_readlinkat, p, NSB_P(name), NSB_P(buf), (long)sizeof(buf));
    size_t tlen = nsb_strlen(target);
    if (n >= 0 && (size_t)n == tlen) {
      bool same = true;
      for (size_t i = 0; i < tlen; i++)
        if (buf[i] != target[i]) same = false;
      if (same) e = 0;
    }
  }
  close_fd(p);
  return e < 0 ? fail(r, NSB_SYS_SYMLINKAT, e) : 0;
}

long op_file(const Run& r, const nsb_op& op) {
  const char* name;
  long p = creatable_parent(r, r.arena + op.s[0], &name, NSB_SYS_OPENAT);
  if (p < 0) return p;
  long fd = nsb_sys(SYS_openat, p, NSB_P(name), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                    (long)op.n[1]);
  close_fd(p);
  if (fd < 0) return fail(r, NSB_SYS_OPENAT, fd);
  long e = nsb_write_all((int)fd, r.arena + op.s[1], (size_t)op.n[0]);
  if (e < 0) {
    close_fd(fd);
    return fail(r, NSB_SYS_WRITE, e);
  }
  e = nsb_sys(SYS_fchmod, fd, (long)op.n[1]);
  close_fd(fd);
  return e < 0 ? fail(r, NSB_SYS_FCHMOD, e) : 0;
}

long op_new_root(const Run& r, const nsb_op& op) {
  long m;
  if (op.flags & NSB_FS_NEW_TMPFS) {
    m = new_fs(r, "tmpfs", r.arena + op.s[1], 0);
    if (m < 0) return m;
    remember_made(r, m);
  } else {
    int& slot = r.s->slot[op.n[0] % NSB_FS_SLOTS];
    m = slot;
    slot = -1;
    if (m < 0) return fail(r, NSB_SYS_OPEN_TREE, -EINVAL_);
    // The root directory must be one: pivot_root and chroot need it.
    if (!is_dir(r, m)) {
      close_fd(m);
      return fail(r, NSB_SYS_OPEN_TREE, -ENOTDIR_);
    }
  }
  long e = nsb_sys(SYS_move_mount, m, NSB_P(""), kAtFdcwd, NSB_P("/"), kMoveFEmpty);
  if (e < 0) {
    close_fd(m);
    return fail(r, NSB_SYS_MOVE_MOUNT, e);
  }
  close_fd(r.s->root_fd);
  r.s->root_fd = (int)m;
  return 0;
}

long op_enter(const Run& r, const nsb_op& op) {
  long root = root_fd(r);
  if (root < 0) return root;
  long e = nsb_sys(SYS_fchdir, root);
  if (e < 0) return fail(r, NSB_SYS_FCHDIR, e);
  if (op.flags & NSB_FS_CHROOT) {
    e = nsb_sys(SYS_chroot, NSB_P("."));
    if (e < 0) return fail(r, NSB_SYS_CHROOT, e);
  } else {
    // pivot_root(".", "."): the old root ends up mounted over the new one, where the
    // lazy unmount takes it (and every mount under it) out of this namespace for good.
    e = nsb_sys(SYS_pivot_root, NSB_P("."), NSB_P("."));
    if (e < 0) return fail(r, NSB_SYS_PIVOT_ROOT, e);
    e = nsb_sys(SYS_umount2, NSB_P("."), kMntDetach);
    if (e < 0) return fail(r, NSB_SYS_UMOUNT2, e);
  }
  e = nsb_sys(SYS_chdir, NSB_P("/"));
  if (e < 0) return fail(r, NSB_SYS_CHDIR, e);
  close_fd(r.s->root_fd);
  r.s->root_fd = -1;
  return 0;
}

}  // namespace

void nsb_fs_close_slots(nsb_fs_state* s) {
  for (int i = 0; i < NSB_FS_SLOTS; i++) {
    close_fd(s->slot[i]);
    s->slot[i] = -1;
  }
  close_fd(s->mask_fd);
  s->mask_fd = -1;
}

long nsb_fs_chdir(nsb_fs_state* s, const char* path, int* sys) {
  Run r = {s, nullptr, sys};
  long fd = resolve(r, path, O_DIRECTORY);
  close_fd(s->root_fd);
  s->root_fd = -1;
  if (fd == -38 /* ENOSYS: openat2 arrived in Linux 5.6 */) {
    *sys = NSB_SYS_CHDIR;
    return nsb_sys(SYS_chdir, NSB_P(path));
  }
  if (fd < 0) return fd;
  long e = nsb_sys(SYS_fchdir, fd);
  close_fd(fd);
  return e < 0 ? fail(r, NSB_SYS_FCHDIR, e) : 0;
}

void nsb_fs_init(nsb_fs_state* s) {
  s->root_fd = -1;
  for (int i = 0; i < NSB_FS_SLOTS; i++) s->slot[i] = -1;
  s->nmade = 0;
  s->mask_fd = -1;
  s->remount = 0;
}

long nsb_fs_op(nsb_fs_state* s, const char* arena, const nsb_op& op, int* sys) {
  Run r = {s, arena, sys};
  switch (op.kind) {
    case NSB_OP_FS_OPEN_TREE: {
      long fd = nsb_sys(SYS_open_tree, kAtFdcwd, NSB_P(arena + op.s[0]),
                        kOpenTreeClone | O_CLOEXEC | kAtRecursive);
      if (fd == -ENOENT_ && (op.flags & NSB_FS_OPTIONAL)) fd = -1;
      else if (fd < 0) return fail(r, NSB_SYS_OPEN_TREE, fd);
      s->slot[op.n[0] % NSB_FS_SLOTS] = (int)fd;
      return 0;
    }
    case NSB_OP_FS_OPEN_PATH: {
      long fd = nsb_sys(SYS_openat, kAtFdcwd, NSB_P(arena + op.s[0]), O_PATH | O_CLOEXEC | (long)op.n[1]);
      if (fd == -ENOENT_ && (op.flags & NSB_FS_OPTIONAL)) fd = -1;
      else if (fd < 0) return fail(r, NSB_SYS_OPENAT, fd);
      s->slot[op.n[0] % NSB_FS_SLOTS] = (int)fd;
      return 0;
    }
    case NSB_OP_FS_NEW_ROOT:
      return op_new_root(r, op);
    case NSB_OP_FS_BIND:
      return op_bind(r, op);
    case NSB_OP_FS_MOUNT: {
      long m = new_fs(r, arena + op.s[1], op.s[2] ? arena + op.s[2] : nullptr, op.n[1]);
      if (m < 0) return m;
      return place(r, m, arena + op.s[0], op.flags & NSB_FS_CREATE, op.flags & NSB_FS_MADE_HERE);
    }
    case NSB_OP_FS_OVERLAY:
      return op_overlay(r, op);
    case NSB_OP_FS_MASK:
      return op_mask(r, op);
    case NSB_OP_FS_READONLY:
      return op_readonly(r, op);
    case NSB_OP_FS_MKDIR:
      return op_mkdir(r, op);
    case NSB_OP_FS_SYMLINK:
      return op_symlink(r, op);
    case NSB_OP_FS_FILE:
      return op_file(r, op);
    case NSB_OP_FS_ENTER:
      return op_enter(r, op);
    case NSB_OP_FS_NO_SETATTR:
      s->remount = 1;
      return 0;
    case NSB_OP_FS_DATA:
      return op_data(r, op);
  }
  return fail(r, NSB_SYS_NONE, -EINVAL_);
}
