// The same-work floor: everything `sandbox().all().run('/bin/true')` asks of the kernel by
// default, done by a small program with no Node around it. floor.c is the bare clone; this
// is the physical limit of nsbind's own semantics, so the bench can tell the cost of the
// work from the cost of nsbind's way of doing it (threads, the event loop, JS).
//
//   same-work COUNT WIDTH FLAGS INIT BPF UID_MAP GID_MAP SETGROUPS NOFILE_SOFT NOFILE_HARD
//             CAP_LAST CWD
//
// bench/same-work.mjs takes every argument from nsbind itself: FLAGS, the id maps and
// setgroups from the request nsbind compiles for sandbox().all(); NOFILE, CAP_LAST and CWD
// from the ops of that plan; BPF a file holding the seccomp filter of that plan (nsbind's
// own compiler's output); INIT nsbind's init binary. Each of WIDTH threads does COUNT
// spawns, one at a time, each as nsbind does it:
//
//   parent  pipes for stdout and stderr (stdin is /dev/null, opened once), the report and
//           go-ahead pipes; every signal blocked around clone3(CLONE_VM | CLONE_PIDFD |
//           FLAGS) on a stack of its own; uid_map, setgroups, gid_map written; the
//           go-ahead byte; the init's "started" record; the namespace links stat'ed (what
//           nsbind's 'namespaces' event reports); then the init's exit record, waitid on
//           the pidfd, both output pipes read to their end.
//   child   handlers reset to default; PR_SET_PDEATHSIG; stdio and the kept descriptors
//           put in place, every other one closed; the go-ahead; / made private (MS_REC);
//           unshare(CLONE_NEWCGROUP); lo up; setsid; prlimit NOFILE; chdir; every
//           capability dropped (bounding, effective/permitted/inheritable, ambient);
//           no_new_privs; the seccomp filter; execveat of the init.
//   init    nsbind's own (PID 1): forks and execs /bin/true, reports it started, reaps,
//           reports the exit.
//
// It is C++ only to use nsbind's raw system calls (native/sys.h) and clone trampoline
// (native/clone.cc): the child shares the parent's memory and thread pointer, so, as in
// nsbind, it makes raw system calls only and writes nothing outside its own stack.
// Prints the mean microseconds per spawn and the spawns per second, as JSON, as floor.c.
// SAME_WORK_PROBE='<shell script>': the program is `/bin/sh -c <script>` instead, and its
// output is copied to ours; test/bench-same-work.test.ts runs the same script under nsbind
// and under the floor, and compares what each program sees.
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../native/clone.h"
#include "../native/plan.h"
#include "../native/sys.h"

extern char** environ;

namespace {

// What every spawn shares, read-only once the threads run.
struct Config {
  long count;
  unsigned long flags;
  int init_fd;
  sock_fprog filter;
  const char* uid_map;
  const char* gid_map;
  const char* setgroups;
  uint64_t nofile_soft, nofile_hard;
  int cap_last;
  const char* cwd;
  int dev_null;
  char* init_argv[8];
  bool probe;
};
Config cfg;

// One spawn's descriptors, as the child finds them (the job nsbind hands its child).
struct Job {
  int stdio[3];
  int report_fd;
  int sync_fd;
};

constexpr size_t kStackSize = 256 * 1024;
constexpr int kNfds = 3;

struct k_sigaction {
  unsigned long handler, flags, restorer;
  uint64_t mask;
};

[[noreturn]] void child_fail() { nsb_exit(127); }

// Runs on its own stack in the new namespaces, sharing the parent's memory.
int child_main(void* arg) {
  const Job* j = (const Job*)arg;
  k_sigaction dfl = {0, 0, 0, 0};
  for (int sig = 1; sig < 65; sig++) {
    if (sig != SIGKILL && sig != SIGSTOP) nsb_sys(SYS_rt_sigaction, sig, NSB_P(&dfl), 0, 8);
  }
  nsb_sys(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);

  // Descriptors: 0..2 the program's stdio, 3 free (the init's report slot at exec),
  // 4 report, 5 go-ahead, 6 init; everything above is closed. Sources are lifted above
  // 7 first so that no dup3 clobbers another's source.
  const int top = kNfds + 4;
  int src[3], rep, sync, init;
  for (int i = 0; i < kNfds; i++) src[i] = (int)nsb_sys(SYS_fcntl, j->stdio[i], F_DUPFD_CLOEXEC, top);
  rep = (int)nsb_sys(SYS_fcntl, j->report_fd, F_DUPFD_CLOEXEC, top);
  sync = (int)nsb_sys(SYS_fcntl, j->sync_fd, F_DUPFD_CLOEXEC, top);
  init = (int)nsb_sys(SYS_fcntl, cfg.init_fd, F_DUPFD_CLOEXEC, top);
  for (int i = 0; i < kNfds; i++)
    if (nsb_sys(SYS_dup3, src[i], i, 0) < 0) child_fail();
  if (nsb_sys(SYS_dup3, rep, kNfds + 1, O_CLOEXEC) < 0 || nsb_sys(SYS_dup3, sync, kNfds + 2, O_CLOEXEC) < 0 ||
      nsb_sys(SYS_dup3, init, kNfds + 3, O_CLOEXEC) < 0)
    child_fail();
  rep = kNfds + 1;
  sync = kNfds + 2;
  init = kNfds + 3;
  nsb_sys(SYS_close, kNfds);
  if (nsb_sys(SYS_close_range, top, ~0u, 0) < 0) child_fail();

  char go = 0;
  long r;
  do r = nsb_sys(SYS_read, sync, NSB_P(&go), 1);
  while (r == -EINTR);
  if (r != 1) nsb_exit(127);
  nsb_sys(SYS_close, sync);

  if (nsb_sys(SYS_mount, 0, NSB_P("/"), 0, MS_REC | MS_PRIVATE, 0) < 0) child_fail();
  if (nsb_sys(SYS_unshare, CLONE_NEWCGROUP) < 0) child_fail();
  long s = nsb_sys(SYS_socket, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) child_fail();
  struct ifreq ifr;
  char* b = (char*)&ifr;
  for (size_t i = 0; i < sizeof ifr; i++) b[i] = 0;
  ifr.ifr_name[0] = 'l';
  ifr.ifr_name[1] = 'o';
  if (nsb_sys(SYS_ioctl, s, SIOCGIFFLAGS, NSB_P(&ifr)) < 0) child_fail();
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (nsb_sys(SYS_ioctl, s, SIOCSIFFLAGS, NSB_P(&ifr)) < 0) child_fail();
  nsb_sys(SYS_close, s);
  if (nsb_sys(SYS_setsid) < 0) child_fail();
  uint64_t lim[2] = {cfg.nofile_soft, cfg.nofile_hard};
  if (nsb_sys(SYS_prlimit64, 0, RLIMIT_NOFILE, NSB_P(lim), 0) < 0) child_fail();
  if (nsb_sys(SYS_chdir, NSB_P(cfg.cwd)) < 0 && nsb_sys(SYS_chdir, NSB_P("/")) < 0) child_fail();

  // Capabilities: effective := permitted, drop the bounding set while CAP_SETPCAP is
  // effective, then empty effective/permitted/inheritable and the ambient set.
  __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct d[2];
  if (nsb_sys(SYS_capget, NSB_P(&hdr), NSB_P(d)) < 0) child_fail();
  bool setpcap = d[0].permitted & (1u << CAP_SETPCAP);
  d[0].effective = d[0].permitted;
  d[1].effective = d[1].permitted;
  if (nsb_sys(SYS_capset, NSB_P(&hdr), NSB_P(d)) < 0) child_fail();
  for (int cap = 0; setpcap && cap <= cfg.cap_last; cap++) {
    if (nsb_sys(SYS_prctl, PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) child_fail();
  }
  for (int i = 0; i < 2; i++) d[i].effective = d[i].permitted = d[i].inheritable = 0;
  if (nsb_sys(SYS_capset, NSB_P(&hdr), NSB_P(d)) < 0) child_fail();
  if (nsb_sys(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) child_fail();
  if (nsb_sys(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) child_fail();
  if (nsb_sys(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, NSB_P(&cfg.filter)) < 0) child_fail();

  // The init keeps the report pipe at slot 3; signals stay blocked for it.
  if (nsb_sys(SYS_dup3, rep, kNfds, 0) < 0) child_fail();
  nsb_sys(SYS_execveat, init, NSB_P(""), NSB_P(cfg.init_argv), NSB_P(environ), AT_EMPTY_PATH);
  child_fail();
}

long write_file(const char* path, const char* text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  ssize_t w = write(fd, text, strlen(text));
  long r = w < 0 ? -errno : 0;
  close(fd);
  return r;
}

// One record of the init: it writes each with a single write of 32 bytes, which a pipe
// delivers whole (writes up to PIPE_BUF are atomic).
bool read_record(int fd, int32_t kind, nsb_report* rec) {
  ssize_t n;
  do n = read(fd, rec, sizeof *rec);
  while (n < 0 && errno == EINTR);
  return n == (ssize_t)sizeof *rec && rec->kind == kind;
}

// Reads fd to its end (copying to stdout when probing), then closes it.
void drain(int fd, bool copy) {
  char buf[512];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
    if (copy && n > 0 && write(1, buf, (size_t)n) < 0) break;
  }
  close(fd);
}

const char* const kNsTypes[] = {"user", "pid", "mnt", "uts", "ipc", "net", "cgroup", "time"};

// One spawn; 0 or an error message.
const char* spawn_once(char* stack) {
  int out[2], err[2], rep[2], sync[2];
  if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 || pipe2(rep, O_CLOEXEC) < 0 ||
      pipe2(sync, O_CLOEXEC) < 0)
    return "pipe2";
  Job job = {{cfg.dev_null, out[1], err[1]}, rep[1], sync[0]};

  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int pidfd = -1;
  struct clone_args ca;
  memset(&ca, 0, sizeof ca);
  ca.flags = cfg.flags | CLONE_VM | CLONE_PIDFD;
  ca.pidfd = (uint64_t)(uintptr_t)&pidfd;
  ca.exit_signal = SIGCHLD;
  ca.stack = (uint64_t)(uintptr_t)stack;
  ca.stack_size = kStackSize;
  long pid = nsb_clone3_call(&ca, sizeof ca, child_main, &job);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  close(out[1]);
  close(err[1]);
  close(rep[1]);
  close(sync[0]);
  if (pid < 0) return "clone3";

  char proc[64];
  const char* failed = nullptr;
  snprintf(proc, sizeof proc, "/proc/%ld/uid_map", pid);
  if (write_file(proc, cfg.uid_map) < 0) failed = "uid_map";
  snprintf(proc, sizeof proc, "/proc/%ld/setgroups", pid);
  if (!failed && *cfg.setgroups && write_file(proc, cfg.setgroups) < 0) failed = "setgroups";
  snprintf(proc, sizeof proc, "/proc/%ld/gid_map", pid);
  if (!failed && write_file(proc, cfg.gid_map) < 0) failed = "gid_map";
  if (!failed && write(sync[1], "1", 1) != 1) failed = "go-ahead";
  close(sync[1]);

  nsb_report rec;
  if (!failed && !read_record(rep[0], NSB_REPORT_STARTED, &rec))
    failed = "the child's setup or the init's start (run nsbind itself to see which step)";
  for (int i = 0; !failed && i < 8; i++) {
    struct stat st;
    snprintf(proc, sizeof proc, "/proc/%ld/ns/%s", pid, kNsTypes[i]);
    stat(proc, &st);
  }
  if (!failed && (!read_record(rep[0], NSB_REPORT_EXIT, &rec) || !WIFEXITED(rec.status) || WEXITSTATUS(rec.status) != 0))
    failed = "the program's exit";
  close(rep[0]);
  if (failed) syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0);
  siginfo_t si;
  while (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED) < 0 && errno == EINTR) {
  }
  close(pidfd);
  drain(out[0], cfg.probe);
  drain(err[0], cfg.probe);
  return failed;
}

void* worker(void*) {
  char* stack = (char*)mmap(nullptr, kStackSize, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
  if (stack == MAP_FAILED) return (void*)"mmap";
  for (long i = 0; i < cfg.count; i++) {
    const char* failed = spawn_once(stack);
    if (failed) return (void*)failed;
  }
  munmap(stack, kStackSize);
  return nullptr;
}

double now_us() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 13) {
    fprintf(stderr,
            "usage: same-work COUNT WIDTH FLAGS INIT BPF UID_MAP GID_MAP SETGROUPS NOFILE_SOFT "
            "NOFILE_HARD CAP_LAST CWD\n");
    return 2;
  }
  cfg.count = strtol(argv[1], nullptr, 10);
  int width = atoi(argv[2]);
  cfg.flags = strtoul(argv[3], nullptr, 0);
  cfg.init_fd = open(argv[4], O_PATH | O_CLOEXEC);
  FILE* f = fopen(argv[5], "rb");
  static sock_filter insns[4096];
  size_t n = f ? fread(insns, sizeof insns[0], 4096, f) : 0;
  if (f) fclose(f);
  cfg.filter.len = (unsigned short)n;
  cfg.filter.filter = insns;
  cfg.uid_map = argv[6];
  cfg.gid_map = argv[7];
  cfg.setgroups = argv[8];
  cfg.nofile_soft = strtoull(argv[9], nullptr, 10);
  cfg.nofile_hard = strtoull(argv[10], nullptr, 10);
  cfg.cap_last = atoi(argv[11]);
  cfg.cwd = argv[12];
  cfg.dev_null = open("/dev/null", O_RDWR | O_CLOEXEC);
  // nsbind-init REPORT_FD PATH FILE ARGV...: the report pipe is at slot 3, no PATH search.
  static char a0[] = "nsbind-init", a1[] = "3", a2[] = "", t[] = "/bin/true", sh[] = "/bin/sh", c[] = "-c";
  char* script = getenv("SAME_WORK_PROBE");
  cfg.probe = script != nullptr;
  char* run_true[8] = {a0, a1, a2, t, t, nullptr};
  char* run_probe[8] = {a0, a1, a2, sh, sh, c, script, nullptr};
  memcpy(cfg.init_argv, cfg.probe ? run_probe : run_true, sizeof cfg.init_argv);
  if (cfg.init_fd < 0 || n == 0 || cfg.dev_null < 0 || width < 1 || width > 64) {
    fprintf(stderr, "same-work: bad arguments (init %s, %zu filter instructions)\n", argv[4], n);
    return 2;
  }

  // One spawn first: checks that everything works, and warms the caches.
  long saved = cfg.count;
  cfg.count = 1;
  if (const char* failed = (const char*)worker(nullptr)) {
    fprintf(stderr, "same-work: %s failed\n", failed);
    return 1;
  }
  cfg.count = saved;

  pthread_t th[64];
  double t0 = now_us();
  for (int i = 0; i < width; i++) pthread_create(&th[i], nullptr, worker, nullptr);
  const char* failed = nullptr;
  for (int i = 0; i < width; i++) {
    void* r;
    pthread_join(th[i], &r);
    if (r) failed = (const char*)r;
  }
  if (failed) {
    fprintf(stderr, "same-work: %s failed\n", failed);
    return 1;
  }
  double dt = now_us() - t0;
  double total = (double)cfg.count * width;
  if (total == 0) total = dt = 1;  // COUNT 0: only the first spawn ran (a probe)
  printf("{\"usPerSpawn\":%.2f,\"perSecond\":%.1f}\n", dt / total * width, total / (dt / 1e6));
  return 0;
}
