// nsbind-init: the sandbox's own process for its setup, and its PID 1.
//
// A freestanding static program (no libc): a few pages, so each sandbox's init costs
// almost no memory, and it runs inside any root the sandbox has, even an empty one (it is
// exec'd by fd). The setup child execs it to run the rest of the plan with the same
// interpreter (interp.h), in memory of its own; init/control.h says from where:
//   - from the start, when the setup must not share the Node process's memory (limits:
//     it first reports READY and waits in the Node process's cgroup until the parent has
//     moved it into the sandbox's; joining a time namespace; for a Node process without
//     privileges, joining a user namespace);
//   - from the first credential change (a Node process without privileges), or from the
//     capability drop, to be PID 1 of a new pid namespace or to fork the program into a
//     joined one.
// The last op either execs the program, or (NSB_EXEC_VIA_INIT) hands over to
// supervise.cc: fork and exec the program, forward signals, reap, report the end.
//
// argv: nsbind-init NFDS ARGV0 ARGS...   (the program's argv; envp is the program's)
// At entry: 0..NFDS-1 the program's stdio, NFDS the report pipe, NFDS+1 the control
// pipe, NFDS+3+i the extra descriptors. Signals arrive blocked (the setup child never
// unblocked them) and stay blocked: the init takes them with sigtimedwait.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include "../interp.h"
#include "../sys.h"
#include "control.h"
#include "supervise.h"

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

// Reads exactly len bytes; false on EOF or error.
bool read_exact(int fd, void* buf, size_t len) {
  char* p = (char*)buf;
  while (len > 0) {
    long r = nsb_sys(SYS_read, fd, NSB_P(p), (long)len);
    if (r == -4 /* EINTR */) continue;
    if (r <= 0) return false;
    p += r;
    len -= (size_t)r;
  }
  return true;
}

// The plan the parent sent, in memory of our own, checked as the addon checks it.
void receive_plan(nsb_interp* it, uint32_t len) {
  long m = nsb_sys6(SYS_mmap, 0, (long)len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m < 0) nsb_fail(it, NSB_STEP_PLAN, NSB_SYS_MMAP, m);
  char* buf = (char*)m;
  if (!read_exact(it->control_fd, buf, len)) nsb_fail(it, NSB_STEP_PLAN, NSB_SYS_READ, -5 /* EIO */);
  const nsb_plan_header* h = (const nsb_plan_header*)buf;
  uint64_t need = sizeof *h;
  if (len < need || h->magic != NSB_PLAN_MAGIC || h->version != NSB_PLAN_VERSION ||
      len != need + (uint64_t)h->nops * sizeof(nsb_op) + h->arena_len || h->arena_len == 0 ||
      buf[len - 1] != 0) {
    nsb_fail(it, NSB_STEP_PLAN, NSB_SYS_READ, -71 /* EPROTO */);
  }
  static nsb_init_host host;
  host.plan = buf;
  host.plan_len = len;
  it->host = &host;
  it->ops = (const nsb_op*)(buf + need);
  it->nops = h->nops;
  it->arena = buf + need + h->nops * sizeof(nsb_op);
  for (uint32_t i = 0; i < it->nops; i++)
    for (uint32_t s : it->ops[i].s)
      if (s >= h->arena_len) nsb_fail(it, NSB_STEP_PLAN, NSB_SYS_READ, -71);
}

}  // namespace

extern "C" [[noreturn]] void nsb_init_main(long* sp) {
  // First: nobody may attach to us or open /proc/<us>/fd/* or /proc/<us>/mem, not even a
  // program with our credentials (the sandbox's own, a few steps from now). The mm is
  // ours alone since the exec, and it is owned by the user namespace we were exec'd in.
  nsb_sys(SYS_prctl, PR_SET_DUMPABLE, 0, 0, 0, 0);

  int argc = (int)sp[0];
  char** argv = (char**)(sp + 1);
  char** envp = argv + argc + 1;
  if (argc < 3) nsb_exit(125);
  int nfds = parse_int(argv[1]);

  static nsb_interp it;  // in .bss: the interpreter's state is a few KiB
  it.report_fd = nfds;
  it.control_fd = nfds + 1;
  it.argv = argv + 2;
  it.envp = envp;
  it.exec_via_init = nsb_supervise;
  it.keep_permitted = false;  // our memory is our own: we keep only what the program keeps
  nsb_fs_init(&it.fs);
  // Nothing of ours may reach the program: its fork gets only its stdio across the exec.
  if (nsb_sys(SYS_close_range, nfds, ~0u, 4 /* CLOSE_RANGE_CLOEXEC, Linux 5.11 */) < 0) {
    for (int fd = nfds; fd < nfds + 3 + NSB_MAX_FDS; fd++) nsb_sys(SYS_fcntl, fd, F_SETFD, FD_CLOEXEC);
  }

  nsb_init_msg msg;
  if (!read_exact(it.control_fd, &msg, sizeof msg) || msg.magic != NSB_INIT_MAGIC) nsb_exit(125);
  if (msg.unsafe & NSB_UNSAFE_INIT_DUMPABLE) nsb_sys(SYS_prctl, PR_SET_DUMPABLE, 1, 0, 0, 0);
  it.token = msg.token;
  it.expected_ppid = msg.expected_ppid;
  it.pdeathsig = msg.pdeathsig;
  it.joined_pid = false;
  it.nextra = msg.nextra < 0 ? 0 : (msg.nextra > NSB_MAX_FDS ? NSB_MAX_FDS : msg.nextra);
  for (int i = 0; i < it.nextra; i++) it.extra[i] = nfds + 3 + i;

  // An exec that changed our credentials would have cleared the parent-death signal,
  // and the supervisor may want another one: arm it here, and leave if the parent is gone.
  nsb_arm_parent_death(&it);
  nsb_supervise_prepare(&it, &msg);

  if (msg.flags & NSB_INIT_READY) {
    nsb_report_record(&it, NSB_REPORT_READY, 0, 0, 0, 0, 0, 0);
  }
  receive_plan(&it, msg.plan_len);
  if (msg.start_op > it.nops) nsb_fail(&it, NSB_STEP_PLAN, NSB_SYS_READ, -71 /* EPROTO */);
  nsb_run_plan(&it, msg.start_op);
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
