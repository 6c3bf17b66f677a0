// A short-lived helper child for the steps that must not run in the Node process
// (creating a network namespace, opening a socket inside another one).
//
// Why a child and not setns() on a thread: setns(CLONE_NEWNET) is per-thread and the
// kernel allows it in a multithreaded process, but a thread that forgets to switch back
// (an early return, a libuv threadpool thread reused for the next fs call) would leave
// Node doing its I/O in the wrong namespace. A child cannot leak its namespace into the
// Node process: it dies with it. With CLONE_VM it costs about as much as a thread.
#pragma once

#include <stdint.h>

// What failed in a helper: an nsb_syscall_id and the positive errno (0 = nothing).
// `step` says which of several similar calls it was (helper-specific, documented there).
struct nsb_helper_result {
  int32_t sys;
  int32_t err;
  int32_t step;
};

// Runs fn(arg) in a child cloned with `flags | CLONE_VM` (no exit signal, so nobody but
// us is told about it) on a small stack inside this function's frame, and waits for it.
// fn follows the child rules of sys.h (raw syscalls only) and reports into a
// nsb_helper_result that the caller placed in `arg`: the calling thread is blocked in
// waitpid until the child is gone, so nothing else reads or writes that memory meanwhile.
// Returns 0 when the child exited 0, -errno when the clone failed (res->sys is then
// NSB_SYS_CLONE), or 1 when fn reported a failure in its result.
//
// `meanwhile`, when given, runs here (in the parent) between the clone and the wait, with the
// child's pid: for what only the parent may do to the child while fn waits for it (writing
// the id maps of the user namespace it was cloned into). It must make fn return.
long nsb_run_helper(unsigned long flags, int (*fn)(void*), void* arg, nsb_helper_result* res,
                    void (*meanwhile)(long pid, void* arg) = nullptr);
