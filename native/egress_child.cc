// NSB_OP_NET_LISTEN (egress_child.h).
#include "egress_child.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include "interp.h"
#include "sys.h"

namespace {

void zero(void* p, size_t n) {
  char* b = (char*)p;
  for (size_t i = 0; i < n; i++) b[i] = 0;
}

long send_fd(int via, int fd) {
  char byte = 'L';
  struct iovec iov = {&byte, 1};
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(sizeof(int))];
  } c;
  zero(&c, sizeof c);
  struct msghdr m;
  zero(&m, sizeof m);
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = c.buf;
  m.msg_controllen = sizeof c.buf;
  c.h.cmsg_level = SOL_SOCKET;
  c.h.cmsg_type = SCM_RIGHTS;
  c.h.cmsg_len = CMSG_LEN(sizeof(int));
  *(int*)CMSG_DATA(&c.h) = fd;
  long r;
  do r = nsb_sys(SYS_sendmsg, via, NSB_P(&m), MSG_NOSIGNAL);
  while (r == -4 /* EINTR */);
  return r < 0 ? r : 0;
}

}  // namespace

long nsb_net_listen(nsb_interp* it, const nsb_op& op, int* sys) {
  int via = op.n[1] < (uint64_t)it->nextra ? it->extra[op.n[1]] : -1;
  *sys = NSB_SYS_SOCKET;
  long s = nsb_sys(SYS_socket, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return s;
  struct sockaddr_in a;
  zero(&a, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = (uint16_t)(((op.n[0] & 0xff) << 8) | ((op.n[0] >> 8) & 0xff));
  a.sin_addr.s_addr = 0x0100007f;  // 127.0.0.1 in network order (little-endian store)
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  a.sin_port = (uint16_t)op.n[0];
  a.sin_addr.s_addr = 0x7f000001;
#endif
  long r = nsb_sys(SYS_bind, s, NSB_P(&a), sizeof a);
  if (r < 0) {
    *sys = NSB_SYS_BIND;
  } else if ((r = nsb_sys(SYS_listen, s, (long)op.n[2])) < 0) {
    *sys = NSB_SYS_LISTEN;
  } else if ((r = send_fd(via, (int)s)) < 0) {
    *sys = NSB_SYS_SENDMSG;
  }
  nsb_sys(SYS_close, s);
  return r;
}
