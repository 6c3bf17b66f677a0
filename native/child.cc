// The setup child: cloned with CLONE_VM, it shares the Node process's memory until its
// exec. It arms die-with-parent, resets Node's signal handlers, lays out the descriptors,
// waits for the parent's go-ahead, and runs the plan (interp.h) up to its end or up to
// where nsbind-init takes over (init/control.h): the init runs the rest in memory of its
// own, from the start for a sandbox with limits, or from the capability drop when it is
// to be PID 1.
//
// Rules (the interpreter's, interp.h, and one more): the child shares the Node process's
// memory and thread pointer, so it never writes memory the parent owns (the job and the
// plan are read-only here; scratch space lives on the stack the parent gave us), except
// the job's `armed` word. A failure is one report on the report pipe and an exit; the
// parent turns it into an NsbindError that names the step.
//
// Nothing in a sandbox may attach to this child or open its /proc/PID/mem (that is,
// Node's memory) while it runs. Why nothing can (setup_window.h has the whole argument):
// it never holds fewer capabilities than at its clone (NSB_OP_CAPS leaves its permitted
// set to the exec), it never changes its credentials or joins a user namespace unless
// the Node process is root (lib/plan.ts gives those steps to the init otherwise), and
// with a root Node process its memory is not dumpable meanwhile.
#include "child.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <sys/prctl.h>

#include "init/control.h"
#include "security_ops.h"
#include "sys.h"

namespace {

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

// Moves fd to a number >= floor (CLOEXEC) if it is below; returns the new number.
int lift(const nsb_interp* it, int fd, int floor) {
  if (fd < 0 || fd >= floor) return fd;
  long r = nsb_sys(SYS_fcntl, fd, F_DUPFD_CLOEXEC, floor);
  if (r < 0) nsb_fail(it, NSB_STEP_FDS, NSB_SYS_FCNTL, r);
  return (int)r;
}

// Puts fd at slot (CLOEXEC), or leaves the slot closed when fd < 0. Returns the slot or -1.
int place(const nsb_interp* it, int fd, int slot) {
  if (fd < 0) {
    nsb_sys(SYS_close, slot);
    return -1;
  }
  long r = nsb_sys(SYS_dup3, fd, slot, O_CLOEXEC);
  if (r < 0) nsb_fail(it, NSB_STEP_FDS, NSB_SYS_DUP3, r);
  return slot;
}

// Lays the descriptor table out as
//   0..nfds-1    the program's stdio (not CLOEXEC)
//   nfds         the report pipe            CLOEXEC, all four; nsbind-init finds
//   nfds+1       the control pipe           them here (init/init.cc)
//   nfds+2       nsbind-init's binary
//   nfds+3...    the extra descriptors
// and CLOSES everything else now. Closing (not just marking CLOEXEC) matters: our copy of
// the Node process's table holds other spawns' pipe ends, and keeping them open until
// our exec would delay those spawns' end-of-file until our setup is done.
void arrange_fds(nsb_interp* it, const nsb_child_job* j) {
  int top = j->nfds + 3 + j->nextra;  // first descriptor not kept
  // 1. Lift everything we keep above `top`, so the final dup3s cannot clobber a source.
  int rep = lift(it, it->report_fd, top);
  int ctl = lift(it, it->control_fd, top);
  int init = lift(it, j->init_fd, top);
  int extra[NSB_MAX_FDS];
  for (int i = 0; i < j->nextra; i++) extra[i] = lift(it, j->extra_fd[i], top);
  int src[NSB_MAX_FDS];
  for (int i = 0; i < j->nfds; i++) src[i] = lift(it, j->fd_src[i], top);
  // 2. Into place.
  for (int i = 0; i < j->nfds; i++) {
    long r = src[i] < 0 ? nsb_sys(SYS_close, i) : nsb_sys(SYS_dup3, src[i], i, 0);
    if (r < 0 && src[i] >= 0) nsb_fail(it, NSB_STEP_FDS, NSB_SYS_DUP3, r);
  }
  it->report_fd = place(it, rep, j->nfds);  // from here on, failures go to the kept copy
  it->control_fd = place(it, ctl, j->nfds + 1);
  place(it, init, j->nfds + 2);
  for (int i = 0; i < j->nextra; i++) it->extra[i] = place(it, extra[i], j->nfds + 3 + i);
  // 3. Close the rest.
  if (nsb_sys(SYS_close_range, top, ~0u, 0) < 0) {
    for (int fd = top; fd < 65536; fd++) nsb_sys(SYS_close, fd);  // before Linux 5.9
  }
}

void keep_across_exec(const nsb_interp* it, int fd) {
  if (fd >= 0) nsb_sys(SYS_fcntl, fd, F_SETFD, 0);
}

// nsbind-init takes over: exec it, with the descriptors it needs and every capability
// this child holds (it runs the capability drop itself). The init reads its message and
// the plan from the control pipe, from op init_from on.
[[noreturn]] void exec_init(nsb_interp* it) {
  const nsb_child_job* j = (const nsb_child_job*)it->host;
  int step = j->init_from == 0 ? NSB_STEP_SETUP_EXEC : NSB_STEP_INIT;
  if (j->exec_detect >= 0) keep_across_exec(it, j->nfds + 3 + j->exec_detect);
  // As a non-zero uid (a user namespace mapping the caller elsewhere, or after .as()),
  // an exec would leave the init without capabilities: carry them over as ambient ones.
  if (nsb_sys(SYS_getuid) != 0) {
    int sys = 0;
    long r = nsb_caps_to_ambient(&sys);
    if (r < 0) nsb_fail(it, step, sys, r);
  }
  keep_across_exec(it, it->report_fd);
  keep_across_exec(it, it->control_fd);
  for (int i = 0; i < j->nextra; i++) keep_across_exec(it, it->extra[i]);
  long r = nsb_sys(SYS_execveat, j->nfds + 2, NSB_P(""), NSB_P(j->init_argv), NSB_P(j->envp),
                   AT_EMPTY_PATH);
  nsb_fail(it, step, NSB_SYS_EXECVEAT, r);
}

// NSB_OP_EXEC with NSB_EXEC_VIA_INIT reached here: the parent puts init_from before it,
// so this is not expected; the init would start from where it was told anyway.
[[noreturn]] void exec_via_init(nsb_interp* it, int, const nsb_op&) { exec_init(it); }

}  // namespace

extern "C" int nsb_child_main(void* arg) {
  nsb_child_job* j = (nsb_child_job*)arg;
  nsb_interp it;
  it.ops = j->ops;
  it.nops = j->nops;
  it.arena = j->arena;
  it.report_fd = j->report_fd;
  it.control_fd = j->control_fd;
  it.token = j->token;
  it.expected_ppid = j->expected_ppid;
  it.pdeathsig = j->pdeathsig;
  it.joined_pid = false;
  it.nextra = j->nextra;
  it.argv = j->argv;
  it.envp = j->envp;
  it.exec_via_init = exec_via_init;
  it.host = j;
  it.keep_permitted = j->keep_permitted;

  // Die with the parent before anything can depend on it. Should the parent already be
  // gone, leave: nobody would ever send the signal now. (In a new pid namespace the
  // parent cannot be asked by pid; it waits for `armed` before its go-ahead instead.)
  nsb_arm_parent_death(&it);
  // The time namespace: unshare() never moves the caller (only its later exec enters),
  // so the offsets the parent writes next reach a namespace no task has entered yet.
  long time_err = j->unshare_time ? nsb_sys(SYS_unshare, 0x80 /* CLONE_NEWTIME */) : 0;
  __atomic_store_n(&j->armed, 1, __ATOMIC_RELEASE);
  nsb_sys6(SYS_futex, NSB_P(&j->armed), FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1, 0, 0, 0);

  reset_signals();
  nsb_fs_init(&it.fs);
  arrange_fds(&it, j);
  // The exec-detect pipe is the init's, not the setup's: close_setup_fds leaves it.
  if (j->exec_detect >= 0 && j->exec_detect < it.nextra) it.extra[j->exec_detect] = -1;

  // The parent writes our id maps, time offsets and the veth, then the go-ahead byte.
  // EOF instead means it gave up (or died): leave quietly.
  char go = 0;
  long r;
  do r = nsb_sys(SYS_read, it.control_fd, NSB_P(&go), 1);
  while (r == -4 /* EINTR */);
  if (r != 1) nsb_exit(127);
  if (time_err < 0) nsb_fail(&it, NSB_STEP_TIME_NS, NSB_SYS_UNSHARE, time_err);

  if (j->init_from < j->nops) {
    nsb_run_ops(&it, 0, j->init_from);
    exec_init(&it);
  }
  nsb_run_plan(&it, 0);
}
