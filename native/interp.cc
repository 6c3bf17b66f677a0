// The plan interpreter (see interp.h for who runs it and under which rules).
#include "interp.h"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include "egress_child.h"
#include "exec.h"
#include "landlock.h"
#include "lock_file.h"
#include "security_ops.h"
#include "sys.h"

void nsb_report_record(const nsb_interp* it, int32_t kind, int32_t op, int32_t sys, int32_t err,
                       int32_t pid, int32_t status, int32_t maxrss_kb) {
  nsb_report r = {kind, op, sys, err, pid, status, maxrss_kb, it->token};
  nsb_write_all(it->report_fd, &r, sizeof r);
}

void nsb_fail(const nsb_interp* it, int op, int sys, long neg_errno) {
  nsb_report_record(it, NSB_REPORT_ERROR, op, sys, (int32_t)-neg_errno, 0, 0, 0);
  nsb_exit(127);
}

bool nsb_parent_alive(const nsb_interp* it) {
  if (it->expected_ppid != 0) return nsb_sys(SYS_getppid) == it->expected_ppid;
  if (it->control_fd < 0) return true;  // nothing to tell by (the parent closed it: it lives)
  struct {
    int fd;
    short events, revents;
  } p = {it->control_fd, 0, 0};
  struct {
    long sec, nsec;
  } zero = {0, 0};
  long n = nsb_sys(SYS_ppoll, NSB_P(&p), 1, NSB_P(&zero), 0, 0);
  return !(n > 0 && (p.revents & 0x10 /* POLLHUP */));
}

void nsb_arm_parent_death(const nsb_interp* it) {
  if (!it->pdeathsig) return;
  nsb_sys(SYS_prctl, PR_SET_PDEATHSIG, it->pdeathsig, 0, 0, 0);
  if (!nsb_parent_alive(it)) nsb_exit(127);  // nobody is left to tell
}

void nsb_unblock_signals() {
  uint64_t none = 0;
  nsb_sys(SYS_rt_sigprocmask, SIG_SETMASK, NSB_P(&none), 0, 8);
}

namespace {

const char* str(const nsb_interp* it, uint32_t off) { return it->arena + off; }
const char* str_or_null(const nsb_interp* it, uint32_t off) { return off ? it->arena + off : nullptr; }

void loopback_up(const nsb_interp* it, int op) {
  long s = nsb_sys(SYS_socket, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) nsb_fail(it, op, NSB_SYS_SOCKET, s);
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
  if (r < 0) nsb_fail(it, op, NSB_SYS_IOCTL, r);
}

// Every descriptor the setup opened for itself (captured filesystem sources, namespaces
// to join) is gone before the working directory is chosen and before the program's first
// instruction (SPEC 2.3). What stays until the exec is CLOEXEC: the report and control
// pipes, and the init's binary for its exec.
void close_setup_fds(nsb_interp* it) {
  nsb_fs_close_slots(&it->fs);
  for (int i = 0; i < it->nextra; i++) {
    if (it->extra[i] >= 0) nsb_sys(SYS_close, it->extra[i]);
    it->extra[i] = -1;
  }
}

[[noreturn]] void exec_program(nsb_interp* it, int op_index, const nsb_op& op) {
  if (op.flags & NSB_EXEC_VIA_INIT) {
    it->exec_via_init(it, op_index, op);
    nsb_exit(127);  // the host's function does not return
  }
  nsb_unblock_signals();
  int err = nsb_execvpe(str(it, op.s[0]), it->argv, it->envp, str_or_null(it, op.s[1]));
  nsb_fail(it, op_index, NSB_SYS_EXECVE, -err);
}

void run_op(nsb_interp* it, int i, const nsb_op& op) {
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
      r = nsb_sys(SYS_sethostname, NSB_P(str(it, op.s[0])), (long)nsb_strlen(str(it, op.s[0])));
      break;
    case NSB_OP_SETDOMAINNAME:
      sys = NSB_SYS_SETDOMAINNAME;
      r = nsb_sys(SYS_setdomainname, NSB_P(str(it, op.s[0])), (long)nsb_strlen(str(it, op.s[0])));
      break;
    case NSB_OP_LOOPBACK_UP:
      loopback_up(it, i);
      break;
    case NSB_OP_UNSHARE:
      sys = NSB_SYS_UNSHARE;
      r = nsb_sys(SYS_unshare, (long)op.n[0]);
      break;
    case NSB_OP_SETGROUPS:
      sys = NSB_SYS_SETGROUPS;
      r = nsb_sys(SYS_setgroups, (long)op.n[0], NSB_P(str(it, op.s[0])));
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
      close_setup_fds(it);
      r = nsb_fs_chdir(&it->fs, str(it, op.s[0]), &sys);
      // The default cwd (the caller's) may not exist in the sandbox's view: use "/".
      if (r < 0 && (op.flags & NSB_CHDIR_FALLBACK_ROOT)) r = nsb_fs_chdir(&it->fs, "/", &sys);
      break;
    case NSB_OP_SETNS: {
      sys = NSB_SYS_SETNS;
      int fd = op.n[0] < (uint64_t)it->nextra ? it->extra[op.n[0]] : -1;
      r = nsb_sys(SYS_setns, fd, (long)op.n[1]);
      if (r == 0 && op.n[1] == CLONE_NEWPID) it->joined_pid = true;
      break;
    }
    case NSB_OP_MOUNT:
      sys = NSB_SYS_MOUNT;
      r = nsb_sys(SYS_mount, NSB_P(str_or_null(it, op.s[0])), NSB_P(str(it, op.s[1])),
                  NSB_P(str_or_null(it, op.s[2])), (long)op.n[0], NSB_P(str_or_null(it, op.s[3])));
      break;
    case NSB_OP_UMOUNT:
      sys = NSB_SYS_UMOUNT2;
      r = nsb_sys(SYS_umount2, NSB_P(str(it, op.s[0])), (long)op.n[0]);
      break;
    case NSB_OP_PRCTL:
      sys = NSB_SYS_PRCTL;
      r = nsb_sys(SYS_prctl, (long)op.n[0], (long)op.n[1], (long)op.n[2], 0, 0);
      break;
    case NSB_OP_DIE_WITH_PARENT:
      nsb_arm_parent_death(it);
      break;
    case NSB_OP_FS_EXTRA_TREE:
      // The descriptor moves from the extras to the filesystem's slots: closed with them.
      if (op.n[1] < (uint64_t)it->nextra) {
        it->fs.slot[op.n[0] % NSB_FS_SLOTS] = it->extra[op.n[1]];
        it->extra[op.n[1]] = -1;
      }
      break;
    case NSB_OP_FS_OPEN_TREE ... NSB_OP_FS_ENTER:
    case NSB_OP_FS_NO_SETATTR:
    case NSB_OP_FS_DATA:
      r = nsb_fs_op(&it->fs, it->arena, op, &sys);
      break;
    case NSB_OP_RLIMIT:
    case NSB_OP_CAPS:
    case NSB_OP_SECCOMP:
      r = nsb_security_op(op, it->arena, &sys, it->keep_permitted);
      break;
    case NSB_OP_LANDLOCK:
      r = nsb_landlock_op(op, it->arena, &sys);
      break;
    case NSB_OP_LOCK_FILE:
      r = nsb_lock_file(str(it, op.s[0]), &sys);
      break;
    case NSB_OP_NET_LISTEN:
      r = nsb_net_listen(it, op, &sys);
      break;
    case NSB_OP_SETCTTY:
      // A controlling terminal belongs to a session leader that has none: a new session
      // first. Job control (bash -i, ^C, ^Z) then works on the pty as on a real terminal.
      sys = NSB_SYS_SETSID;
      r = nsb_sys(SYS_setsid);
      if (r >= 0) {
        sys = NSB_SYS_IOCTL;
        r = nsb_sys(SYS_ioctl, (long)op.n[0], 0x540E /* TIOCSCTTY */, 0);
      }
      break;
    case NSB_OP_EXIT:
      nsb_exit((int)op.n[0]);
    case NSB_OP_EXEC:
      exec_program(it, i, op);
    default:
      r = -22;  // EINVAL: a plan from a newer lib/ than this addon
      break;
  }
  if (r < 0) nsb_fail(it, i, sys, r);
}

}  // namespace

void nsb_run_ops(nsb_interp* it, uint32_t first, uint32_t end) {
  for (uint32_t i = first; i < end && i < it->nops; i++) run_op(it, (int)i, it->ops[i]);
}

void nsb_run_plan(nsb_interp* it, uint32_t first) {
  nsb_run_ops(it, first, it->nops);
  // A plan always ends with NSB_OP_EXEC (or NSB_OP_EXIT); reaching here means it did not.
  nsb_fail(it, (int)it->nops, NSB_SYS_NONE, -22);
}
