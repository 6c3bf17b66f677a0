// The kernel's audit log, read-only: where Landlock's denials are (Linux 6.15+). Three
// calls, no policy (lib/security/landlock-violations.ts decides what to read and whose
// records they are):
//   auditOpen()      a NETLINK_AUDIT socket bound to the read-only multicast group
//                    (AUDIT_NLGRP_READLOG: every record, as auditd gets them; binding
//                    needs CAP_AUDIT_READ), non-blocking: fd or -errno
//   auditRead(fd)    the datagrams waiting on it, until EAGAIN: Buffer[] or -errno
//   auditStatus()    AUDIT_GET: whether audit is enabled (0 off, 1 on, 2 locked), or
//                    -errno (it needs CAP_AUDIT_CONTROL in the initial user namespace)
// None of them changes the audit configuration: nsbind never turns audit on.
#include <errno.h>
#include <linux/audit.h>
#include <linux/netlink.h>
#include <napi.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

Napi::Value AuditOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_AUDIT);
  if (fd < 0) return Napi::Number::New(env, -errno);
  // Records come in bursts (one per denial); a larger buffer loses fewer between reads.
  int size = 1 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  struct sockaddr_nl sa;
  memset(&sa, 0, sizeof sa);
  sa.nl_family = AF_NETLINK;
  sa.nl_groups = 1u << (AUDIT_NLGRP_READLOG - 1);
  if (bind(fd, (struct sockaddr*)&sa, sizeof sa) < 0) {
    int e = errno;
    close(fd);
    return Napi::Number::New(env, -e);
  }
  return Napi::Number::New(env, fd);
}

Napi::Value AuditRead(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  Napi::Array out = Napi::Array::New(env);
  static char buf[16384];  // a record is at most MAX_AUDIT_MESSAGE_LENGTH (8970) bytes
  for (uint32_t n = 0; n < 4096; n++) {
    ssize_t r = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (r < 0) {
      if (errno == EINTR) continue;
      // ENOBUFS: the socket overflowed and records were lost; what follows still reads.
      if (errno == ENOBUFS) continue;
      if (errno == EAGAIN || out.Length() > 0) break;
      return Napi::Number::New(env, -errno);
    }
    out.Set(n, Napi::Buffer<char>::Copy(env, buf, (size_t)r));
  }
  return out;
}

Napi::Value AuditStatus(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT);
  if (fd < 0) return Napi::Number::New(env, -errno);
  struct timeval tv = {1, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  struct nlmsghdr req;
  memset(&req, 0, sizeof req);
  req.nlmsg_len = NLMSG_LENGTH(0);
  req.nlmsg_type = AUDIT_GET;
  req.nlmsg_flags = NLM_F_REQUEST;
  req.nlmsg_seq = 1;
  struct sockaddr_nl kernel;
  memset(&kernel, 0, sizeof kernel);
  kernel.nl_family = AF_NETLINK;
  long result = -EPROTO;
  if (sendto(fd, &req, req.nlmsg_len, 0, (struct sockaddr*)&kernel, sizeof kernel) < 0) {
    result = -errno;
  } else {
    alignas(struct nlmsghdr) char buf[8192];
    for (int tries = 0; tries < 4; tries++) {
      ssize_t r = recv(fd, buf, sizeof buf, 0);
      if (r < 0) {
        result = -errno;
        break;
      }
      struct nlmsghdr* h = (struct nlmsghdr*)buf;
      if (!NLMSG_OK(h, (size_t)r)) break;
      if (h->nlmsg_type == NLMSG_ERROR) {
        struct nlmsgerr* e = (struct nlmsgerr*)NLMSG_DATA(h);
        result = e->error;  // the refusal (EPERM, ECONNREFUSED); 0 is an ack: read on
        if (e->error != 0) break;
        continue;
      }
      if (h->nlmsg_type == AUDIT_GET && h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct audit_status) - 8)) {
        result = ((struct audit_status*)NLMSG_DATA(h))->enabled;
        break;
      }
    }
  }
  close(fd);
  return Napi::Number::New(env, (double)result);
}

}  // namespace

void RegisterAudit(Napi::Env env, Napi::Object exports) {
  exports.Set("auditOpen", Napi::Function::New(env, AuditOpen));
  exports.Set("auditRead", Napi::Function::New(env, AuditRead));
  exports.Set("auditStatus", Napi::Function::New(env, AuditStatus));
}
