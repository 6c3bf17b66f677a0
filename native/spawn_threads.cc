// See spawn_threads.h for why nsbind has its own threads.
#include "spawn_threads.h"

#include "napi_util.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <uv.h>

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace nsb {
namespace {

// Completed tasks of one environment, handed to its loop through a uv_async_t.
struct EnvQueue {
  std::mutex mu;
  std::vector<LoopTask*> done;
  bool closed = false;
  uv_async_t* async = nullptr;  // owned by the loop thread
  int inflight = 0;             // loop thread only
  napi_env env = nullptr;
};

struct Item {
  std::shared_ptr<EnvQueue> q;
  LoopTask* task;
};

constexpr int kMaxThreads = 32;

// Never destroyed: at process exit, destroying a condition variable that our (never
// ending) threads wait on would block exit.
struct Pool {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Item> queue;
  int threads = 0;
  int idle = 0;
};
Pool& pool() {
  static Pool* p = new Pool();
  return *p;
}

void finish(const Item& it) {
  std::unique_lock<std::mutex> lk(it.q->mu);
  if (it.q->closed) {
    lk.unlock();
    it.task->Abandon();
    delete it.task;
    return;
  }
  it.q->done.push_back(it.task);
  uv_async_send(it.q->async);
}

// The JS thread wakes a spawn thread for each spawn. A woken SCHED_OTHER thread may
// preempt its waker at once, and on a busy machine the JS thread then waits for a CPU
// while the clone creates the namespaces (measured: 4-7 ms of run-queue wait inside
// spawn() per sandbox, 8 in flight, 2 CPUs). A SCHED_BATCH thread never preempts on
// wakeup, so the spawn threads wait as SCHED_BATCH and switch back before the clone:
// the JS thread finishes its turn of the loop, and the child and the program inherit the
// policy the thread was created with (the JS thread's), as if nothing had changed. Only
// from SCHED_OTHER: any other policy (set by the user) is left alone. Same weight, same
// nice value: the thread gets no less CPU, it only does not cut in.
struct Waking {
  bool dance = sched_getscheduler(0) == SCHED_OTHER;
  void sleep() {
    sched_param p = {0};
    if (dance) sched_setscheduler(0, SCHED_BATCH, &p);
  }
  void work() {
    sched_param p = {0};
    if (dance) sched_setscheduler(0, SCHED_OTHER, &p);
  }
};

void thread_main() {
  // Process-directed signals belong to Node's own threads, not to ours.
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
  Waking w;
  for (;;) {
    Item it;
    {
      Pool& g = pool();
      std::unique_lock<std::mutex> lk(g.mu);
      g.idle++;
      if (g.queue.empty()) {
        lk.unlock();
        w.sleep();
        lk.lock();
      }
      g.cv.wait(lk, [&g] { return !g.queue.empty(); });
      g.idle--;
      it = g.queue.front();
      g.queue.pop_front();
    }
    w.work();
    it.task->Execute();
    finish(it);
  }
}

void on_async(uv_async_t* h) {
  auto* holder = static_cast<std::shared_ptr<EnvQueue>*>(h->data);
  std::shared_ptr<EnvQueue> q = *holder;
  std::vector<LoopTask*> done;
  {
    std::lock_guard<std::mutex> lk(q->mu);
    done.swap(q->done);
  }
  Napi::Env env(q->env);
  for (LoopTask* t : done) {
    if (--q->inflight == 0) uv_unref((uv_handle_t*)q->async);
    {
      Napi::HandleScope scope(env);
      t->Complete(env);
    }
    delete t;
  }
}

std::shared_ptr<EnvQueue> queue_for(Napi::Env env) {
  // One queue per environment, kept in the environment's cleanup hook's closure.
  static std::mutex& mu = *new std::mutex();
  static auto& queues = *new std::vector<std::pair<napi_env, std::shared_ptr<EnvQueue>>>();
  std::lock_guard<std::mutex> lk(mu);
  for (auto& p : queues)
    if (p.first == (napi_env)env) return p.second;
  auto q = std::make_shared<EnvQueue>();
  q->env = env;
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  q->async = (uv_async_t*)malloc(sizeof(uv_async_t));
  uv_async_init(loop, q->async, on_async);
  q->async->data = new std::shared_ptr<EnvQueue>(q);
  uv_unref((uv_handle_t*)q->async);
  queues.emplace_back((napi_env)env, q);
  env.AddCleanupHook([q]() {
    std::vector<LoopTask*> done;
    {
      std::lock_guard<std::mutex> lk2(q->mu);
      q->closed = true;
      done.swap(q->done);
    }
    for (LoopTask* t : done) {
      t->Abandon();
      delete t;
    }
    delete static_cast<std::shared_ptr<EnvQueue>*>(q->async->data);
    close_and_free((uv_handle_t*)q->async);
    std::lock_guard<std::mutex> lk3(mu);
    for (size_t i = 0; i < queues.size(); i++)
      if (queues[i].second == q) queues.erase(queues.begin() + i);
  });
  return q;
}

}  // namespace

void SubmitTask(Napi::Env env, LoopTask* task) {
  std::shared_ptr<EnvQueue> q = queue_for(env);
  if (q->inflight++ == 0) uv_ref((uv_handle_t*)q->async);
  Pool& g = pool();
  std::lock_guard<std::mutex> lk(g.mu);
  g.queue.push_back({q, task});
  if (g.idle == 0 && g.threads < kMaxThreads) {
    g.threads++;
    std::thread(thread_main).detach();
  }
  g.cv.notify_one();
}

}  // namespace nsb
