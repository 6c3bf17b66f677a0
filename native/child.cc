// The sandbox child: runs the plan between clone and exec.
//
// Rules for everything in this file (the child shares the Node process's memory and
// thread pointer, see sys.h):
//   - raw syscalls only (nsb_sys), never libc functions: no errno, malloc, locks, stdio;
//   - never write memory the parent owns; the job and the plan are read-only here,
//     scratch space lives on this function's stack (a stack the parent gave us);
//   - a failure is one report on the report pipe and an exit; the parent turns it into
//     an NsbindError that names the step.
#include "child.h"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include "exec.h"
#include "fs.h"
#include "security.h"

namespace {

struct Ctx {
  const nsb_child_job* job;
  int report_fd;
  int sync_fd;
  int init_fd;
  int extra[NSB_MAX_FDS];
  nsb_fs_state fs;  // filesystem ops' descriptors and the mounts they made
};

[[noreturn]] void fail(const Ctx& c, int op, int sys, long neg_errno) {
  nsb_report r = {NSB_REPORT_ERROR, op, sys, (int32_t)-neg_errno, 0, 0, 0, 0};
  nsb_write_all(c.report_fd, &r, sizeof r);
  nsb_exit(127);
}

const char* str(const Ctx& c, uint32_t off) { return c.job->arena + off; }
const char* str_or_null(const Ctx& c, uint32_t off) {
  return off ? c.job->arena + off : nullptr;
}

// The kernel's struct for rt_sigaction (not libc's, which differs in layout).
struct k_sigaction {
  unsigned long handler;
  unsigned long flags;
  unsigned long restorer;
  uint64_t mask;
};

// Node's handlers point into Node's code and would run on our shared memory; Node also
// ignores SIGPIPE, which programs must not inherit. Signals are still blocked here (the
// parent blocked them around clone), so nothing can arrive between clone and this.
void reset_signals() {
  k_sigaction dfl = {0, 0, 0, 0};
  for (int sig = 1; sig < 65; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    nsb_sys(SYS_rt_sigaction, sig, NSB_P(&dfl), 0, 8);
  }
}

void unblock_signals() {
  uint64_t none = 0;
  nsb_sys(SYS_rt_sigprocmask, SIG_SETMASK, NSB_P(&none), 0, 8);
}

// Moves fd to a number >= floor (CLOEXEC) if it is below; returns the new number.
int lift(const Ctx& c, int fd, int floor) {
  if (fd < 0 || fd >= floor) return fd;
  long r = nsb_sys(SYS_fcntl, fd, F_DUPFD_CLOEXEC, floor);
  if (r < 0) fail(c, NSB_STEP_FDS, NSB_SYS_FCNTL, r);
  return (int)r;
}

// Lays the descriptor table out as
//   0..nfds-1    the program's stdio (not CLOEXEC)
//   nfds         free: with an init, the report pipe goes there at exec
//   nfds+1...    report pipe, go-ahead pipe, init binary, extra fds (CLOEXEC)
// and CLOSES everything else now. Closing (not just marking CLOEXEC) matters: our copy of
// the Node process's table holds other spawns' pipe ends, and keeping them open until
// our exec would delay those spawns' end-of-file until our setup is done.
void arrange_fds(Ctx& c) {
  const nsb_child_job* j = c.job;
  int base = j->nfds + 1;
  int top = base + 3 + j->nextra;  // first descriptor not kept
  // 1. Lift everything we keep above `top`, so the final dup3s cannot clobber a source.
  int rep = lift(c, c.report_fd, top);
  int sync = lift(c, c.sync_fd, top);
  int init = lift(c, c.init_fd, top);
  int extra[NSB_MAX_FDS];
  for (int i = 0; i < j->nextra; i++) extra[i] = lift(c, j->extra_fd[i], top);
  int src[NSB_MAX_FDS];
  for (int i = 0; i < j->nfds; i++) src[i] = lift(c, j->fd_src[i], top);
  // 2. Into place.
  for (int i = 0; i < j->nfds; i++) {
    long r = src[i] < 0 ? nsb_sys(SYS_close, i) : nsb_sys(SYS_dup3, src[i], i, 0);
    if (r < 0 && src[i] >= 0) fail(c, NSB_STEP_FDS, NSB_SYS_DUP3, r);
  }
  nsb_sys(SYS_close, j->nfds);
  struct { int* fd; int slot; } keep[3] = {{&rep, base}, {&sync, base + 1}, {&init, base + 2}};
  for (auto& k : keep) {
    if (*k.fd < 0) {
      nsb_sys(SYS_close, k.slot);
      continue;
    }
    long r = nsb_sys(SYS_dup3, *k.fd, k.slot, O_CLOEXEC);
    if (r < 0) fail(c, NSB_STEP_FDS, NSB_SYS_DUP3, r);
    *k.fd = k.slot;
  }
  c.report_fd = rep;  // from here on, failures are reported on the kept copy
  c.sync_fd = sync;
  c.init_fd = init;
  for (int i = 0; i < j->nextra; i++) {
    int slot = base + 3 + i;
    long r = extra[i] < 0 ? nsb_sys(SYS_close, slot) : nsb_sys(SYS_dup3, extra[i], slot, O_CLOEXEC);
    if (r < 0 && extra[i] >= 0) fail(c, NSB_STEP_FDS, NSB_SYS_DUP3, r);
    c.extra[i] = extra[i] < 0 ? -1 : slot;
  }
  // 3. Close the rest.
  if (nsb_sys(SYS_close_range, top, ~0u, 0) < 0) {
    for (int fd = top; fd < 65536; fd++) nsb_sys(SYS_close, fd);  // before Linux 5.9
  }
}

void loopback_up(const Ctx& c, int op) {
  long s = nsb_sys(SYS_socket, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) fail(c, op, NSB_SYS_SOCKET, s);
  struct ifreq ifr;
  char* b = (char*)&ifr;
  for (size_t i = 0; i < sizeof ifr; i++) b[i] = 0;
  ifr.ifr_name[0] = 'l';
  ifr.ifr_name[1] = 'o';
  long r = nsb_sys(SYS_ioctl, s, SIOCGIFFLAGS, NSB_P(&ifr));
  if (r == 0) {
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    r = nsb_sys(SYS_ioctl, s, SIOCSIFFLAGS, NSB_P(&ifr));
  }
  nsb_sys(SYS_close, s);
  if (r < 0) fail(c, op, NSB_SYS_IOCTL, r);
}

[[noreturn]] void exec_program(const Ctx& c, int op_index, const nsb_op& op) {
  const nsb_child_job* j = c.job;
  if (op.flags & NSB_EXEC_VIA_INIT) {
    // The init keeps the report pipe (at slot nfds) to tell the parent about the
    // program's exec and, later, how it ended. Signals stay blocked: the init waits
    // for them with sigtimedwait.
    long r = nsb_sys(SYS_dup3, c.report_fd, j->nfds, 0);
    if (r < 0) fail(c, NSB_STEP_INIT, NSB_SYS_DUP3, r);
    r = nsb_sys(SYS_execveat, c.init_fd, NSB_P(""), NSB_P(j->init_argv), NSB_P(j->envp),
                AT_EMPTY_PATH);
    fail(c, NSB_STEP_INIT, NSB_SYS_EXECVEAT, r);
  }
  unblock_signals();
  int err = nsb_execvpe(str(c, op.s[0]), j->argv, j->envp, str_or_null(c, op.s[1]));
  fail(c, op_index, NSB_SYS_EXECVE, -err);
}

void run_op(Ctx& c, int i, const nsb_op& op) {
  long r = 0;
  int sys = NSB_SYS_NONE;
  switch (op.kind) {
    case NSB_OP_SETSID:
      sys = NSB_SYS_SETSID;
      r = nsb_sys(SYS_setsid);
      break;
    case NSB_OP_PROPAGATION:
      sys = NSB_SYS_MOUNT;
      r = nsb_sys(SYS_mount, 0, NSB_P("/"), 0, (long)(op.n[0] | MS_REC), 0);
      break;
    case NSB_OP_SETHOSTNAME:
      sys = NSB_SYS_SETHOSTNAME;
      r = nsb_sys(SYS_sethostname, NSB_P(str(c, op.s[0])), (long)nsb_strlen(str(c, op.s[0])));
      break;
    case NSB_OP_SETDOMAINNAME:
      sys = NSB_SYS_SETDOMAINNAME;
      r = nsb_sys(SYS_setdomainname, NSB_P(str(c, op.s[0])),
                  (long)nsb_strlen(str(c, op.s[0])));
      break;
    case NSB_OP_LOOPBACK_UP:
      loopback_up(c, i);
      break;
    case NSB_OP_UNSHARE:
      sys = NSB_SYS_UNSHARE;
      r = nsb_sys(SYS_unshare, (long)op.n[0]);
      break;
    case NSB_OP_SETGROUPS:
      sys = NSB_SYS_SETGROUPS;
      r = nsb_sys(SYS_setgroups, (long)op.n[0], NSB_P(str(c, op.s[0])));
      break;
    case NSB_OP_SETRESGID:
      sys = NSB_SYS_SETRESGID;
      r = nsb_sys(SYS_setresgid, (long)op.n[0], (long)op.n[0], (long)op.n[0]);
      break;
    case NSB_OP_SETRESUID:
      sys = NSB_SYS_SETRESUID;
      r = nsb_sys(SYS_setresuid, (long)op.n[0], (long)op.n[0], (long)op.n[0]);
      break;
    case NSB_OP_UMASK:
      nsb_sys(SYS_umask, (long)op.n[0]);
      break;
    case NSB_OP_CHDIR:
      sys = NSB_SYS_CHDIR;
      r = nsb_sys(SYS_chdir, NSB_P(str(c, op.s[0])));
      // The default cwd (the caller's) may not exist in the sandbox's view: use "/".
      if (r < 0 && (op.flags & NSB_CHDIR_FALLBACK_ROOT)) r = nsb_sys(SYS_chdir, NSB_P("/"));
      break;
    case NSB_OP_SETNS:
      sys = NSB_SYS_SETNS;
      r = nsb_sys(SYS_setns, c.extra[op.n[0]], (long)op.n[1]);
      break;
    case NSB_OP_MOUNT:
      sys = NSB_SYS_MOUNT;
      r = nsb_sys(SYS_mount, NSB_P(str_or_null(c, op.s[0])), NSB_P(str(c, op.s[1])),
                  NSB_P(str_or_null(c, op.s[2])), (long)op.n[0], NSB_P(str_or_null(c, op.s[3])));
      break;
    case NSB_OP_UMOUNT:
      sys = NSB_SYS_UMOUNT2;
      r = nsb_sys(SYS_umount2, NSB_P(str(c, op.s[0])), (long)op.n[0]);
      break;
    case NSB_OP_PRCTL:
      sys = NSB_SYS_PRCTL;
      r = nsb_sys(SYS_prctl, (long)op.n[0], (long)op.n[1], (long)op.n[2], 0, 0);
      break;
    case NSB_OP_FS_OPEN_TREE ... NSB_OP_FS_ENTER:
      r = nsb_fs_op(&c.fs, c.job->arena, op, &sys);
      break;
    case NSB_OP_RLIMIT:
    case NSB_OP_CAPS:
    case NSB_OP_SECCOMP:
      r = nsb_security_op(op, c.job->arena, &sys);
      break;
    case NSB_OP_EXIT:
      nsb_exit((int)op.n[0]);
    case NSB_OP_EXEC:
      exec_program(c, i, op);
    default:
      r = -22;  // EINVAL: a plan from a newer lib/ than this addon
      break;
  }
  if (r < 0) fail(c, i, sys, r);
}

}  // namespace

extern "C" int nsb_child_main(void* arg) {
  Ctx c;
  c.job = (const nsb_child_job*)arg;
  c.report_fd = c.job->report_fd;
  c.sync_fd = c.job->sync_fd;
  c.init_fd = c.job->init_fd;
  nsb_fs_init(&c.fs);
  reset_signals();
  if (c.job->pdeathsig) nsb_sys(SYS_prctl, PR_SET_PDEATHSIG, c.job->pdeathsig, 0, 0, 0);
  arrange_fds(c);

  // The parent writes our id maps, time offsets and cgroup membership, then one byte.
  // EOF instead means it gave up (or died before PDEATHSIG was armed): leave quietly.
  char go = 0;
  long r;
  do r = nsb_sys(SYS_read, c.sync_fd, NSB_P(&go), 1);
  while (r == -4 /* EINTR */);
  if (r != 1) nsb_exit(127);
  nsb_sys(SYS_close, c.sync_fd);

  for (uint32_t i = 0; i < c.job->nops; i++) run_op(c, (int)i, c.job->ops[i]);
  // A plan always ends with NSB_OP_EXEC; reaching here means it did not.
  fail(c, (int)c.job->nops, NSB_SYS_NONE, -22);
}
