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
#include <poll.h>
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

// ptyOpen(cols, rows, nonblocking) -> [master, terminal] (both CLOEXEC), or -errno.
// The master is its own open file (its O_NONBLOCK is not the terminal side's).
Napi::Value PtyOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t cols = info[0].As<Napi::Number>().Uint32Value();
  uint32_t rows = info[1].As<Napi::Number>().Uint32Value();
  int nonblock = info[2].ToBoolean().Value() ? O_NONBLOCK : 0;
  int m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC | nonblock);
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

// ptyWrite(master, buffer, offset) -> bytes written, or -errno (-EAGAIN: the terminal's
// input is full, the program is not reading).
Napi::Value PtyWrite(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  Napi::Buffer<char> b = info[1].As<Napi::Buffer<char>>();
  size_t off = info[2].As<Napi::Number>().Uint32Value();
  if (off > b.Length()) off = b.Length();
  ssize_t n = write(fd, b.Data() + off, b.Length() - off);
  return Napi::Number::New(info.Env(), n < 0 ? -errno : (double)n);
}

// ptyDrain(master) -> [Buffer...]: what the master holds now, read without ever waiting
// (poll with no timeout before each read, whatever the fd's mode: once its terminal side
// is closed a process of the sandbox could open that again and write nothing more).
Napi::Value PtyDrain(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  Napi::Array out = Napi::Array::New(env);
  char buf[65536];
  for (uint32_t i = 0; i < 1024; i++) {  // 64 MiB at most: a writer could keep it full
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 0) != 1 || !(p.revents & POLLIN)) break;
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;  // EIO: the terminal's end
    out.Set(i, Napi::Buffer<char>::Copy(env, buf, (size_t)n));
  }
  return out;
}

}  // namespace

void RegisterPty(Napi::Env env, Napi::Object exports) {
  exports.Set("ptyOpen", Napi::Function::New(env, PtyOpen));
  exports.Set("ptyResize", Napi::Function::New(env, PtyResize));
  exports.Set("ptyDrain", Napi::Function::New(env, PtyDrain));
  exports.Set("ptyWrite", Napi::Function::New(env, PtyWrite));
}

}  // namespace nsb
