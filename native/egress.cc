// The parent's side of egress and port forwarding (SPEC 5.1), one JS function each:
//
//   egressSocketpair() -> [fd, fd] | -errno    the channel the setup sends its sockets on
//   egressReceive(fd, max) -> fd[] | -errno    the listening sockets it sent (non-blocking)
//   egressSocketIn(userFd, netFd) -> fd | { errno, sys, step }
//                                              an unconnected TCP socket inside the netns
//
// No policy here: which ports, which destinations, when to close is lib/net/egress/.
#include <errno.h>
#include <fcntl.h>
#include <napi.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helper.h"
#include "plan.h"
#include "sys.h"

namespace nsb {
namespace {

int int_of(const Napi::Value& v, int fallback) {
  return v.IsNumber() ? v.As<Napi::Number>().Int32Value() : fallback;
}

Napi::Value Socketpair(const Napi::CallbackInfo& info) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0) return Napi::Number::New(info.Env(), -errno);
  Napi::Array a = Napi::Array::New(info.Env(), 2);
  a.Set(0u, fds[0]);
  a.Set(1u, fds[1]);
  return a;
}

Napi::Value Receive(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int via = int_of(info[0], -1);
  int max = int_of(info[1], 1);
  Napi::Array out = Napi::Array::New(env);
  uint32_t n = 0;
  // One message per socket, each with one byte: a stream socket never merges two
  // messages' descriptors into one read.
  for (int i = 0; i < max; i++) {
    char byte;
    struct iovec iov = {&byte, 1};
    alignas(struct cmsghdr) char buf[CMSG_SPACE(sizeof(int))];
    struct msghdr m = {};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = buf;
    m.msg_controllen = sizeof buf;
    ssize_t r;
    do r = recvmsg(via, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
      if (n == 0) return Napi::Number::New(env, -errno);
      break;
    }
    if (r == 0) break;
    int fd = -1;
    for (struct cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) memcpy(&fd, CMSG_DATA(c), sizeof fd);
    }
    if (fd >= 0) out.Set(n++, fd);
  }
  return out;
}

struct SocketInJob {
  int userfd;
  int netfd;
  int slot;
  nsb_helper_result res;
};

// Helper child (helper.h rules). Joining the user namespace first is what lets an
// unprivileged caller into a netns its sandbox owns: we hold every capability there.
int socket_in_child(void* p) {
  SocketInJob* j = (SocketInJob*)p;
  long r;
  if (j->userfd >= 0 && (r = nsb_sys(SYS_setns, j->userfd, CLONE_NEWUSER)) < 0) {
    j->res = {NSB_SYS_SETNS, (int32_t)-r, 1};
    return 1;
  }
  if ((r = nsb_sys(SYS_setns, j->netfd, CLONE_NEWNET)) < 0) {
    j->res = {NSB_SYS_SETNS, (int32_t)-r, 2};
    return 1;
  }
  long s = nsb_sys(SYS_socket, AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (s < 0) {
    j->res = {NSB_SYS_SOCKET, (int32_t)-s, 3};
    return 1;
  }
  r = nsb_sys(SYS_dup3, s, j->slot, O_CLOEXEC);
  nsb_sys(SYS_close, s);
  if (r < 0) {
    j->res = {NSB_SYS_DUP3, (int32_t)-r, 4};
    return 1;
  }
  return 0;
}

Napi::Value SocketIn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SocketInJob job = {int_of(info[0], -1), int_of(info[1], -1), open("/dev/null", O_RDONLY | O_CLOEXEC), {0, 0, 0}};
  if (job.slot < 0) job.res = {NSB_SYS_OPEN, errno, 0};
  // CLONE_FILES: the socket lands in our table. No CLONE_FS: setns(CLONE_NEWUSER) wants
  // a process whose filesystem information is its own.
  else if (nsb_run_helper(CLONE_FILES, socket_in_child, &job, &job.res) == 0) return Napi::Number::New(env, job.slot);
  if (job.slot >= 0) close(job.slot);
  Napi::Object o = Napi::Object::New(env);
  o.Set("errno", job.res.err);
  o.Set("sys", job.res.sys);
  o.Set("step", job.res.step);
  return o;
}

}  // namespace

void RegisterEgress(Napi::Env env, Napi::Object exports) {
  exports.Set("egressSocketpair", Napi::Function::New(env, Socketpair));
  exports.Set("egressReceive", Napi::Function::New(env, Receive));
  exports.Set("egressSocketIn", Napi::Function::New(env, SocketIn));
}

}  // namespace nsb
