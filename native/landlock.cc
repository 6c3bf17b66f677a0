// NSB_OP_LANDLOCK (plan.h): create a ruleset, add its rules, restrict ourselves, in one
// op, so the interpreter keeps no state between ops (its two hosts build nsb_interp
// field by field).
//
// Why the rule paths are opened here, in the child, and not by the parent before clone:
// the ruleset is the last thing before seccomp, after the filesystem steps and after
// entering the new root. A path of the policy names what the *program* sees: with
// .root() that is not the host path, and a path .files() masks or binds must be the
// object that is really there once the mounts are in place (a descriptor opened by the
// parent would name the host's object under the mount). Opening in the child costs one
// openat per rule, only for sandboxes that ask for Landlock. The paths are resolved by
// the kernel like any open of the program's, following symlinks: a rule on a symlink
// grants the directory it points to, which the policy layer already resolved.
//
// Layout of the op: n0 handled_access_fs, n1 handled_access_net, n2 scoped, flags the
// restrict_self flags; s0 a blob of nsb_landlock_rule, s1 unused; the number of rules is
// the blob's length / 24, given in s[2] (a count, not an offset).
#include "landlock.h"

#include <fcntl.h>

#include "sys.h"

#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#endif
#ifndef SYS_landlock_add_rule
#define SYS_landlock_add_rule 445
#endif
#ifndef SYS_landlock_restrict_self
#define SYS_landlock_restrict_self 446
#endif
#ifndef SYS_statx
#define SYS_statx 332
#endif

namespace {

struct ruleset_attr_k {
  uint64_t handled_access_fs;
  uint64_t handled_access_net;
  uint64_t scoped;
};

struct __attribute__((packed)) path_beneath_k {
  uint64_t allowed_access;
  int32_t parent_fd;
};

struct net_port_k {
  uint64_t allowed_access;
  uint64_t port;
};

struct statx_k {
  uint32_t mask, blksize;
  uint64_t attributes;
  uint32_t nlink, uid, gid;
  uint16_t mode, pad0;
  uint64_t ino, size, blocks, attributes_mask;
  uint8_t rest[256 - 64];
};

// Rights that make sense on a file (not a directory); others on a file are EINVAL.
constexpr uint64_t kFileRights = 1 /* EXECUTE */ | 2 /* WRITE_FILE */ | 4 /* READ_FILE */ |
                                 (1ull << 14) /* TRUNCATE */ | (1ull << 15) /* IOCTL_DEV */;
constexpr long kEnoent = -2;
constexpr long kAtEmptyPath = 0x1000;
constexpr unsigned kStatxType = 1;
constexpr uint16_t kSIfmt = 0170000, kSIfdir = 0040000;

long add_path(long ruleset, const char* path, const nsb_landlock_rule& r, int* sys) {
  long fd = nsb_sys(SYS_openat, -100 /* AT_FDCWD */, NSB_P(path), O_PATH | O_CLOEXEC, 0);
  if (fd == kEnoent && (r.flags & NSB_LANDLOCK_OPTIONAL)) return 0;
  if (fd < 0) {
    *sys = NSB_SYS_OPENAT;
    return fd;
  }
  path_beneath_k pb = {r.access, (int32_t)fd};
  statx_k st;
  st.mode = 0;
  if (nsb_sys(SYS_statx, fd, NSB_P(""), kAtEmptyPath, kStatxType, NSB_P(&st)) == 0 &&
      (st.mode & kSIfmt) != kSIfdir) {
    pb.allowed_access &= kFileRights;
  }
  long e = 0;
  if (pb.allowed_access) {
    e = nsb_sys(SYS_landlock_add_rule, ruleset, 1 /* LANDLOCK_RULE_PATH_BENEATH */, NSB_P(&pb), 0);
    if (e < 0) *sys = NSB_SYS_LANDLOCK_ADD_RULE;
  }
  nsb_sys(SYS_close, fd);
  return e;
}

}  // namespace

long nsb_landlock_op(const nsb_op& op, const char* arena, int* sys) {
  ruleset_attr_k attr = {op.n[0], op.n[1], op.n[2]};
  // The smallest struct that carries what is asked: older kernels refuse a larger one
  // with non-zero fields they do not know, and accept the prefix they do.
  long size = attr.scoped ? 24 : attr.handled_access_net ? 16 : 8;
  long rs = nsb_sys(SYS_landlock_create_ruleset, NSB_P(&attr), size, 0);
  if (rs < 0) {
    *sys = NSB_SYS_LANDLOCK_CREATE_RULESET;
    return rs;
  }
  // O_CLOEXEC is not settable on create_ruleset's fd by flag; the fd is closed below on
  // every path, before exec.
  const nsb_landlock_rule* rules = (const nsb_landlock_rule*)(arena + op.s[0]);
  uint32_t n = op.s[2];
  long e = 0;
  for (uint32_t i = 0; i < n && e >= 0; i++) {
    const nsb_landlock_rule& r = rules[i];
    if (r.type == NSB_LANDLOCK_PATH) {
      e = add_path(rs, arena + r.arg, r, sys);
    } else if (r.type == NSB_LANDLOCK_PORT) {
      net_port_k np = {r.access, r.arg};
      e = nsb_sys(SYS_landlock_add_rule, rs, 2 /* LANDLOCK_RULE_NET_PORT */, NSB_P(&np), 0);
      if (e < 0) *sys = NSB_SYS_LANDLOCK_ADD_RULE;
    } else {
      e = -22;
    }
  }
  if (e >= 0) {
    e = nsb_sys(SYS_landlock_restrict_self, rs, (long)op.flags);
    if (e < 0) *sys = NSB_SYS_LANDLOCK_RESTRICT_SELF;
  }
  nsb_sys(SYS_close, rs);
  return e < 0 ? e : 0;
}
