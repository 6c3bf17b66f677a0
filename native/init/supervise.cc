// nsbind-init's supervisor: the program's parent until the sandbox ends.
//   - forks and execs the program (PATH search inside the sandbox) and tells the parent,
//     on the report pipe, that the program runs or why its exec failed;
//   - forwards SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 to the program;
//   - reaps every orphan (as PID 1, or as the subreaper of a sandbox with a cgroup);
//   - when the program ends, kills what is left of the sandbox, reports the program's
//     own wait status (so the parent sees "killed by SIGSEGV", not an exit code of 139)
//     and exits with the program's code, or 128+N for signal N;
//   - when the Node process dies (the parent-death signal): as PID 1 it dies at once and
//     the kernel takes its pid namespace with it; with a cgroup but no pid namespace it
//     first kills everything in the cgroup, so no background process outlives Node.
#include "supervise.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "../exec.h"
#include "../sys.h"

namespace {

int g_kill_fd = -1;   // the cgroup's cgroup.kill (v2, Linux 5.14+), O_WRONLY
int g_procs_fd = -1;  // the cgroup's cgroup.procs, O_RDONLY
int g_exec_fd = -1;   // the exec-detect pipe's write end (init/control.h exec_detect)
bool g_pid1 = false;

bool forwarded(int sig) {
  return sig == SIGINT || sig == SIGTERM || sig == SIGHUP || sig == SIGQUIT || sig == SIGUSR1 ||
         sig == SIGUSR2;
}

// SIGKILLs every process listed in cgroup.procs but us, until none is left (or none can
// be killed: a process that changed its uid is out of our reach, and of nobody else's
// while Node is gone; spawn.cc's teardown kills it when Node lives). Pids are those of
// our pid namespace, the one kill() takes.
void kill_cgroup_but_me() {
  long self = nsb_sys(SYS_getpid);
  for (int round = 0; round < 1000; round++) {
    if (nsb_sys(SYS_lseek, g_procs_fd, 0, 0 /* SEEK_SET */) < 0) return;
    char buf[4096];
    long pid = 0;
    bool digits = false;
    int others = 0, killed = 0;
    for (;;) {
      long n = nsb_sys(SYS_read, g_procs_fd, NSB_P(buf), sizeof buf);
      if (n == -4) continue;
      if (n <= 0) break;
      for (long i = 0; i < n; i++) {
        char c = buf[i];
        if (c >= '0' && c <= '9') {
          pid = pid * 10 + (c - '0');
          digits = true;
          continue;
        }
        if (digits && pid != self) {
          others++;
          if (nsb_sys(SYS_kill, pid, SIGKILL) == 0) killed++;
        }
        pid = 0;
        digits = false;
      }
    }
    if (others == 0 || killed == 0) return;
  }
}

// The Node process is gone.
[[noreturn]] void end_with_parent() {
  if (g_kill_fd >= 0) nsb_sys(SYS_write, g_kill_fd, NSB_P("1"), 1);  // us included
  if (g_procs_fd >= 0) kill_cgroup_but_me();
  nsb_exit(137);
}

}  // namespace

void nsb_supervise_prepare(nsb_interp* it, const nsb_init_msg* msg) {
  g_pid1 = nsb_sys(SYS_getpid) == 1;
  auto take = [&](int index) {
    if (index < 0 || index >= it->nextra) return -1;
    int fd = it->extra[index];
    it->extra[index] = -1;
    return fd;
  };
  g_kill_fd = take(msg->cgroup_kill);
  g_procs_fd = take(msg->cgroup_procs);
  g_exec_fd = take(msg->exec_detect);
  // Orphans of the program come back to us, to be reaped and, at the end, killed: the
  // cgroup says what is the sandbox's, and this makes us the one who waits for it.
  if ((msg->flags & NSB_INIT_SUPERVISE) && !g_pid1) {
    nsb_sys(SYS_prctl, PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  }
}

void nsb_supervise(nsb_interp* it, int, const nsb_op& op) {
  const char* file = it->arena + op.s[0];
  const char* path = op.s[1] ? it->arena + op.s[1] : nullptr;
  int ep[2];
  long r = nsb_sys(SYS_pipe2, NSB_P(ep), O_CLOEXEC);
  if (r < 0) nsb_fail(it, NSB_STEP_EXEC, NSB_SYS_PIPE, r);
  long pid = nsb_sys(SYS_clone, SIGCHLD, 0, 0, 0, 0);
  if (pid == 0) {
    nsb_sys(SYS_close, ep[0]);
    if (it->pdeathsig) {
      // The program dies with us. Had we died before this was armed, the write end of
      // ep would already have no reader: POLLERR.
      nsb_sys(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
      struct {
        int fd;
        short events, revents;
      } p = {ep[1], 0, 0};
      struct {
        long sec, nsec;
      } zero = {0, 0};
      if (nsb_sys(SYS_ppoll, NSB_P(&p), 1, NSB_P(&zero), 0, 0) > 0 && (p.revents & 0x8 /* POLLERR */)) {
        nsb_exit(127);
      }
    }
    nsb_unblock_signals();
    int32_t err = nsb_execvpe(file, it->argv, it->envp, path);
    nsb_write_all(ep[1], &err, sizeof err);
    // Before our exit closes it: the parent then waits for our init's ERROR record.
    if (g_exec_fd >= 0) nsb_sys(SYS_write, g_exec_fd, NSB_P("x"), 1);
    nsb_exit(127);
  }
  nsb_sys(SYS_close, ep[1]);
  // The program alone holds the exec-detect pipe now: its exec is the parent's EOF.
  if (g_exec_fd >= 0) nsb_sys(SYS_close, g_exec_fd);
  g_exec_fd = -1;
  if (pid < 0) nsb_fail(it, NSB_STEP_EXEC, NSB_SYS_FORK, pid);
  int32_t err = 0;
  do r = nsb_sys(SYS_read, ep[0], NSB_P(&err), sizeof err);
  while (r == -4);
  nsb_sys(SYS_close, ep[0]);
  if (r == (long)sizeof err) {
    int st;
    nsb_sys(SYS_wait4, pid, NSB_P(&st), 0, 0);
    nsb_fail(it, NSB_STEP_EXEC, NSB_SYS_EXECVE, -err);
  }
  nsb_report_record(it, NSB_REPORT_STARTED, 0, 0, 0, (int32_t)pid, 0, 0);
  // The plan is done with (`op` and its strings lie in it): its pages are the sandbox's
  // memory for as long as it lives.
  const nsb_init_host* host = (const nsb_init_host*)it->host;
  if (host && host->plan) nsb_sys(SYS_munmap, NSB_P(host->plan), host->plan_len);

  uint64_t all = ~0ull;
  char info[128];
  bool done = false;
  int program_status = 0;
  long program_maxrss = 0;
  for (;;) {
    long sig = nsb_sys(SYS_rt_sigtimedwait, NSB_P(&all), NSB_P(info), 0, 8);
    if (sig < 0) continue;
    // Our parent-death signal, when it is not SIGKILL (a supervisor of a cgroup): the
    // program could send it too, so check that the parent is really gone.
    if (sig == it->pdeathsig && !nsb_parent_alive(it)) end_with_parent();
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
        // The program is gone: nothing else of the sandbox may outlive it. Only as PID 1
        // is kill(-1) the sandbox: an init that forked the program into a joined pid
        // namespace lives in the caller's, where kill(-1) would reach the host. Without a
        // pid namespace, the cgroup says what is the sandbox's.
        if (g_pid1) nsb_sys(SYS_kill, -1, SIGKILL);
        else if (g_procs_fd >= 0) kill_cgroup_but_me();
        continue;
      }
      if (w > 0 || w == -4) continue;
      if (w == -10 /* ECHILD */ && done) {
        nsb_report_record(it, NSB_REPORT_EXIT, 0, 0, 0, (int32_t)pid, program_status,
                          (int32_t)program_maxrss);
        int code = WIFEXITED(program_status) ? WEXITSTATUS(program_status) : 128 + WTERMSIG(program_status);
        nsb_exit(code);
      }
      break;
    }
  }
}
