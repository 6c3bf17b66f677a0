// Parent side of a spawn (spawn.cc) and the JS handle of a running sandbox.
#pragma once

#include <napi.h>
#include <uv.h>

namespace nsb {

// JS: binding.spawn(request, process) -> { fds } ; then process.onspawn({pid} | {op, sys,
// errno}) once the program runs or setup failed, and process.onexit(result) at the end.
Napi::Value Spawn(const Napi::CallbackInfo& info);

// SIGKILL through the pidfd, reap, close it.
void kill_and_reap(int pidfd);

class Process : public Napi::ObjectWrap<Process> {
 public:
  static Napi::Object Init(Napi::Env env, Napi::Object exports);
  static Napi::FunctionReference* ctor;
  explicit Process(const Napi::CallbackInfo& info);
  ~Process() override;

  // Called on the JS thread once the program runs: start watching the pidfd. `token`:
  // what the init's records carry (plan.h nsb_report).
  void Started(Napi::Env env, int pidfd, int report_fd, int32_t token, bool check_token);
  // Kills and reaps the sandbox and releases the poll handle (environment teardown).
  void Abandon();

 private:
  Napi::Value Kill(const Napi::CallbackInfo& info);
  Napi::Value Ref(const Napi::CallbackInfo& info);
  Napi::Value Unref(const Napi::CallbackInfo& info);
  static void OnReadable(uv_poll_t* h, int status, int events);

  int pidfd_ = -1;
  int report_fd_ = -1;
  int32_t token_ = 0;
  bool check_token_ = true;
  bool exited_ = false;
  bool refd_ = true;
  uv_poll_t* poll_ = nullptr;
  Napi::ObjectReference self_;
};

}  // namespace nsb
