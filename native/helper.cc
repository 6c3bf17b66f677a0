// See helper.h. The clone goes through the same trampoline as the sandbox spawn
// (clone.cc), so the child never touches libc's per-thread state.
#include "helper.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>

#include "clone.h"
#include "plan.h"
#include "setup_window.h"

long nsb_run_helper(unsigned long flags, int (*fn)(void*), void* arg, nsb_helper_result* res,
                    void (*meanwhile)(long pid, void* arg)) {
  // The helpers make a handful of syscalls with no locals to speak of: 16 KiB is ample,
  // and living in this frame means no allocation and nothing to free.
  alignas(16) char stack[16 * 1024];

  // The child shares our memory and (a copy of) Node's signal handlers: with every
  // signal blocked it can never run one of them. It inherits the mask and never unblocks.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  // It shares Node's memory: nothing may attach to it meanwhile (setup_window.h).
  nsb_setup_window_open();
  // No exit signal (the low byte of flags is 0): Node's SIGCHLD handling never sees it.
  long pid = nsb_clone_call(flags | CLONE_VM, stack + sizeof stack, nullptr, fn, arg);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (pid < 0) {
    nsb_setup_window_close();
    res->sys = NSB_SYS_CLONE;
    res->err = (int32_t)-pid;
    return pid;
  }
  if (meanwhile) meanwhile(pid, arg);
  int status = 0;
  // __WALL: a child without an exit signal is a "clone" child for wait's purposes.
  while (waitpid((pid_t)pid, &status, __WALL) < 0) {
    if (errno != EINTR) {
      // Not reaped: it may still share our memory, so the window stays open.
      res->sys = NSB_SYS_WAITID;
      res->err = errno;
      return 1;
    }
  }
  nsb_setup_window_close();
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
  if (res->err == 0) {  // killed before it could say why
    res->sys = NSB_SYS_NONE;
    res->err = EINTR;
  }
  return 1;
}
