// nsbind-init: PID 1 of a sandbox's pid namespace.
//
// A freestanding static program (no libc): a few KiB, so each sandbox's init costs
// almost no memory, and it runs inside any root the sandbox has, even an empty one
// (it is exec'd by fd). The sandbox child execs it as its last step; it then
//   - forks and execs the program (PATH search inside the sandbox) and tells the
//     parent, on the report pipe, that the program runs or why its exec failed;
//   - forwards SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 to the program;
//   - reaps every orphan;
//   - when the program ends, kills what is left in the namespace, reports the
//     program's own wait status (so the parent sees "killed by SIGSEGV", not an exit
//     code of 139) and exits with the program's code, or 128+N for signal N.
//
// argv: nsbind-init REPORT_FD PATH FILE ARGV0 ARGS...  (PATH may be empty)
// Signals arrive blocked (the sandbox child never unblocked them) and stay blocked:
// the init takes them with sigtimedwait, so no handler can race with anything.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "../exec.h"
#include "../plan.h"
#include "../sys.h"

extern "C" {
// The compiler may emit calls to these for struct copies and zeroing.
void* memset(void* d, int c, size_t n) {
  char* p = (char*)d;
  while (n--) *p++ = (char)c;
  return d;
}
void* memcpy(void* d, const void* s, size_t n) {
  char* p = (char*)d;
  const char* q = (const char*)s;
  while (n--) *p++ = *q++;
  return d;
}
}

namespace {

int parse_int(const char* s) {
  int v = 0;
  while (*s >= '0' && *s <= '9') v = v * 10 + (*s++ - '0');
  return v;
}

void report(int fd, int32_t kind, int32_t op, int32_t sys, int32_t err, int32_t pid,
            int32_t status, int32_t maxrss_kb = 0) {
  nsb_report r = {kind, op, sys, err, pid, status, maxrss_kb, 0};
  nsb_write_all(fd, &r, sizeof r);
}

bool forwarded(int sig) {
  return sig == SIGINT || sig == SIGTERM || sig == SIGHUP || sig == SIGQUIT ||
         sig == SIGUSR1 || sig == SIGUSR2;
}

}  // namespace

extern "C" [[noreturn]] void nsb_init_main(long* sp) {
  int argc = (int)sp[0];
  char** argv = (char**)(sp + 1);
  char** envp = argv + argc + 1;
  if (argc < 5) nsb_exit(125);
  int rep = parse_int(argv[1]);
  const char* path = argv[2];
  const char* file = argv[3];
  char** pargv = argv + 4;

  int ep[2];
  long r = nsb_sys(SYS_pipe2, NSB_P(ep), O_CLOEXEC);
  if (r < 0) {
    report(rep, NSB_REPORT_ERROR, NSB_STEP_EXEC, NSB_SYS_PIPE, (int32_t)-r, 0, 0);
    nsb_exit(125);
  }
  long pid = nsb_sys(SYS_clone, SIGCHLD, 0, 0, 0, 0);
  if (pid == 0) {
    nsb_sys(SYS_close, ep[0]);
    nsb_sys(SYS_fcntl, rep, F_SETFD, FD_CLOEXEC);
    uint64_t none = 0;
    nsb_sys(SYS_rt_sigprocmask, SIG_SETMASK, NSB_P(&none), 0, 8);
    int32_t err = nsb_execvpe(file, pargv, envp, path);
    nsb_write_all(ep[1], &err, sizeof err);
    nsb_exit(127);
  }
  nsb_sys(SYS_close, ep[1]);
  if (pid < 0) {
    report(rep, NSB_REPORT_ERROR, NSB_STEP_EXEC, NSB_SYS_FORK, (int32_t)-pid, 0, 0);
    nsb_exit(125);
  }
  int32_t err = 0;
  do r = nsb_sys(SYS_read, ep[0], NSB_P(&err), sizeof err);
  while (r == -4);
  nsb_sys(SYS_close, ep[0]);
  if (r == (long)sizeof err) {
    int st;
    nsb_sys(SYS_wait4, pid, NSB_P(&st), 0, 0);
    report(rep, NSB_REPORT_ERROR, NSB_STEP_EXEC, NSB_SYS_EXECVE, err, 0, 0);
    nsb_exit(127);
  }
  report(rep, NSB_REPORT_STARTED, 0, 0, 0, (int32_t)pid, 0);

  uint64_t all = ~0ull;
  char info[128];
  bool done = false;
  int program_status = 0;
  long program_maxrss = 0;
  for (;;) {
    long sig = nsb_sys(SYS_rt_sigtimedwait, NSB_P(&all), NSB_P(info), 0, 8);
    if (sig < 0) continue;
    if (forwarded((int)sig) && !done) nsb_sys(SYS_kill, pid, sig);
    if (sig != SIGCHLD) continue;
    for (;;) {
      int st = 0;
      struct rusage ru;
      ru.ru_maxrss = 0;
      long w = nsb_sys(SYS_wait4, -1, NSB_P(&st), WNOHANG, NSB_P(&ru));
      if (w == pid) {
        done = true;
        program_status = st;
        program_maxrss = ru.ru_maxrss;
        // The program is gone: nothing else in the namespace may outlive it. Only as
        // PID 1 is "everything" the sandbox: an init that forked the program into a
        // joined pid namespace lives in the caller's, where kill(-1) would reach the host.
        if (nsb_sys(SYS_getpid) == 1) nsb_sys(SYS_kill, -1, SIGKILL);
        continue;
      }
      if (w > 0 || w == -4) continue;
      if (w == -10 /* ECHILD */ && done) {
        report(rep, NSB_REPORT_EXIT, 0, 0, 0, (int32_t)pid, program_status,
               (int32_t)program_maxrss);
        int code = WIFEXITED(program_status) ? WEXITSTATUS(program_status)
                                             : 128 + WTERMSIG(program_status);
        nsb_exit(code);
      }
      break;
    }
  }
}

#if defined(__x86_64__)
__asm__(
    ".text\n.globl _start\n_start:\n"
    "  xor %ebp, %ebp\n"
    "  mov %rsp, %rdi\n"
    "  and $-16, %rsp\n"
    "  call nsb_init_main\n"
    "  hlt\n");
#elif defined(__aarch64__)
__asm__(
    ".text\n.globl _start\n_start:\n"
    "  mov x29, #0\n"
    "  mov x30, #0\n"
    "  mov x0, sp\n"
    "  bl nsb_init_main\n");
#endif
