// nsbind's own spawn threads: work that must not run on the JS thread (a clone and the
// child's setup), completed back on the loop of the environment that asked for it.
//
// Why not libuv's threadpool (Napi::AsyncWorker):
//   - its 4 threads are shared with fs, dns and crypto: 8 sandboxes in setup would stall
//     the application's file reads, and the 5th sandbox would wait for a thread;
//   - PR_SET_PDEATHSIG fires when the thread that cloned the child exits. These threads
//     never exit, so "die with parent" means "die with the process", whichever JS
//     thread (main or worker_thread) asked.
#pragma once

#include <napi.h>

namespace nsb {

class LoopTask {
 public:
  virtual ~LoopTask() = default;
  // On a spawn thread.
  virtual void Execute() = 0;
  // On the loop thread of the environment that submitted the task (inside a HandleScope).
  virtual void Complete(Napi::Env env) = 0;
  // The environment ended first: release what Execute made, without touching JS.
  virtual void Abandon() = 0;
};

// Runs task->Execute() on a spawn thread, then task->Complete() on env's loop; deletes
// the task. The loop is kept alive while any task of its environment is in flight.
void SubmitTask(Napi::Env env, LoopTask* task);

}  // namespace nsb
