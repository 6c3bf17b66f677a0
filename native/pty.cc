// Pseudo-terminals for spawn({ pty }): the parent opens the pair, the sandbox gets the
// terminal side as its stdio and makes it its controlling terminal (NSB_OP_SETCTTY, in
// the child). No policy here: sizes come from TypeScript, errors go back as -errno.
//
// The terminal side is opened through the master (TIOCGPTPEER, Linux 4.13) rather than
// by the name /dev/pts/N: a name can be raced or resolved in another devpts instance
// (a container's), a descriptor cannot.
#include "pty.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "napi_util.h"

namespace nsb {
namespace {

bool set_size(int fd, uint32_t cols, uint32_t rows) {
  struct winsize ws = {};
  ws.ws_col = (unsigned short)cols;
  ws.ws_row = (unsigned short)rows;
  return ioctl(fd, TIOCSWINSZ, &ws) == 0;
}

// ptyOpen(cols, rows) -> [master, terminal] (both CLOEXEC), or -errno.
Napi::Value PtyOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t cols = info[0].As<Napi::Number>().Uint32Value();
  uint32_t rows = info[1].As<Napi::Number>().Uint32Value();
  // The master non-blocking (its own open file, not shared with the terminal side): the
  // event loop must never wait on it, neither writing input the program does not read
  // nor reading the rest of the output at the end (lib/pty.ts).
  int m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
  if (m < 0) return Napi::Number::New(env, -errno);
  int unlock = 0;
  int t = -1;
  if (ioctl(m, TIOCSPTLCK, &unlock) == 0) t = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (t < 0 || !set_size(m, cols, rows)) {
    int e = errno;
    if (t >= 0) close(t);
    close(m);
    return Napi::Number::New(env, -e);
  }
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, Napi::Number::New(env, m));
  out.Set(1u, Napi::Number::New(env, t));
  return out;
}

// ptyResize(master, cols, rows) -> 0 or -errno; the kernel sends SIGWINCH to the
// terminal's foreground process group.
Napi::Value PtyResize(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  bool ok = set_size(fd, info[1].As<Napi::Number>().Uint32Value(), info[2].As<Napi::Number>().Uint32Value());
  return Napi::Number::New(info.Env(), ok ? 0 : -errno);
}

}  // namespace

void RegisterPty(Napi::Env env, Napi::Object exports) {
  exports.Set("ptyOpen", Napi::Function::New(env, PtyOpen));
  exports.Set("ptyResize", Napi::Function::New(env, PtyResize));
}

}  // namespace nsb
