// Mount flags without mount_setattr (fs_remount.h). Used only when TypeScript chose it
// (NSB_OP_FS_NO_SETATTR: a kernel older than 5.12, or the tests forcing that path).
//
// Why it is built like this:
//   - mount(2) cannot change a detached mount (it must be in our mount namespace), so the
//     tree is attached first and changed right after, before anything runs in it.
//   - MS_REMOUNT | MS_BIND changes one mount. The mounts beneath it are found in
//     /proc/self/mountinfo by mount id and parent id (never by path alone: with .root()
//     a new root is stacked over "/", and two mounts may show the same path).
//   - Each mount is reached from the tree's own descriptor (openat2(top, relative path),
//     no symlinks), then checked by its mount id before it is changed: a path that leads
//     elsewhere fails the step instead of leaving a mount writable. A mount no path
//     reaches (covered by a later mount of the tree, or stacked beneath another at the
//     same place) keeps its flags, as with bubblewrap: the sandbox cannot reach it, and in
//     a user namespace the cover is locked. mount_setattr changes those too.
//   - A user namespace may not clear nosuid/nodev/noexec/ro on mounts it inherited (they
//     are locked), and MS_REMOUNT sets exactly the flags given: the flags a mount has are
//     read from mountinfo and kept. Atime flags are kept by the kernel when none are given.
#include "fs_remount.h"

#include <fcntl.h>
#include <sys/mount.h>

#include "plan.h"
#include "sys.h"

#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif

namespace {

constexpr long kAtEmptyPath = 0x1000;
constexpr unsigned kStatxMntId = 0x1000;
constexpr long E2BIG_ = 7, EBUSY_ = 16, ENOENT_ = 2, ENOTDIR_ = 20, ENOSYS_ = 38;
constexpr uint64_t kResolveBeneath = 0x08, kResolveNoSymlinks = 0x04;

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

struct open_how_k {
  uint64_t flags, mode, resolve;
};

// The parts of struct statx read here, at the kernel's offsets (mnt_id at 144).
struct statx_k {
  uint32_t mask;
  uint8_t pad[140];
  uint64_t mnt_id;
  uint8_t rest[104];
};
static_assert(sizeof(statx_k) == 256, "struct statx layout");

// At most this many mounts in one tree (a bind of "/" on a busy host has a few hundred).
constexpr int kMaxMounts = 1024;
// A mountinfo line longer than this fails the step (E2BIG) rather than being skipped.
constexpr int kLine = 8192;

// "/proc/self/<dir>/<n>" into buf.
void proc_self_path(char (&buf)[64], const char* dir, long n) {
  const char* pre = "/proc/self/";
  int i = 0;
  for (const char* p = pre; *p; p++) buf[i++] = *p;
  for (const char* p = dir; *p; p++) buf[i++] = *p;
  buf[i++] = '/';
  char digits[24];
  int d = 0;
  unsigned long v = (unsigned long)n;
  do {
    digits[d++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (d) buf[i++] = digits[--d];
  buf[i] = 0;
}

uint64_t parse_u64(const char* p, const char* end) {
  uint64_t v = 0;
  while (p < end && *p >= '0' && *p <= '9') v = v * 10 + (uint64_t)(*p++ - '0');
  return v;
}

// The mount id of a descriptor: statx (5.8), else the "mnt_id:" line of fdinfo (3.15).
long mount_id_of(long fd, uint64_t* id) {
  statx_k st;
  st.mask = 0;
  long e = nsb_sys(SYS_statx, fd, NSB_P(""), kAtEmptyPath, kStatxMntId, NSB_P(&st));
  if (e == 0 && (st.mask & kStatxMntId)) {
    *id = st.mnt_id;
    return 0;
  }
  char path[64];
  proc_self_path(path, "fdinfo", fd);
  long f = nsb_sys(SYS_openat, -100, NSB_P(path), O_RDONLY | O_CLOEXEC);
  if (f < 0) return f;
  char buf[512];
  long n = nsb_sys(SYS_read, f, NSB_P(buf), (long)sizeof buf - 1);
  nsb_sys(SYS_close, f);
  if (n < 0) return n;
  buf[n] = 0;
  for (long i = 0; i + 7 < n; i++) {
    if ((i == 0 || buf[i - 1] == '\n') && buf[i] == 'm' && buf[i + 1] == 'n' && buf[i + 2] == 't' &&
        buf[i + 3] == '_' && buf[i + 4] == 'i' && buf[i + 5] == 'd' && buf[i + 6] == ':') {
      const char* p = buf + i + 7;
      while (*p == ' ' || *p == '\t') p++;
      *id = parse_u64(p, buf + n);
      return 0;
    }
  }
  return -ENOENT_;
}

// One line of /proc/self/mountinfo, split.
struct Line {
  uint64_t id, parent;
  const char *mp, *mp_end;      // the mount point, still escaped (\040 for a space...)
  const char *opts, *opts_end;  // the per-mount options: "rw,nosuid,nodev,relatime"
};

bool split_line(const char* p, const char* end, Line* l) {
  const char* f[6];
  const char* e[6];
  int i = 0;
  while (i < 6 && p < end) {
    f[i] = p;
    while (p < end && *p != ' ') p++;
    e[i++] = p;
    if (p < end) p++;
  }
  if (i < 6) return false;
  l->id = parse_u64(f[0], e[0]);
  l->parent = parse_u64(f[1], e[1]);
  l->mp = f[4];
  l->mp_end = e[4];
  l->opts = f[5];
  l->opts_end = e[5];
  return true;
}

// Reads mountinfo line by line into fn(const Line&); fn returns 0 or -errno to stop.
template <class F>
long each_mount(int* sys, F fn) {
  long f = nsb_sys(SYS_openat, -100, NSB_P("/proc/self/mountinfo"), O_RDONLY | O_CLOEXEC);
  if (f < 0) {
    *sys = NSB_SYS_OPENAT;
    return f;
  }
  char buf[kLine];
  long have = 0, e = 0;
  for (;;) {
    long n = nsb_sys(SYS_read, f, NSB_P(buf + have), (long)sizeof buf - have);
    if (n == -4 /* EINTR */) continue;
    if (n < 0) {
      *sys = NSB_SYS_READ;
      e = n;
      break;
    }
    have += n;
    long start = 0;
    for (long i = 0; i < have && e == 0; i++) {
      if (buf[i] != '\n') continue;
      Line l;
      if (split_line(buf + start, buf + i, &l)) e = fn(l);
      start = i + 1;
    }
    if (e != 0) break;
    if (n == 0) break;  // a last line without '\n' does not exist in mountinfo
    if (start == 0 && have == (long)sizeof buf) {
      *sys = NSB_SYS_READ;
      e = -E2BIG_;
      break;
    }
    for (long i = start; i < have; i++) buf[i - start] = buf[i];
    have -= start;
  }
  nsb_sys(SYS_close, f);
  return e;
}

// Unescapes a mountinfo path (octal \ooo) into out; false when it does not fit.
bool unescape(const char* p, const char* end, char (&out)[4096], long* len) {
  long n = 0;
  while (p < end) {
    if (n >= (long)sizeof out - 1) return false;
    if (*p == '\\' && end - p >= 4) {
      out[n++] = (char)(((p[1] - '0') << 6) | ((p[2] - '0') << 3) | (p[3] - '0'));
      p += 4;
    } else {
      out[n++] = *p++;
    }
  }
  out[n] = 0;
  *len = n;
  return true;
}

bool has_opt(const char* p, const char* end, const char* name) {
  while (p < end) {
    const char* q = p;
    while (q < end && *q != ',') q++;
    const char* s = name;
    const char* a = p;
    while (a < q && *s && *a == *s) a++, s++;
    if (a == q && !*s) return true;
    p = q + 1;
  }
  return false;
}

// The flags a mount has that MS_REMOUNT would otherwise clear.
unsigned long kept_flags(const Line& l) {
  unsigned long f = 0;
  if (has_opt(l.opts, l.opts_end, "ro")) f |= MS_RDONLY;
  if (has_opt(l.opts, l.opts_end, "nosuid")) f |= MS_NOSUID;
  if (has_opt(l.opts, l.opts_end, "nodev")) f |= MS_NODEV;
  if (has_opt(l.opts, l.opts_end, "noexec")) f |= MS_NOEXEC;
  if (has_opt(l.opts, l.opts_end, "nosymfollow")) f |= MS_NOSYMFOLLOW;
  return f;
}

bool in(const uint64_t* ids, int n, uint64_t id) {
  for (int i = 0; i < n; i++)
    if (ids[i] == id) return true;
  return false;
}

struct Tree {
  uint64_t ids[kMaxMounts];
  int n;
  char top_mp[4096];
  long top_len;
  bool top_seen;
};

}  // namespace

long nsb_fs_remount(long top, unsigned long add, bool recursive, int* sys) {
  Tree t;
  t.n = 1;
  t.top_seen = false;
  long e = mount_id_of(top, &t.ids[0]);
  if (e < 0) {
    *sys = NSB_SYS_STATX;
    return e;
  }
  // The tree: the top and, when recursive, every mount whose parent is in it. mountinfo
  // lists parents before their children in practice; the passes repeat until nothing is
  // added, so the order does not matter.
  for (int pass = 0; pass < kMaxMounts; pass++) {
    int before = t.n;
    e = each_mount(sys, [&](const Line& l) -> long {
      if (l.id == t.ids[0] && !t.top_seen) {
        if (!unescape(l.mp, l.mp_end, t.top_mp, &t.top_len)) return -E2BIG_;
        t.top_seen = true;
      }
      if (recursive && !in(t.ids, t.n, l.id) && in(t.ids, t.n, l.parent)) {
        if (t.n >= kMaxMounts) return -E2BIG_;
        t.ids[t.n++] = l.id;
      }
      return 0;
    });
    if (e < 0) return e;
    if (t.n == before) break;
  }
  if (!t.top_seen) {
    *sys = NSB_SYS_MOUNT;
    return -ENOENT_;  // not attached in this mount namespace
  }
  // Each mount, reached from the top's descriptor and checked by id.
  return each_mount(sys, [&](const Line& l) -> long {
    if (!in(t.ids, t.n, l.id)) return 0;
    char mp[4096];
    long len;
    if (!unescape(l.mp, l.mp_end, mp, &len)) {
      *sys = NSB_SYS_MOUNT;
      return -E2BIG_;
    }
    const char* rel = nullptr;
    bool top_is_root = t.top_len == 1 && t.top_mp[0] == '/';
    bool prefix = len >= t.top_len;
    for (long i = 0; prefix && i < t.top_len; i++) prefix = mp[i] == t.top_mp[i];
    if (l.id == t.ids[0]) {
      rel = "";
    } else if (prefix && top_is_root) {
      rel = mp + 1;
    } else if (prefix && mp[t.top_len] == '/') {
      rel = mp + t.top_len + 1;
    } else {
      *sys = NSB_SYS_MOUNT;
      return -EBUSY_;  // a mount of the tree outside its path: never seen, but never skipped
    }
    long fd = top;
    if (*rel) {
      // No symlink on the way (the path mountinfo shows has none): openat2 from 5.6.
      open_how_k how = {(uint64_t)(O_PATH | O_CLOEXEC), 0, kResolveBeneath | kResolveNoSymlinks};
      fd = nsb_sys(SYS_openat2, top, NSB_P(rel), NSB_P(&how), sizeof how);
      if (fd == -ENOSYS_) fd = nsb_sys(SYS_openat, top, NSB_P(rel), O_PATH | O_NOFOLLOW | O_CLOEXEC);
      // Covered: a later mount of the tree hides its path (a tmpfs over a directory that
      // had mounts beneath it). The sandbox cannot reach it; in a user namespace the cover
      // is locked and cannot be unmounted.
      if (fd == -ENOENT_ || fd == -ENOTDIR_) return 0;
      if (fd < 0) {
        *sys = NSB_SYS_OPENAT;
        return fd;
      }
      uint64_t id = 0;
      long m = mount_id_of(fd, &id);
      if (m < 0 || id != l.id) {
        nsb_sys(SYS_close, fd);
        if (m < 0) {
          *sys = NSB_SYS_STATX;
          return m;
        }
        // Hidden beneath another mount of the same tree (which gets the flags too): the
        // sandbox cannot reach it. Anything else is not the mount we were told about.
        if (in(t.ids, t.n, id)) return 0;
        *sys = NSB_SYS_MOUNT;
        return -EBUSY_;
      }
    }
    char path[64];
    proc_self_path(path, "fd", fd);
    long r = nsb_sys(SYS_mount, 0, NSB_P(path), 0, (long)(MS_REMOUNT | MS_BIND | add | kept_flags(l)), 0);
    if (fd != top) nsb_sys(SYS_close, fd);
    if (r < 0) {
      *sys = NSB_SYS_MOUNT;
      return r;
    }
    return 0;
  });
}
