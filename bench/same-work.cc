// The same-work floor: everything `sandbox().all().run('/bin/true')` asks of the kernel by
// default, done by a small program with no Node around it. floor.c is the bare clone; this
// is the physical limit of nsbind's own semantics, so the bench can tell the cost of the
// work from the cost of nsbind's way of doing it (threads, the event loop, JS, the init's
// exec and control pipe).
//
//   same-work COUNT WIDTH FLAGS PLAN UID_MAP GID_MAP SETGROUPS PDEATHSIG
//
// bench/same-work.mjs takes every argument from nsbind itself: FLAGS, the id maps,
// setgroups and the parent-death signal from the request nsbind compiles for
// sandbox().all(); PLAN a file holding that request's plan, byte for byte (native/plan.h).
// The floor walks the plan's ops in their order and does each with the same system calls
// nsbind makes for it, so when nsbind's default plan changes (an identity switch, a
// die-with-parent op) the floor follows. It knows the ops a default plan can hold; a plan
// with any other op is refused before anything runs (same-work.mjs says so first, and the
// bench prints n/a with the reason). Only the init is its own: nsbind's init protocol
// (exec'd nsbind-init, control pipe, plan sent over it) is nsbind's way of doing the work,
// not the work.
//
// Each of WIDTH threads does COUNT spawns, one at a time:
//
//   parent  pipes for stdout and stderr (stdin is /dev/null, opened once), the report and
//           go-ahead pipes; every signal blocked around clone3(CLONE_VM | CLONE_PIDFD |
//           FLAGS) on a stack of its own; uid_map, setgroups, gid_map written; the
//           go-ahead byte; the init's "started" record; the namespace links stat'ed (what
//           nsbind's 'namespaces' event reports); then the init's exit record, waitid on
//           the pidfd, both output pipes read to their end.
//   child   handlers reset to default; PR_SET_PDEATHSIG; stdio and the kept descriptors
//           put in place, every other one closed; the go-ahead; then the plan's ops, in
//           order; at its EXEC op (through the init) it becomes the init.
//   init    the child itself, PID 1 of the new pid namespace: forks; the fork unblocks
//           signals and execs /bin/true; the init reports it started, reaps it, reports
//           its exit and exits.
//
// Without the init (the plan of sandbox().all().pid({ init: false }): its EXEC op has no
// NSB_EXEC_VIA_INIT) the child, PID 1, unblocks signals and execs /bin/true itself, as
// nsbind's exec_program; the parent takes EOF on the report pipe (close-on-exec) as the
// exec, as nsbind's do_spawn, stats the namespace links, and takes the exit from waitid on
// the pidfd (nsbind polls the pidfd, then waitid). No fork, no records.
// SAME_WORK_SKIP='k,k,...[,maps]' leaves op kinds (native/plan.h numbers) and the id maps
// out: bench/same-work-breakdown.mjs prices each step by difference (not the same work).
//
// It is C++ only to use nsbind's raw system calls (native/sys.h), clone trampoline
// (native/clone.cc) and plan layout (native/plan.h): the child shares the parent's memory
// and thread pointer, so it makes raw system calls only and writes nothing outside its
// own stack (the init's fork has its own copy of the memory).
// Prints the mean microseconds per spawn and the spawns per second, as JSON, as floor.c.
// A failing spawn names the op (index and kind) and the errno.
// SAME_WORK_PROBE='<shell script>': the program is `/bin/sh -c <script>` instead, and its
// output is copied to ours; test/bench/same-work.test.ts runs the same script under nsbind
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

// The plan, copied once into memory aligned as nsbind's (seccomp blobs are 8-aligned).
alignas(8) unsigned char plan_buf[1 << 20];

// What every spawn shares, read-only once the threads run.
struct Config {
  long count;
  unsigned long flags;
  const nsb_op* ops;
  uint32_t nops;
  const char* arena;
  const char* uid_map;
  const char* gid_map;
  const char* setgroups;
  int pdeathsig;
  int dev_null;
  char* argv[8];
  bool probe;
  bool direct;           // the plan's EXEC is not through the init (pid({ init: false }))
  uint64_t skip;         // SAME_WORK_SKIP: op kinds (bits) not done, for a cost breakdown
  bool skip_maps;        // SAME_WORK_SKIP has "maps": the parent writes no id maps
};
Config cfg;

// The ops the floor does (and same-work.mjs accepts: keep the two lists together).
bool known_op(uint32_t kind) {
  switch (kind) {
    case NSB_OP_SETSID:
    case NSB_OP_PROPAGATION:
    case NSB_OP_SETHOSTNAME:
    case NSB_OP_SETDOMAINNAME:
    case NSB_OP_LOOPBACK_UP:
    case NSB_OP_UNSHARE:
    case NSB_OP_SETGROUPS:
    case NSB_OP_SETRESGID:
    case NSB_OP_SETRESUID:
    case NSB_OP_UMASK:
    case NSB_OP_CHDIR:
    case NSB_OP_MOUNT:
    case NSB_OP_PRCTL:
    case NSB_OP_DIE_WITH_PARENT:
    case NSB_OP_RLIMIT:
    case NSB_OP_CAPS:
    case NSB_OP_SECCOMP:
    case NSB_OP_EXEC:
      return true;
    default:
      return false;
  }
}

// The floor's own records, child/init -> parent: one write each, whole (< PIPE_BUF).
enum : int32_t { REC_ERROR = 1, REC_STARTED = 2, REC_EXIT = 3 };
struct Record {
  int32_t kind;
  int32_t op;     // REC_ERROR: the op's index (-1: before the ops)
  int32_t err;    // REC_ERROR: the errno
  int32_t value;  // REC_STARTED: the program's pid; REC_EXIT: its wait status
};

// One spawn's descriptors, as the child finds them.
struct Job {
  int stdio[3];
  int report_fd;
  int sync_fd;
};

constexpr size_t kStackSize = 256 * 1024;
constexpr int kNfds = 3;
// The child's descriptors after the stdio: the report pipe and the go-ahead pipe (whose
// write end the parent holds until the program's exit: its hang-up says the parent died).
constexpr int kReportFd = kNfds, kSyncFd = kNfds + 1;

struct k_sigaction {
  unsigned long handler, flags, restorer;
  uint64_t mask;
};

void put(Record rec) { nsb_sys(SYS_write, kReportFd, NSB_P(&rec), sizeof rec); }

[[noreturn]] void child_fail(int op, long r) {
  put(Record{REC_ERROR, op, (int32_t)-r, 0});
  nsb_exit(127);
}

bool parent_alive() {
  struct {
    int fd;
    short events, revents;
  } p = {kSyncFd, 0, 0};
  struct {
    long sec, nsec;
  } zero = {0, 0};
  long n = nsb_sys(SYS_ppoll, NSB_P(&p), 1, NSB_P(&zero), 0, 0);
  return !(n > 0 && (p.revents & 0x10 /* POLLHUP */));
}

long loopback_up() {
  long s = nsb_sys(SYS_socket, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return s;
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
  return r;
}

// NSB_OP_CAPS as nsbind does it: effective := permitted; the bounding set dropped (but
// the kept ones) while CAP_SETPCAP is effective; e/p/i := kept; ambient := kept.
long keep_caps(const nsb_op& op) {
  __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct d[2];
  long r = nsb_sys(SYS_capget, NSB_P(&hdr), NSB_P(d));
  if (r < 0) return r;
  uint64_t held = d[0].permitted | (uint64_t)d[1].permitted << 32;
  uint64_t keep = (op.flags & NSB_CAPS_ALL) ? held : op.n[0];
  int last = (int)op.n[1];
  d[0].effective = d[0].permitted;
  d[1].effective = d[1].permitted;
  if ((r = nsb_sys(SYS_capset, NSB_P(&hdr), NSB_P(d))) < 0) return r;
  if (held & (1ull << CAP_SETPCAP)) {
    for (int cap = 0; cap <= last && cap < 64; cap++) {
      if (keep & (1ull << cap)) continue;
      if ((r = nsb_sys(SYS_prctl, PR_CAPBSET_DROP, cap, 0, 0, 0)) < 0) return r;
    }
  }
  for (int i = 0; i < 2; i++) d[i].effective = d[i].permitted = d[i].inheritable = (uint32_t)(keep >> (32 * i));
  if ((r = nsb_sys(SYS_capset, NSB_P(&hdr), NSB_P(d))) < 0) return r;
  r = nsb_sys(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  if (r < 0) return keep ? r : 0;
  for (int cap = 0; cap <= last && cap < 64; cap++) {
    if (!(keep & (1ull << cap))) continue;
    if ((r = nsb_sys(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0)) < 0) return r;
  }
  return 0;
}

// The init: PID 1 of the sandbox. Forks the program, reports it started, reaps every
// child until the program is gone, reports its exit.
[[noreturn]] void be_init(int op) {
  long pid = nsb_sys(SYS_clone, SIGCHLD, 0, 0, 0, 0);
  if (pid < 0) child_fail(op, pid);
  if (pid == 0) {
    uint64_t none = 0;
    nsb_sys(SYS_rt_sigprocmask, SIG_SETMASK, NSB_P(&none), 0, 8);
    nsb_sys(SYS_close, kReportFd);
    nsb_sys(SYS_close, kSyncFd);
    nsb_sys(SYS_execve, NSB_P(cfg.argv[0]), NSB_P(cfg.argv), NSB_P(environ));
    nsb_exit(127);
  }
  put(Record{REC_STARTED, op, 0, (int32_t)pid});
  int status = 0;
  for (;;) {
    long w = nsb_sys(SYS_wait4, -1, NSB_P(&status), 0, 0);
    if (w == pid) break;
    if (w < 0 && w != -EINTR) child_fail(op, w);
  }
  put(Record{REC_EXIT, op, 0, status});
  nsb_exit(0);
}

// Runs on its own stack in the new namespaces, sharing the parent's memory.
int child_main(void* arg) {
  const Job* j = (const Job*)arg;
  k_sigaction dfl = {0, 0, 0, 0};
  for (int sig = 1; sig < 65; sig++) {
    if (sig != SIGKILL && sig != SIGSTOP) nsb_sys(SYS_rt_sigaction, sig, NSB_P(&dfl), 0, 8);
  }
  nsb_sys(SYS_prctl, PR_SET_PDEATHSIG, cfg.pdeathsig, 0, 0, 0);

  // Descriptors: 0..2 the program's stdio, 3 report, 4 go-ahead; everything above is
  // closed. Sources are lifted above 5 first so that no dup3 clobbers another's source.
  const int top = kSyncFd + 1;
  int src[3];
  for (int i = 0; i < kNfds; i++) src[i] = (int)nsb_sys(SYS_fcntl, j->stdio[i], F_DUPFD_CLOEXEC, top);
  int rep = (int)nsb_sys(SYS_fcntl, j->report_fd, F_DUPFD_CLOEXEC, top);
  int sync = (int)nsb_sys(SYS_fcntl, j->sync_fd, F_DUPFD_CLOEXEC, top);
  if (nsb_sys(SYS_dup3, rep, kReportFd, O_CLOEXEC) < 0) nsb_exit(127);
  for (int i = 0; i < kNfds; i++)
    if (nsb_sys(SYS_dup3, src[i], i, 0) < 0) nsb_exit(127);
  if (nsb_sys(SYS_dup3, sync, kSyncFd, O_CLOEXEC) < 0) nsb_exit(127);
  long r = nsb_sys(SYS_close_range, top, ~0u, 0);
  if (r < 0) child_fail(-1, r);

  char go = 0;
  do r = nsb_sys(SYS_read, kSyncFd, NSB_P(&go), 1);
  while (r == -EINTR);
  if (r != 1) nsb_exit(127);

  const char* a = cfg.arena;
  for (uint32_t i = 0; i < cfg.nops; i++) {
    const nsb_op& op = cfg.ops[i];
    if (op.kind < 64 && (cfg.skip & (1ull << op.kind))) continue;
    switch (op.kind) {
      case NSB_OP_SETSID: r = nsb_sys(SYS_setsid); break;
      case NSB_OP_PROPAGATION: r = nsb_sys(SYS_mount, 0, NSB_P("/"), 0, (long)(op.n[0] | MS_REC), 0); break;
      case NSB_OP_SETHOSTNAME:
        r = nsb_sys(SYS_sethostname, NSB_P(a + op.s[0]), (long)__builtin_strlen(a + op.s[0]));
        break;
      case NSB_OP_SETDOMAINNAME:
        r = nsb_sys(SYS_setdomainname, NSB_P(a + op.s[0]), (long)__builtin_strlen(a + op.s[0]));
        break;
      case NSB_OP_LOOPBACK_UP: r = loopback_up(); break;
      case NSB_OP_UNSHARE: r = nsb_sys(SYS_unshare, (long)op.n[0]); break;
      case NSB_OP_SETGROUPS: r = nsb_sys(SYS_setgroups, (long)op.n[0], NSB_P(a + op.s[0])); break;
      case NSB_OP_SETRESGID: r = nsb_sys(SYS_setresgid, (long)op.n[0], (long)op.n[0], (long)op.n[0]); break;
      case NSB_OP_SETRESUID: r = nsb_sys(SYS_setresuid, (long)op.n[0], (long)op.n[0], (long)op.n[0]); break;
      case NSB_OP_UMASK: r = 0, nsb_sys(SYS_umask, (long)op.n[0]); break;
      case NSB_OP_CHDIR:
        // With no filesystem ops the root is the host's "/": a plain chdir resolves the same.
        r = nsb_sys(SYS_chdir, NSB_P(a + op.s[0]));
        if (r < 0 && (op.flags & NSB_CHDIR_FALLBACK_ROOT)) r = nsb_sys(SYS_chdir, NSB_P("/"));
        break;
      case NSB_OP_MOUNT: {
        auto s = [&](int k) { return op.s[k] && a[op.s[k]] ? NSB_P(a + op.s[k]) : 0L; };
        r = nsb_sys(SYS_mount, s(0), s(1), s(2), (long)op.n[0], s(3));
        break;
      }
      case NSB_OP_PRCTL: r = nsb_sys(SYS_prctl, (long)op.n[0], (long)op.n[1], (long)op.n[2], 0, 0); break;
      case NSB_OP_DIE_WITH_PARENT:
        r = nsb_sys(SYS_prctl, PR_SET_PDEATHSIG, cfg.pdeathsig, 0, 0, 0);
        if (!parent_alive()) nsb_exit(127);
        break;
      case NSB_OP_RLIMIT: {
        uint64_t lim[2] = {op.n[1], op.n[2]};
        r = nsb_sys(SYS_prlimit64, 0, (long)op.n[0], NSB_P(lim), 0);
        break;
      }
      case NSB_OP_CAPS: r = keep_caps(op); break;
      case NSB_OP_SECCOMP: {
        sock_fprog prog;
        prog.len = (unsigned short)op.n[0];
        prog.filter = (sock_filter*)(a + op.s[0]);
        r = nsb_sys(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, NSB_P(&prog));
        break;
      }
      case NSB_OP_EXEC:
        if (!cfg.direct) be_init((int)i);
        // No init (pid({ init: false })): the child is PID 1 and execs the program itself,
        // as nsbind's exec_program does: signals unblocked, execve; the report pipe
        // closes in the exec (CLOEXEC), which is how the parent learns it happened.
        {
          uint64_t none = 0;
          nsb_sys(SYS_rt_sigprocmask, SIG_SETMASK, NSB_P(&none), 0, 8);
          r = nsb_sys(SYS_execve, NSB_P(cfg.argv[0]), NSB_P(cfg.argv), NSB_P(environ));
        }
        break;
      default: r = -EINVAL; break;
    }
    if (r < 0) child_fail((int)i, r);
  }
  child_fail((int)cfg.nops, -ENOEXEC);  // a plan without an EXEC (main() refuses one)
}

long write_file(const char* path, const char* text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  ssize_t w = write(fd, text, strlen(text));
  long r = w < 0 ? -errno : 0;
  close(fd);
  return r;
}

bool read_record(int fd, Record* rec, bool* eof = nullptr) {
  ssize_t n;
  do n = read(fd, rec, sizeof *rec);
  while (n < 0 && errno == EINTR);
  if (eof) *eof = n == 0;
  return n == (ssize_t)sizeof *rec;
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

// What a record that is not the one expected says; the message lives in the thread's buffer.
const char* unexpected(const Record& rec, bool got, const char* waiting, char* msg, size_t len) {
  if (!got) {
    snprintf(msg, len, "%s (the child died without a word)", waiting);
  } else if (rec.kind == REC_ERROR) {
    uint32_t kind = rec.op >= 0 && (uint32_t)rec.op < cfg.nops ? cfg.ops[rec.op].kind : 0;
    snprintf(msg, len, "%s: op %d (kind %u) failed: %s", waiting, rec.op, kind, strerror(rec.err));
  } else {
    snprintf(msg, len, "%s: record %d", waiting, rec.kind);
  }
  return msg;
}

// One spawn; 0 or an error message.
const char* spawn_once(char* stack, char* msg, size_t len) {
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
  if (cfg.skip_maps) {
  } else if (*cfg.uid_map && write_file(proc, cfg.uid_map) < 0) failed = "uid_map";
  snprintf(proc, sizeof proc, "/proc/%ld/setgroups", pid);
  if (!failed && !cfg.skip_maps && *cfg.setgroups && write_file(proc, cfg.setgroups) < 0) failed = "setgroups";
  snprintf(proc, sizeof proc, "/proc/%ld/gid_map", pid);
  if (!failed && !cfg.skip_maps && *cfg.gid_map && write_file(proc, cfg.gid_map) < 0) failed = "gid_map";
  if (!failed && write(sync[1], "1", 1) != 1) failed = "go-ahead";

  Record rec;
  bool eof = false;
  bool got = !failed && read_record(rep[0], &rec, &eof);
  if (cfg.direct) {
    // No init: EOF on the report pipe is the exec (nsbind's do_spawn reads it so); a
    // record is the child's error.
    if (!failed && !eof) failed = unexpected(rec, got, "the child's setup or its exec", msg, len);
  } else if (!failed && !(got && rec.kind == REC_STARTED)) {
    failed = unexpected(rec, got, "the child's setup or the init's start", msg, len);
  }
  for (int i = 0; !failed && i < 8; i++) {
    struct stat st;
    snprintf(proc, sizeof proc, "/proc/%ld/ns/%s", pid, kNsTypes[i]);
    stat(proc, &st);
  }
  if (!cfg.direct) {
    got = !failed && read_record(rep[0], &rec);
    if (!failed && !(got && rec.kind == REC_EXIT)) failed = unexpected(rec, got, "the program's exit", msg, len);
    if (!failed && (!WIFEXITED(rec.value) || WEXITSTATUS(rec.value) != 0)) {
      snprintf(msg, len, "the program's exit (wait status %#x)", rec.value);
      failed = msg;
    }
  }
  close(sync[1]);
  close(rep[0]);
  if (failed) syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0);
  // No init: the program's exit is the child's own, taken from its pidfd (nsbind polls
  // the pidfd and calls waitid on it).
  siginfo_t si;
  memset(&si, 0, sizeof si);
  while (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED) < 0 && errno == EINTR) {
  }
  if (!failed && cfg.direct && (si.si_code != CLD_EXITED || si.si_status != 0)) {
    snprintf(msg, len, "the program's exit (si_code %d, status %d)", si.si_code, si.si_status);
    failed = msg;
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
  char* msg = (char*)malloc(256);
  for (long i = 0; i < cfg.count; i++) {
    const char* failed = spawn_once(stack, msg, 256);
    if (failed) return (void*)failed;  // msg stays: it may be the message
  }
  free(msg);
  munmap(stack, kStackSize);
  return nullptr;
}

double now_us() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

// Loads the plan file: 0 or what is wrong with it.
const char* load_plan(const char* path) {
  FILE* f = fopen(path, "rb");
  if (!f) return "cannot open the plan file";
  size_t n = fread(plan_buf, 1, sizeof plan_buf, f);
  fclose(f);
  if (n < sizeof(nsb_plan_header) || n == sizeof plan_buf) return "plan file too short or too long";
  const nsb_plan_header* h = (const nsb_plan_header*)plan_buf;
  if (h->magic != NSB_PLAN_MAGIC || h->version != NSB_PLAN_VERSION) return "not an nsbind plan of this version";
  size_t arena = sizeof *h + (size_t)h->nops * sizeof(nsb_op);
  if (arena + h->arena_len > n) return "plan truncated";
  cfg.ops = (const nsb_op*)(plan_buf + sizeof *h);
  cfg.nops = h->nops;
  cfg.arena = (const char*)plan_buf + arena;
  static char why[128];
  for (uint32_t i = 0; i < cfg.nops; i++) {
    uint32_t kind = cfg.ops[i].kind;
    bool last = i + 1 == cfg.nops;
    if (!known_op(kind) || (kind == NSB_OP_EXEC) != last) {
      snprintf(why, sizeof why, "op %u (kind %u) is not one the floor does", i, kind);
      return why;
    }
  }
  if (cfg.nops == 0) return "an empty plan";
  cfg.direct = !(cfg.ops[cfg.nops - 1].flags & NSB_EXEC_VIA_INIT);
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 9) {
    fprintf(stderr, "usage: same-work COUNT WIDTH FLAGS PLAN UID_MAP GID_MAP SETGROUPS PDEATHSIG\n");
    return 2;
  }
  cfg.count = strtol(argv[1], nullptr, 10);
  int width = atoi(argv[2]);
  cfg.flags = strtoul(argv[3], nullptr, 0);
  if (const char* bad = load_plan(argv[4])) {
    fprintf(stderr, "same-work: %s: %s\n", argv[4], bad);
    return 3;
  }
  // SAME_WORK_SKIP='k,k,...,maps': op kinds (numbers, native/plan.h) to leave out, and
  // "maps" for the id maps: a cost breakdown by difference (not the same work any more).
  if (const char* skip = getenv("SAME_WORK_SKIP")) {
    for (const char* p = skip; *p;) {
      if (strncmp(p, "maps", 4) == 0) {
        cfg.skip_maps = true;
        p += 4;
      } else {
        char* end;
        long k = strtol(p, &end, 10);
        if (end == p) break;
        if (k >= 0 && k < 64) cfg.skip |= 1ull << k;
        p = end;
      }
      if (*p == ',') p++;
    }
  }
  cfg.uid_map = argv[5];
  cfg.gid_map = argv[6];
  cfg.setgroups = argv[7];
  cfg.pdeathsig = atoi(argv[8]);
  cfg.dev_null = open("/dev/null", O_RDWR | O_CLOEXEC);
  static char t[] = "/bin/true", sh[] = "/bin/sh", c[] = "-c";
  char* script = getenv("SAME_WORK_PROBE");
  cfg.probe = script != nullptr;
  char* run_true[8] = {t, nullptr};
  char* run_probe[8] = {sh, c, script, nullptr};
  memcpy(cfg.argv, cfg.probe ? run_probe : run_true, sizeof cfg.argv);
  if (cfg.dev_null < 0 || width < 1 || width > 64) {
    fprintf(stderr, "same-work: bad arguments\n");
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
