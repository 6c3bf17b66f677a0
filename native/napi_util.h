// Small helpers shared by the files that export thin syscall wrappers to JS.
#pragma once

#include <errno.h>
#include <napi.h>
#include <stdlib.h>
#include <uv.h>

namespace nsb {

// A wrapper's result for JS: the value, or -errno when the call failed (r < 0).
inline Napi::Value syscall_result(const Napi::CallbackInfo& info, long r) {
  return Napi::Number::New(info.Env(), r < 0 ? -errno : r);
}

// Closes a handle allocated with malloc, with libc's free as the close callback rather
// than code of ours: when a worker_thread ends, the loop may run close callbacks after
// that environment's last use of this addon.
inline void close_and_free(uv_handle_t* h) {
  uv_close(h, (uv_close_cb)(void (*)(void*))free);
}

}  // namespace nsb
