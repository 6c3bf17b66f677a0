// probeClone(flags) -> 0 or -errno: asks the kernel whether a child of this process may be
// created with these CLONE_NEW* flags, by creating one that exits at once. This is how
// `optional: true` namespaces are decided: the kernel's own answer (sysctls, LSMs, a
// container's seccomp profile, namespace limits) rather than a guess from sysctl files.
//
// It runs on the calling thread and returns when the probe child is gone:
//   - CLONE_VM | CLONE_VFORK: no copy of Node's memory, and the parent sleeps until the
//     child has exited (the child only returns; see nsb_clone3_call).
//   - exit_signal 0: no SIGCHLD, so Node's child_process handling never sees it; the
//     child is reaped here with __WALL.
//   - every signal blocked around the clone so no handler of Node runs on the child's stack.
//   - inside the setup window (setup_window.h): the child shares Node's memory, and as
//     root's child in a new user namespace its memory would be open to a root program
//     without a user namespace of its own.
#include "optional.h"

#include <errno.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "clone.h"
#include "setup_window.h"

namespace {

constexpr size_t kProbeStack = 64 * 1024;

int probe_child(void*) { return 0; }

long probe(uint64_t ns_flags) {
  void* stack = mmap(nullptr, kProbeStack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) return -ENOMEM;
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  nsb_setup_window_open();
  struct clone_args ca;
  memset(&ca, 0, sizeof ca);
  ca.flags = ns_flags | CLONE_VM | CLONE_VFORK;
  ca.exit_signal = 0;
  ca.stack = (uint64_t)(uintptr_t)stack;
  ca.stack_size = kProbeStack;
  long pid = nsb_clone3_call(&ca, sizeof ca, probe_child, nullptr);
  // Before clone3 (5.3) there is no time namespace either, and clone() cannot take
  // CLONE_NEWTIME (its bit is the exit signal there).
  if (pid == -ENOSYS && !(ns_flags & CLONE_NEWTIME)) {
    pid = nsb_clone_call(ns_flags | CLONE_VM | CLONE_VFORK, (char*)stack + kProbeStack, nullptr, probe_child, nullptr);
  }
  // CLONE_VFORK: we resume once the child has exited, its memory (ours) released.
  nsb_setup_window_close();
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (pid > 0) {
    siginfo_t si;
    while (waitid(P_PID, (id_t)pid, &si, WEXITED | __WALL) < 0 && errno == EINTR) {
    }
  }
  munmap(stack, kProbeStack);
  return pid > 0 ? 0 : pid;
}

Napi::Value ProbeClone(const Napi::CallbackInfo& info) {
  uint64_t flags = (uint64_t)info[0].As<Napi::Number>().Int64Value();
  return Napi::Number::New(info.Env(), (double)probe(flags));
}

}  // namespace

void RegisterOptional(Napi::Env env, Napi::Object exports) {
  exports.Set("probeClone", Napi::Function::New(env, ProbeClone));
}
