// The parent side of a spawn: pipes, clone, the work done for the child while it waits
// (id maps, time offsets, cgroup membership), the go-ahead, and reading its report.
//
// The clone happens on a libuv threadpool thread, never on the JS thread:
//   - the event loop is not blocked while the child sets up (mounts can take a while);
//   - PR_SET_PDEATHSIG fires when the *thread* that cloned the child exits. Threadpool
//     threads live as long as the process, so "die with parent" holds even when the
//     sandbox was requested from a worker_thread that ends first.
// Exit is then watched from the loop through the pidfd: no SIGCHLD handler, no waitpid
// on pids we did not create, so Node's own child_process is left alone.
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <linux/sched.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>
#include <mutex>
#include <string>
#include <vector>

#include "child.h"
#include "clone.h"
#include "init/control.h"
#include "napi_util.h"
#include "setup_window.h"
#include "spawn_threads.h"
#include "sys.h"
#include "veth.h"

extern char** environ;

namespace nsb {
namespace {

// ---------------------------------------------------------------------------------
// Child stacks: reused, because mmap+munmap per spawn costs more than the clone.

constexpr size_t kStackSize = 256 * 1024;
constexpr size_t kGuard = 4096;

std::mutex g_stack_mu;
std::vector<char*> g_stacks;

char* stack_get() {
  {
    std::lock_guard<std::mutex> lk(g_stack_mu);
    if (!g_stacks.empty()) {
      char* s = g_stacks.back();
      g_stacks.pop_back();
      return s;
    }
  }
  void* p = mmap(nullptr, kStackSize + kGuard, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  mprotect(p, kGuard, PROT_NONE);  // stacks grow down: the guard is at the bottom
  return (char*)p;
}

void stack_put(char* s) {
  std::lock_guard<std::mutex> lk(g_stack_mu);
  if (g_stacks.size() < 16) {
    g_stacks.push_back(s);
  } else {
    munmap(s, kStackSize + kGuard);
  }
}

// The init binary, opened once per path (O_PATH: exec'd by fd, so it works after the
// sandbox has changed its root).
std::mutex g_init_mu;
std::map<std::string, int> g_init_fds;

int init_fd_for(const std::string& path) {
  std::lock_guard<std::mutex> lk(g_init_mu);
  auto it = g_init_fds.find(path);
  if (it != g_init_fds.end()) return it->second;
  int fd = open(path.c_str(), O_PATH | O_CLOEXEC);
  if (fd < 0) return -errno;
  g_init_fds[path] = fd;
  return fd;
}

std::vector<std::string> strings_of(const Napi::Value& v) {
  std::vector<std::string> out;
  if (!v.IsArray()) return out;
  Napi::Array a = v.As<Napi::Array>();
  out.reserve(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) out.push_back(a.Get(i).As<Napi::String>());
  return out;
}

std::vector<char*> pointers_to(std::vector<std::string>& v) {
  std::vector<char*> p;
  p.reserve(v.size() + 1);
  for (auto& s : v) p.push_back(&s[0]);
  p.push_back(nullptr);
  return p;
}

long write_file(const std::string& path, const std::string& text) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  ssize_t w = write(fd, text.data(), text.size());
  long r = w < 0 ? -errno : (w == (ssize_t)text.size() ? 0 : -EIO);
  close(fd);
  return r;
}

// newuidmap/newgidmap: the one program nsbind runs, for id ranges beyond the caller's
// own (it is setuid and checks /etc/subuid). posix_spawn is vfork-based in glibc, so it
// costs the same however much memory Node holds.
long run_helper(const std::vector<std::string>& args) {
  std::vector<std::string> copy = args;
  std::vector<char*> argv = pointers_to(copy);
  pid_t pid;
  int rc = posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), environ);
  if (rc != 0) return -rc;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
  return -EPERM;
}

}  // namespace

// ---------------------------------------------------------------------------------
// The request, as prepared on the JS thread. Everything the child reads lives here
// and outlives the child's use of it (until the report pipe reaches EOF).

struct Request {
  std::vector<uint8_t> plan;
  std::vector<std::string> argv, envp, init_argv;
  std::vector<char*> argv_p, envp_p, init_argv_p;
  std::string init_path;
  uint64_t clone_flags = 0;
  int cgroup_fd = -1;
  std::vector<std::string> cgroup_procs;
  // The cgroup is another process's (nsbind exec --join-cgroup): join it, never supervise
  // it (the init kills nothing it holds when the program ends or Node dies).
  bool cgroup_shared = false;
  std::string setgroups, uid_map, gid_map, time_offsets;
  std::vector<std::string> newuidmap, newgidmap;  // argv without the pid
  int pdeathsig = 0;
  bool no_clone3 = false;
  // Where nsbind-init takes over the plan (init/control.h); the plan's length: no init.
  uint32_t init_from = 0;
  bool uses_init = false;      // init_from is inside the plan: the init gets a message and the plan
  bool ready = false;          // the init reports READY and waits to be put in the cgroup
  bool exec_via_init = false;  // the plan's NSB_OP_EXEC goes through the init
  nsb_init_msg msg;            // what the init gets with the go-ahead
  nsb_child_job job;
  std::vector<int> close_after;  // child ends of our pipes
  VethSetup veth;                // .net({ veth }), done while the child waits
  Request() = default;
  Request(const Request&) = delete;
  Request& operator=(const Request&) = delete;
};

struct Outcome {
  int pid = -1;
  int pidfd = -1;
  int report_fd = -1;  // kept open when an init will report the program's end
  nsb_report report = {0, 0, 0, 0, 0, 0, 0, 0};
  bool failed = false;
  // The sandbox's namespace ids (inode, device) in kNsTypes order, read on the
  // threadpool once it runs; ns_ok false when it was already gone.
  bool ns_ok = false;
  double ns[16] = {0};
};

// The order of SandboxProcess.namespaces (lib/options.ts NAMESPACE_TYPES).
// The time namespace is read as `time_for_children`: the one the sandbox's programs run
// in. Before Linux 6.12 the top process is nsbind-init, which unshared it for the program it
// forks and stays in the caller's own (only a fork enters a new time namespace there).
static const char* const kNsTypes[8] = {"user", "pid", "mnt", "uts", "ipc", "net", "cgroup", "time_for_children"};

// Reads /proc/PID/ns/* here rather than in JS: eight stat calls cost ~100 us of the
// JS thread per spawn through fs.statSync, a few us on this thread.
static void read_namespaces(int pid, Outcome& o) {
  char path[64];
  for (int i = 0; i < 8; i++) {
    snprintf(path, sizeof path, "/proc/%d/ns/%s", pid, kNsTypes[i]);
    struct stat st;
    if (stat(path, &st) < 0) return;  // gone (or a type this kernel lacks): JS decides
    o.ns[2 * i] = (double)st.st_ino;
    o.ns[2 * i + 1] = (double)st.st_dev;
  }
  o.ns_ok = true;
}

static void fail_parent(Outcome& o, int step, int sys, long neg) {
  o.failed = true;
  o.report = {NSB_REPORT_ERROR, step, sys, (int32_t)-neg, 0, 0, 0, 0};
}

static long waitid_pidfd(int pidfd, siginfo_t* si, int options, struct rusage* ru) {
  long r;
  do r = syscall(SYS_waitid, P_PIDFD, pidfd, si, options, ru);
  while (r < 0 && errno == EINTR);
  return r < 0 ? -errno : 0;
}

// One record from the report pipe, which is in packet mode (O_DIRECT): each read returns
// one record as it was written, so a stray write can never shift the records after it.
// 1: a record with our token; 0: EOF; -1: a read error; -2: a record that is not ours
// (the wrong size, or without the spawn's token).
static int read_record(int fd, nsb_report* rec, int32_t token, bool check_token) {
  ssize_t n;
  do n = read(fd, rec, sizeof *rec);
  while (n < 0 && errno == EINTR);
  if (n == 0) return 0;
  if (n < 0) return -1;
  if (n != (ssize_t)sizeof *rec) return -2;
  return !check_token || rec->token == token ? 1 : -2;
}

// The next record that is ours: records that are not are skipped (plan.h nsb_report).
static int next_record(int fd, nsb_report* rec, int32_t token, bool check_token) {
  int got;
  do got = read_record(fd, rec, token, check_token);
  while (got == -2);
  return got;
}

// With the exec-detect pipe (init/control.h exec_detect): the next record as next_record
// gives it, except that the program's exec (EOF on the pipe, which only the program's fork
// holds by then) counts as the init's STARTED record, without waiting for the init to see
// that exec and write it. A byte on the pipe means the exec failed: the init's ERROR
// record follows on the report pipe. EOF without a byte while the report pipe has
// something to say (a record, or EOF: the init died before its fork; an exit closes the
// report pipe, at a lower slot, first) is taken from the report pipe.
static int wait_program(int rep, int xp, nsb_report* rec, int32_t token, bool check_token) {
  for (;;) {
    struct pollfd p[2] = {{rep, POLLIN, 0}, {xp, POLLIN, 0}};
    int n = poll(p, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || p[0].revents) return next_record(rep, rec, token, check_token);
    char b;
    ssize_t r = read(xp, &b, 1);
    if (r < 0 && errno == EINTR) continue;
    if (r != 0) return next_record(rep, rec, token, check_token);
    struct pollfd again = {rep, POLLIN, 0};
    if (poll(&again, 1, 0) > 0) return next_record(rep, rec, token, check_token);
    *rec = {NSB_REPORT_STARTED, 0, 0, 0, 0, 0, 0, token};
    return 1;
  }
}

// In a new pid namespace the child cannot ask getppid() whether we still live: it tells
// us when its parent-death signal is armed, and only then may the go-ahead go out.
static void wait_armed(nsb_child_job& j, int pidfd) {
  for (int i = 0; i < 500 && __atomic_load_n(&j.armed, __ATOMIC_ACQUIRE) == 0; i++) {
    struct timespec ts = {0, 10 * 1000 * 1000};
    syscall(SYS_futex, &j.armed, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, 0, &ts, nullptr, 0);
    struct pollfd p = {pidfd, POLLIN, 0};
    if (pidfd >= 0 && poll(&p, 1, 0) > 0) return;  // it died first: EOF will tell
  }
}

// How a setup process that closed its report pipe without a word ended.
static void explain_silent_end(Outcome& o, int pidfd) {
  siginfo_t si;
  memset(&si, 0, sizeof si);
  if (waitid_pidfd(pidfd, &si, WEXITED | WNOWAIT, nullptr) == 0 && si.si_code != CLD_EXITED) {
    return fail_parent(o, NSB_STEP_KILLED, NSB_SYS_NONE, -si.si_status);
  }
  fail_parent(o, NSB_STEP_INIT, NSB_SYS_READ, -ECHILD);
}

// Moves the setup process (nsbind-init, in its own memory by now) into the sandbox's
// cgroup: one cgroup.procs on v2, one per hierarchy on v1.
static long join_cgroup(const Request& q, long pid) {
  std::string text = std::to_string(pid);
  if (q.cgroup_fd >= 0) {
    int fd = openat(q.cgroup_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
    long r = fd < 0 ? -errno : (write(fd, text.data(), text.size()) < 0 ? -errno : 0);
    if (fd >= 0) close(fd);
    if (r < 0) return r;
  }
  for (const std::string& f : q.cgroup_procs) {
    long r = write_file(f, text);
    if (r < 0) return r;
  }
  return 0;
}

static long write_all_fd(int fd, const void* buf, size_t len) {
  const char* p = (const char*)buf;
  while (len > 0) {
    ssize_t w = write(fd, p, len);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return -errno;
    p += w;
    len -= (size_t)w;
  }
  return 0;
}

// Runs on a spawn thread (spawn_threads.h).
static void do_spawn(Request& q, Outcome& o) {
  int rep[2], ctl[2];
  if (pipe2(rep, O_CLOEXEC | O_DIRECT) < 0) return fail_parent(o, NSB_STEP_PIPES, NSB_SYS_PIPE, -errno);
  if (pipe2(ctl, O_CLOEXEC) < 0) {
    close(rep[0]);
    close(rep[1]);
    return fail_parent(o, NSB_STEP_PIPES, NSB_SYS_PIPE, -errno);
  }
  q.job.report_fd = rep[1];
  q.job.control_fd = ctl[0];
  bool new_pid = (q.clone_flags & CLONE_NEWPID) != 0;
  q.job.expected_ppid = new_pid ? 0 : (int32_t)getpid();
  q.msg.expected_ppid = q.job.expected_ppid;
  // A supervisor of a cgroup without a pid namespace must live on to kill the cgroup
  // when Node dies: its parent-death signal is one it can catch. Otherwise SIGKILL.
  q.msg.pdeathsig = !q.pdeathsig ? 0 : ((q.msg.flags & NSB_INIT_SUPERVISE) && !new_pid ? NSB_INIT_DEATHSIG : q.pdeathsig);
  // The supervisor's way to kill the cgroup, opened now: the init inherits it.
  if (q.msg.flags & NSB_INIT_SUPERVISE) {  // (only with q.ready: the init runs everything)
    int kill_fd = q.cgroup_fd >= 0 ? openat(q.cgroup_fd, "cgroup.kill", O_WRONLY | O_CLOEXEC) : -1;
    int procs_fd = q.cgroup_fd >= 0 ? openat(q.cgroup_fd, "cgroup.procs", O_RDONLY | O_CLOEXEC)
                                    : open(q.cgroup_procs[0].c_str(), O_RDONLY | O_CLOEXEC);
    for (int fd : {kill_fd, procs_fd}) {
      if (fd < 0 || q.job.nextra >= NSB_MAX_FDS) continue;
      (fd == kill_fd ? q.msg.cgroup_kill : q.msg.cgroup_procs) = q.job.nextra;
      q.job.extra_fd[q.job.nextra++] = fd;
      q.close_after.push_back(fd);
    }
    q.msg.nextra = q.job.nextra;
  }
  // The exec-detect pipe (init/control.h exec_detect): when the init forks the program, we
  // wake at the program's exec, not after the init has seen it and reported STARTED.
  // Not in a cgroup: there the kernel may kill the program's fork before its exec (a
  // memory limit too small for the setup), which this pipe cannot tell from the exec
  // (both close it without a byte), while the init, waiting for the exec, can.
  int xp[2] = {-1, -1};
  if (q.exec_via_init && !q.ready && q.job.nextra < NSB_MAX_FDS && pipe2(xp, O_CLOEXEC) == 0) {
    q.msg.exec_detect = q.job.nextra;
    q.job.exec_detect = q.job.nextra;
    q.job.extra_fd[q.job.nextra++] = xp[1];
    q.close_after.push_back(xp[1]);
    q.msg.nextra = q.job.nextra;
  }

  // The go-ahead, and what the init will need (init/control.h). Without the byte, EOF
  // tells the child to give up. Our end stays open until the program runs.
  std::string go("1");
  if (q.uses_init) {
    go.append((const char*)&q.msg, sizeof q.msg);
    if (!q.ready) go.append((const char*)q.plan.data(), q.plan.size());
  }
  // When we have nothing to do for the child between its clone and its go-ahead (no id
  // maps, time offsets or veth) and it can tell by getppid() that we live (no new pid
  // namespace: there it must wait for us to see it armed, wait_armed), the go-ahead is
  // in the pipe before the clone: the child never waits for us and we never wake up for
  // it, one round trip less per spawn (bench/README.md). PIPE_BUF bytes always fit in a
  // new pipe, so this write cannot block.
  bool parent_work = !q.newuidmap.empty() || !q.uid_map.empty() || !q.setgroups.empty() || !q.newgidmap.empty() ||
                     !q.gid_map.empty() || !q.time_offsets.empty() || (q.clone_flags & CLONE_NEWTIME) || q.veth.enabled;
  bool go_sent = false;
  if (!parent_work && !new_pid && go.size() <= PIPE_BUF) {
    go_sent = write_all_fd(ctl[1], go.data(), go.size()) == 0;
  }

  char* stack = stack_get();
  if (!stack) {
    for (int fd : {rep[0], rep[1], ctl[0], ctl[1]}) close(fd);
    for (int fd : q.close_after) close(fd);
    q.close_after.clear();
    if (xp[0] >= 0) close(xp[0]);
    return fail_parent(o, NSB_STEP_CLONE, NSB_SYS_CLONE3, -ENOMEM);
  }
  char* stack_top = stack + kGuard + kStackSize;

  // Block every signal around the clone: the child must not run Node's handlers before
  // it has reset them (it shares our memory). The child unblocks before exec.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  // From here until the child has memory of its own, Node's memory is not dumpable.
  nsb_setup_window_open(q.msg.unsafe & NSB_UNSAFE_SETUP_DUMPABLE);
  bool window_open = true;
  auto close_window = [&]() {
    if (window_open) nsb_setup_window_close();
    window_open = false;
  };

  int pidfd = -1;
  long pid = -ENOSYS;
  uint64_t ns_flags = q.clone_flags;
  // The time namespace is not made by clone: its offsets can be written only until a task
  // enters it, and before Linux 6.12 the child of clone3(CLONE_NEWTIME) entered it at once
  // (EACCES on timens_offsets), since then at its exec. The child unshares it before
  // `armed`; we write the offsets after; its first exec enters. Same on every kernel.
  bool time_ns = ns_flags & CLONE_NEWTIME;
  q.job.unshare_time = time_ns;
  if (!q.no_clone3) {
    struct clone_args ca;
    memset(&ca, 0, sizeof ca);
    ca.flags = (ns_flags & ~(uint64_t)CLONE_NEWTIME) | CLONE_VM | CLONE_PIDFD;
    ca.pidfd = (uint64_t)(uintptr_t)&pidfd;
    ca.exit_signal = SIGCHLD;
    ca.stack = (uint64_t)(uintptr_t)(stack + kGuard);
    ca.stack_size = kStackSize;
    pid = nsb_clone3_call(&ca, sizeof ca, nsb_child_main, &q.job);
  }
  bool used_clone = q.no_clone3 || pid == -ENOSYS;  // for the report: which call refused
  if (pid == -ENOSYS) {
    // clone() reads the low byte of its flags as the exit signal and CLONE_NEWTIME (0x80)
    // lies inside it: clone() cannot make a time namespace (the flag would silently turn
    // into a bogus exit signal and the program would run in our time namespace while
    // `isolation` says 'time'). Refuse; only clone3 (and unshare) can.
    pid = (ns_flags & CLONE_NEWTIME) ? -EINVAL
                                     : nsb_clone_call(ns_flags | CLONE_VM | CLONE_PIDFD | SIGCHLD, stack_top,
                                                      &pidfd, nsb_child_main, &q.job);
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  close(rep[1]);
  close(ctl[0]);
  for (int fd : q.close_after) close(fd);
  q.close_after.clear();

  if (pid < 0) {
    close_window();
    close(rep[0]);
    close(ctl[1]);
    if (xp[0] >= 0) close(xp[0]);
    stack_put(stack);
    return fail_parent(o, NSB_STEP_CLONE, used_clone ? NSB_SYS_CLONE : NSB_SYS_CLONE3, pid);
  }
  o.pid = (int)pid;
  o.pidfd = pidfd;
  // The time namespace's offsets can be written only once the child has unshared it,
  // which it does before arming (see above): wait for that first.
  if (time_ns) wait_armed(q.job, pidfd);

  // The child waits on the control pipe while we do what only the parent can. (Before
  // wait_armed: the maps need nothing of the child, so they are written while it arms.)
  std::string proc = "/proc/" + std::to_string(pid) + "/";
  long r = 0;
  if (!q.newuidmap.empty()) {
    std::vector<std::string> a = q.newuidmap;
    a.insert(a.begin() + 1, std::to_string(pid));
    if ((r = run_helper(a)) < 0) fail_parent(o, NSB_STEP_UID_MAP, NSB_SYS_NEWUIDMAP, r);
  } else if (!q.uid_map.empty() && (r = write_file(proc + "uid_map", q.uid_map)) < 0) {
    fail_parent(o, NSB_STEP_UID_MAP, NSB_SYS_WRITE, r);
  }
  if (!o.failed && !q.setgroups.empty() &&
      (r = write_file(proc + "setgroups", q.setgroups)) < 0) {
    fail_parent(o, NSB_STEP_SETGROUPS, NSB_SYS_WRITE, r);
  }
  if (!o.failed && !q.newgidmap.empty()) {
    std::vector<std::string> a = q.newgidmap;
    a.insert(a.begin() + 1, std::to_string(pid));
    if ((r = run_helper(a)) < 0) fail_parent(o, NSB_STEP_GID_MAP, NSB_SYS_NEWGIDMAP, r);
  } else if (!o.failed && !q.gid_map.empty() &&
             (r = write_file(proc + "gid_map", q.gid_map)) < 0) {
    fail_parent(o, NSB_STEP_GID_MAP, NSB_SYS_WRITE, r);
  }
  // Before any process enters the new time namespace: the child only enters it at exec.
  if (!o.failed && !q.time_offsets.empty() &&
      (r = write_file(proc + "timens_offsets", q.time_offsets)) < 0) {
    fail_parent(o, NSB_STEP_TIME_OFFSETS, NSB_SYS_WRITE, r);
  }
  if (!o.failed && q.veth.enabled) {
    int step = 0, sys = 0;
    if ((r = veth_setup(&q.veth, (int)pid, &step, &sys)) < 0) fail_parent(o, step, sys, r);
  }

  // In a new pid namespace the go-ahead waits until the child's parent-death signal is
  // armed (wait_armed says why).
  if (!o.failed && new_pid && !time_ns) wait_armed(q.job, pidfd);
  if (!o.failed && !go_sent) write_all_fd(ctl[1], go.data(), go.size());

  bool check = !(q.msg.unsafe & NSB_UNSAFE_REPORT_TOKEN);
  nsb_report rec;
  int got = 0;
  bool ready = false;
  auto next = [&]() {
    return xp[0] >= 0 ? wait_program(rep[0], xp[0], &rec, q.msg.token, check) : next_record(rep[0], &rec, q.msg.token, check);
  };
  if (!o.failed) {
    got = next();
    if (q.ready && got == 1 && rec.kind == NSB_REPORT_READY) {
      ready = true;
      // The init runs in its own memory now: the setup window is over, and only now may
      // it join a cgroup with limits. Then it gets its plan.
      close_window();
      stack_put(stack);
      stack = nullptr;
      if ((r = join_cgroup(q, pid)) < 0) {
        fail_parent(o, NSB_STEP_CGROUP, NSB_SYS_WRITE, r);
      } else {
        write_all_fd(ctl[1], q.plan.data(), q.plan.size());
        got = next();
      }
    }
  }
  bool keep_report = false;
  if (!o.failed) {
    if (got == 1 && rec.kind == NSB_REPORT_ERROR) {
      o.failed = true;
      o.report = rec;
    } else if (got == 1 && rec.kind == NSB_REPORT_STARTED) {
      keep_report = true;  // the init reports the program's end later
      o.report = rec;
    } else if (got != 0) {
      fail_parent(o, NSB_STEP_INIT, NSB_SYS_READ, -EPROTO);
    } else if (q.exec_via_init || (q.ready && !ready)) {
      // EOF, where a record was due: the init, or the child before it, died without a word.
      // (After the plan went out, an init that execs the program directly closes the pipe
      // in that exec: EOF then means the program runs.)
      explain_silent_end(o, pidfd);
    }
  }
  close(ctl[1]);
  if (xp[0] >= 0) close(xp[0]);
  if (o.failed) {
    // Drain to EOF: after EOF the child no longer runs on our stack (its exit released
    // our memory before its descriptors), then reap it so nothing is left behind.
    char sink[64];
    while (read(rep[0], sink, sizeof sink) > 0 || errno == EINTR) {
    }
    close(rep[0]);
    close_window();
    kill_and_reap(o.pidfd);
    o.pidfd = -1;
    veth_done(&q.veth, true);
    if (stack) stack_put(stack);
    return;
  }
  // EOF (or the init's record) means the child has exec'd: our memory is ours again.
  close_window();
  veth_done(&q.veth, false);
  if (!keep_report) {
    close(rep[0]);
  } else {
    o.report_fd = rep[0];
  }
  if (stack) stack_put(stack);
  read_namespaces(o.pid, o);
}

void kill_and_reap(int pidfd) {
  if (pidfd < 0) return;
  syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0);
  // uv_poll made the pidfd non-blocking, and waitid on a non-blocking pidfd returns
  // EAGAIN while the process is still dying: block, so that it is really reaped.
  int fl = fcntl(pidfd, F_GETFL);
  if (fl >= 0 && (fl & O_NONBLOCK)) fcntl(pidfd, F_SETFL, fl & ~O_NONBLOCK);
  siginfo_t si;
  struct rusage ru;
  waitid_pidfd(pidfd, &si, WEXITED, &ru);
  close(pidfd);
}

// Calls self[name](arg) as a new macrotask. Plain C API on purpose: while a worker_thread
// is being terminated every call fails, and node-addon-api would turn that failure into
// a fatal error (C++ exceptions are disabled); there is nobody left to tell, so ignore it.
static void call_js(Napi::Env env, Napi::Object self, const char* name, Napi::Value arg) {
  napi_value fn;
  if (napi_get_named_property(env, self, name, &fn) != napi_ok) return;
  napi_valuetype t;
  if (napi_typeof(env, fn, &t) != napi_ok || t != napi_function) return;
  napi_value resource, resource_name, result;
  napi_async_context ctx;
  if (napi_create_object(env, &resource) != napi_ok) return;
  if (napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource_name) != napi_ok) return;
  if (napi_async_init(env, resource, resource_name, &ctx) != napi_ok) return;
  napi_value argv[1] = {arg};
  napi_status st = napi_make_callback(env, ctx, self, fn, 1, argv, &result);
  napi_async_destroy(env, ctx);
  // This call comes from the loop, not from JS: an exception left pending here would be
  // dropped when the scope closes. Hand it to Node as uncaught, as its own handles do
  // (an 'error' event nobody listens to must crash the program, as child_process's does).
  bool pending = false;
  if (st != napi_ok && napi_is_exception_pending(env, &pending) == napi_ok && pending) {
    napi_value e;
    if (napi_get_and_clear_last_exception(env, &e) == napi_ok) napi_fatal_exception(env, e);
  }
}

// ---------------------------------------------------------------------------------
// Process: the JS-visible handle of one sandbox's top process.

Napi::FunctionReference* Process::ctor = nullptr;

Napi::Object Process::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function f = DefineClass(env, "Process",
                                 {InstanceMethod("kill", &Process::Kill),
                                  InstanceMethod("ref", &Process::Ref),
                                  InstanceMethod("unref", &Process::Unref)});
  ctor = new Napi::FunctionReference(Napi::Persistent(f));
  exports.Set("Process", f);
  return exports;
}

static void close_poll(uv_poll_t* h) { close_and_free((uv_handle_t*)h); }

// Sandboxes still running when their JS environment ends (a worker_thread exits, or
// the process is exiting): nobody is left to observe them, and we are their parent, so
// kill and reap them now (no zombie), and close our poll handles so the environment's
// loop can close.
struct EnvState {
  std::set<Process*> live;
};

static EnvState* env_state(Napi::Env env) {
  EnvState* st = env.GetInstanceData<EnvState>();
  if (!st) {
    st = new EnvState();
    env.SetInstanceData<EnvState>(st);
    env.AddCleanupHook([st]() {
      std::set<Process*> live = st->live;
      for (Process* p : live) p->Abandon();
    });
  }
  return st;
}

Process::Process(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Process>(info) {}

Process::~Process() {
  Abandon();
}

void Process::Abandon() {
  if (poll_) {
    uv_poll_stop(poll_);
    close_poll(poll_);
    poll_ = nullptr;
  }
  if (pidfd_ >= 0) kill_and_reap(pidfd_);
  pidfd_ = -1;
  if (report_fd_ >= 0) close(report_fd_);
  report_fd_ = -1;
  if (EnvState* st = Env().GetInstanceData<EnvState>()) st->live.erase(this);
}

Napi::Value Process::Kill(const Napi::CallbackInfo& info) {
  int sig = info[0].As<Napi::Number>().Int32Value();
  if (pidfd_ < 0 || exited_) return Napi::Number::New(info.Env(), -ESRCH);
  long r = syscall(SYS_pidfd_send_signal, pidfd_, sig, nullptr, 0);
  return Napi::Number::New(info.Env(), r < 0 ? -errno : 0);
}

Napi::Value Process::Ref(const Napi::CallbackInfo& info) {
  refd_ = true;
  if (poll_) uv_ref((uv_handle_t*)poll_);
  return info.Env().Undefined();
}

Napi::Value Process::Unref(const Napi::CallbackInfo& info) {
  refd_ = false;
  if (poll_) uv_unref((uv_handle_t*)poll_);
  return info.Env().Undefined();
}

void Process::Started(Napi::Env env, int pidfd, int report_fd, int32_t token, bool check_token) {
  pidfd_ = pidfd;
  report_fd_ = report_fd;
  token_ = token;
  check_token_ = check_token;
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  poll_ = (uv_poll_t*)malloc(sizeof(uv_poll_t));
  poll_->data = this;
  if (uv_poll_init(loop, poll_, pidfd_) != 0) {
    free(poll_);
    poll_ = nullptr;
    return;
  }
  if (!refd_) uv_unref((uv_handle_t*)poll_);
  self_ = Napi::Persistent(Value());  // alive until the exit is delivered
  env_state(env)->live.insert(this);
  uv_poll_start(poll_, UV_READABLE, &Process::OnReadable);
}

void Process::OnReadable(uv_poll_t* h, int status, int events) {
  Process* p = (Process*)h->data;
  siginfo_t si;
  memset(&si, 0, sizeof si);
  struct rusage ru;
  memset(&ru, 0, sizeof ru);
  long r = waitid_pidfd(p->pidfd_, &si, WEXITED | WNOHANG, &ru);
  if (r == 0 && si.si_pid == 0) return;  // not yet
  uv_poll_stop(h);
  close_poll(h);
  p->poll_ = nullptr;
  p->exited_ = true;
  if (EnvState* st = p->Env().GetInstanceData<EnvState>()) st->live.erase(p);
  close(p->pidfd_);
  p->pidfd_ = -1;

  // The init's last record: how the program itself ended.
  int program_status = -1;
  long maxrss_kb = ru.ru_maxrss;
  if (p->report_fd_ >= 0) {
    // Records without the spawn's token are not the init's: ignored (plan.h). The init
    // writes one EXIT record; should there ever be more, the first counts.
    nsb_report rec;
    int got;
    while ((got = read_record(p->report_fd_, &rec, p->token_, p->check_token_)) != 0 && got != -1) {
      if (got == 1 && rec.kind == NSB_REPORT_EXIT && program_status < 0) {
        program_status = rec.status;
        maxrss_kb = rec.maxrss_kb;
      }
    }
    close(p->report_fd_);
    p->report_fd_ = -1;
  }

  Napi::Env env = p->Env();
  Napi::HandleScope scope(env);
  Napi::Object res = Napi::Object::New(env);
  if (r < 0) {
    res.Set("error", Napi::Number::New(env, -r));
  } else if (si.si_code == CLD_EXITED) {
    res.Set("code", Napi::Number::New(env, si.si_status));
  } else {
    res.Set("signal", Napi::Number::New(env, si.si_status));
  }
  res.Set("programStatus", Napi::Number::New(env, program_status));
  res.Set("userUs", Napi::Number::New(env, ru.ru_utime.tv_sec * 1e6 + ru.ru_utime.tv_usec));
  res.Set("systemUs", Napi::Number::New(env, ru.ru_stime.tv_sec * 1e6 + ru.ru_stime.tv_usec));
  res.Set("maxRssKb", Napi::Number::New(env, (double)maxrss_kb));
  call_js(env, p->Value(), "onexit", res);
  p->self_.Reset();
}

// ---------------------------------------------------------------------------------
// spawn(request, process) -> stdio fds; the outcome arrives as process.onspawn(report).

// One spawn: do_spawn on a spawn thread, then onspawn on the loop.
class SpawnTask : public LoopTask {
 public:
  SpawnTask(Napi::Env env, Request* q, Process* p) : q_(q), p_(p) {
    napi_create_reference(env, p->Value(), 1, &procref_);
  }
  ~SpawnTask() override { delete q_; }
  void Execute() override { do_spawn(*q_, o_); }
  void Abandon() override {
    // The environment is gone: nobody can observe this sandbox. (procref_ is left:
    // references die with their environment.)
    if (!o_.failed) {
      kill_and_reap(o_.pidfd);
      if (o_.report_fd >= 0) close(o_.report_fd);
    }
  }
  void Complete(Napi::Env env) override {
    napi_value self_v;
    napi_get_reference_value(env, procref_, &self_v);
    Napi::Object self(env, self_v);
    Napi::Object res = Napi::Object::New(env);
    if (o_.failed) {
      res.Set("op", o_.report.op);
      res.Set("sys", o_.report.sys);
      res.Set("errno", o_.report.err);
    } else {
      res.Set("pid", o_.pid);
      if (o_.ns_ok) {
        Napi::Array ns = Napi::Array::New(env, 16);
        for (uint32_t i = 0; i < 16; i++) ns.Set(i, Napi::Number::New(env, o_.ns[i]));
        res.Set("ns", ns);
      } else {
        res.Set("ns", env.Null());  // already gone: JS need not try again
      }
      if (q_->veth.peer_index > 0) res.Set("vethIndex", q_->veth.peer_index);
      p_->Started(env, o_.pidfd, o_.report_fd, q_->msg.token, !(q_->msg.unsafe & NSB_UNSAFE_REPORT_TOKEN));
    }
    call_js(env, self, "onspawn", res);
    napi_delete_reference(env, procref_);
  }

 private:
  Request* q_;
  Process* p_;
  Outcome o_;
  napi_ref procref_ = nullptr;
};

static int make_pair(bool socket, int* fds) {
  if (socket) return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0 ? -errno : 0;
  return pipe2(fds, O_CLOEXEC) < 0 ? -errno : 0;
}

Napi::Value Spawn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object req = info[0].As<Napi::Object>();
  Process* proc = Process::Unwrap(info[1].As<Napi::Object>());
  auto* q = new Request();

  Napi::Buffer<uint8_t> plan = req.Get("plan").As<Napi::Buffer<uint8_t>>();
  q->plan.assign(plan.Data(), plan.Data() + plan.Length());
  const auto* hdr = (const nsb_plan_header*)q->plan.data();
  size_t need = sizeof(nsb_plan_header);
  if (q->plan.size() < need || hdr->magic != NSB_PLAN_MAGIC || hdr->version != NSB_PLAN_VERSION ||
      q->plan.size() != need + hdr->nops * sizeof(nsb_op) + hdr->arena_len ||
      hdr->arena_len == 0 || q->plan.back() != 0) {
    delete q;
    Napi::TypeError::New(env, "nsbind: malformed plan").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const nsb_op* ops = (const nsb_op*)(q->plan.data() + need);
  for (uint32_t i = 0; i < hdr->nops; i++)
    for (uint32_t s : ops[i].s)
      if (s >= hdr->arena_len) {
        delete q;
        Napi::TypeError::New(env, "nsbind: plan string out of range").ThrowAsJavaScriptException();
        return env.Undefined();
      }

  q->argv = strings_of(req.Get("argv"));
  Napi::Value envp = req.Get("envp");
  if (envp.IsArray()) {
    q->envp = strings_of(envp);
  } else {
    // No envp: the program inherits the process's environment. Read here, on the JS
    // thread, where process.env's setenv/unsetenv happen, so the copy is consistent;
    // copying environ costs a few microseconds where building it in JS and converting
    // each string through N-API cost ~100 us per spawn (bench/README.md).
    for (char** e = environ; e && *e; e++) q->envp.emplace_back(*e);
  }
  q->argv_p = pointers_to(q->argv);
  q->envp_p = pointers_to(q->envp);
  if (req.Get("initPath").IsString()) q->init_path = req.Get("initPath").As<Napi::String>();
  q->clone_flags = (uint64_t)req.Get("cloneFlags").As<Napi::Number>().Int64Value();
  if (req.Get("cgroupFd").IsNumber()) q->cgroup_fd = req.Get("cgroupFd").As<Napi::Number>().Int32Value();
  q->cgroup_procs = strings_of(req.Get("cgroupProcs"));
  q->cgroup_shared = req.Get("cgroupShared").ToBoolean();
  if (req.Get("setgroups").IsString()) q->setgroups = req.Get("setgroups").As<Napi::String>();
  if (req.Get("uidMap").IsString()) q->uid_map = req.Get("uidMap").As<Napi::String>();
  if (req.Get("gidMap").IsString()) q->gid_map = req.Get("gidMap").As<Napi::String>();
  if (req.Get("timeOffsets").IsString()) q->time_offsets = req.Get("timeOffsets").As<Napi::String>();
  q->newuidmap = strings_of(req.Get("newuidmap"));
  q->newgidmap = strings_of(req.Get("newgidmap"));
  if (req.Get("pdeathsig").IsNumber()) q->pdeathsig = req.Get("pdeathsig").As<Napi::Number>().Int32Value();
  q->no_clone3 = req.Get("noClone3").ToBoolean();
  ParseVeth(req.Get("veth"), &q->veth);
  // Where the init takes over, as lib/ decided, except: an init that is to supervise the
  // program must at least run its exec; and no task that shares the Node process's
  // memory may ever be in a cgroup with limits (SPEC 4: an OOM kill there would take
  // Node with it), so a cgroup to join means the whole setup runs in the init.
  uint32_t nops = hdr->nops;
  bool in_cgroup = q->cgroup_fd >= 0 || !q->cgroup_procs.empty();
  q->exec_via_init = nops > 0 && ops[nops - 1].kind == NSB_OP_EXEC && (ops[nops - 1].flags & NSB_EXEC_VIA_INIT);
  q->init_from = req.Get("initFrom").IsNumber() ? std::min(req.Get("initFrom").As<Napi::Number>().Uint32Value(), nops) : nops;
  if (q->exec_via_init) q->init_from = std::min(q->init_from, nops - 1);
  if (in_cgroup) q->init_from = 0;
  q->ready = in_cgroup;
  q->uses_init = q->init_from < nops;
  if (q->uses_init && q->init_path.empty()) {
    delete q;
    Napi::TypeError::New(env, "nsbind: a plan through the init needs initPath").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  nsb_init_msg& m = q->msg;
  memset(&m, 0, sizeof m);
  m.magic = NSB_INIT_MAGIC;
  m.flags = in_cgroup ? NSB_INIT_READY | (q->cgroup_shared ? 0u : NSB_INIT_SUPERVISE) : 0;
  if (req.Get("unsafeTest").IsNumber()) m.unsafe = req.Get("unsafeTest").As<Napi::Number>().Uint32Value();
  // The records' token: what the program cannot know, so cannot forge (plan.h).
  if (getrandom(&m.token, sizeof m.token, 0) != (ssize_t)sizeof m.token) m.token = (int32_t)(uintptr_t)q ^ (int32_t)clock();
  m.cgroup_kill = -1;
  m.cgroup_procs = -1;
  m.exec_detect = -1;
  m.start_op = q->init_from;
  m.plan_len = (uint32_t)q->plan.size();
  if (q->uses_init) {
    // Short, for ps and lsns: `nsbind-init NFDS ARGV...`. The init finds its pipes above
    // the program's NFDS stdio slots and the rest (file, PATH, the plan) in its control pipe.
    Napi::Value stdio_v = req.Get("stdio");
    uint32_t nfds = stdio_v.IsArray() ? stdio_v.As<Napi::Array>().Length() : 0;
    q->init_argv = {"nsbind-init", std::to_string(nfds)};
    q->init_argv.insert(q->init_argv.end(), q->argv.begin(), q->argv.end());
  }
  q->init_argv_p = pointers_to(q->init_argv);

  nsb_child_job& j = q->job;
  memset(&j, 0, sizeof j);
  j.ops = ops;
  j.nops = hdr->nops;
  j.arena = (const char*)(q->plan.data() + need + hdr->nops * sizeof(nsb_op));
  j.arena_len = hdr->arena_len;
  j.argv = q->argv_p.data();
  j.envp = q->envp_p.data();
  j.init_argv = q->init_argv_p.data();
  j.pdeathsig = q->pdeathsig;
  j.token = m.token;
  j.init_from = q->init_from;
  j.keep_permitted = !(m.unsafe & NSB_UNSAFE_SETUP_CAPS);
  j.init_fd = -1;
  j.exec_detect = -1;
  if (!q->init_path.empty()) {
    int fd = init_fd_for(q->init_path);
    if (fd < 0) {
      delete q;
      Napi::Object res = Napi::Object::New(env);
      res.Set("initError", -fd);
      return res;
    }
    j.init_fd = fd;
  }
  Napi::Array extra = req.Get("extraFds").IsArray() ? req.Get("extraFds").As<Napi::Array>()
                                                     : Napi::Array::New(env);
  // Room for the three descriptors the parent may add (do_spawn: the cgroup's two, the
  // exec-detect pipe).
  j.nextra = (int)std::min<uint32_t>(extra.Length(), NSB_MAX_FDS - 3);
  for (int i = 0; i < j.nextra; i++) {
    int fd = fcntl(extra.Get(i).As<Napi::Number>().Int32Value(), F_DUPFD_CLOEXEC, 3);
    j.extra_fd[i] = fd;
    if (fd >= 0) q->close_after.push_back(fd);
  }
  m.nextra = j.nextra;

  // stdio: [{ kind: 'in'|'out'|'duplex'|'fd'|'close', fd? }] -> child slot i.
  Napi::Array stdio = req.Get("stdio").As<Napi::Array>();
  Napi::Array parent_fds = Napi::Array::New(env, stdio.Length());
  j.nfds = (int)stdio.Length();
  for (uint32_t i = 0; i < stdio.Length(); i++) {
    Napi::Object e = stdio.Get(i).As<Napi::Object>();
    std::string kind = e.Get("kind").As<Napi::String>();
    j.fd_src[i] = -1;
    parent_fds.Set(i, env.Null());
    if (kind == "fd") {
      // Our own duplicate: the caller may close its descriptor as soon as spawn()
      // returns (as with child_process), before the threadpool gets to the clone.
      int fd = fcntl(e.Get("fd").As<Napi::Number>().Int32Value(), F_DUPFD_CLOEXEC, 3);
      if (fd < 0) {
        int err = errno;
        for (int c : q->close_after) close(c);
        for (uint32_t k = 0; k < i; k++)
          if (parent_fds.Get(k).IsNumber()) close(parent_fds.Get(k).As<Napi::Number>().Int32Value());
        delete q;
        Napi::Object res = Napi::Object::New(env);
        res.Set("fdError", err);
        res.Set("fdIndex", i);
        return res;
      }
      j.fd_src[i] = fd;
      q->close_after.push_back(fd);
    } else if (kind == "in" || kind == "out" || kind == "duplex") {
      int fds[2];
      int r = make_pair(kind == "duplex", fds);
      if (r < 0) {
        for (int fd : q->close_after) close(fd);
        for (uint32_t k = 0; k < i; k++)
          if (parent_fds.Get(k).IsNumber()) close(parent_fds.Get(k).As<Napi::Number>().Int32Value());
        delete q;
        Napi::Object res = Napi::Object::New(env);
        res.Set("pipeError", -r);
        return res;
      }
      // pipe: fds[0] reads, fds[1] writes. The child reads its stdin, writes the rest.
      int child_end = kind == "in" ? fds[0] : (kind == "out" ? fds[1] : fds[1]);
      int parent_end = kind == "in" ? fds[1] : fds[0];
      j.fd_src[i] = child_end;
      q->close_after.push_back(child_end);
      parent_fds.Set(i, Napi::Number::New(env, parent_end));
    }
  }

  SubmitTask(env, new SpawnTask(env, q, proc));
  Napi::Object res = Napi::Object::New(env);
  res.Set("fds", parent_fds);
  return res;
}

}  // namespace nsb
