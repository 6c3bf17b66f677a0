// See netlink.h. Requests are small, fixed-size and built on the stack; replies are read
// until the kernel's ack (NLMSG_ERROR, 0 on success) or, for dumps, NLMSG_DONE.
#include "netlink.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/net_namespace.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sched.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>

#include "plan.h"
#include "sys.h"

#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

namespace nsb {
namespace nl {
namespace {

std::atomic<uint32_t> g_seq{1};

// One request: header, fixed part, attributes. 1 KiB holds the largest (a veth pair:
// two names, two namespace references, three nests).
class Msg {
 public:
  Msg(uint16_t type, uint16_t flags) {
    memset(buf_, 0, sizeof buf_);
    hdr()->nlmsg_len = NLMSG_HDRLEN;
    hdr()->nlmsg_type = type;
    hdr()->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags);
  }
  nlmsghdr* hdr() { return (nlmsghdr*)buf_; }
  bool ok() const { return !overflow_; }

  // Appends a fixed-size part (ifinfomsg, ifaddrmsg, rtmsg) and returns it, zeroed.
  template <class T>
  T* put() {
    return (T*)append(nullptr, sizeof(T));
  }
  void attr(uint16_t type, const void* data, size_t len) {
    rtattr* a = (rtattr*)append(nullptr, RTA_LENGTH(len));
    if (!a) return;
    a->rta_type = type;
    a->rta_len = (uint16_t)RTA_LENGTH(len);
    if (len) memcpy(RTA_DATA(a), data, len);
  }
  void attr_u32(uint16_t type, uint32_t v) { attr(type, &v, sizeof v); }
  void attr_str(uint16_t type, const char* s) { attr(type, s, strlen(s) + 1); }
  rtattr* nest(uint16_t type) {
    rtattr* a = (rtattr*)append(nullptr, RTA_LENGTH(0));
    if (a) a->rta_type = type;
    return a;
  }
  void end(rtattr* a) {
    if (a) a->rta_len = (uint16_t)((char*)buf_ + hdr()->nlmsg_len - (char*)a);
  }

 private:
  void* append(const void* data, size_t len) {
    size_t at = NLMSG_ALIGN(hdr()->nlmsg_len);
    if (overflow_ || at + RTA_ALIGN(len) > sizeof buf_) {
      overflow_ = true;
      return nullptr;
    }
    if (data) memcpy(buf_ + at, data, len);
    hdr()->nlmsg_len = (uint32_t)(at + RTA_ALIGN(len));
    return buf_ + at;
  }

  alignas(NLMSG_ALIGNTO) char buf_[1024];
  bool overflow_ = false;
};

void put_ns(Msg& m, NsRef ns) {
  if (ns.fd >= 0) {
    m.attr_u32(IFLA_NET_NS_FD, (uint32_t)ns.fd);
  } else if (ns.pid > 0) {
    m.attr_u32(IFLA_NET_NS_PID, (uint32_t)ns.pid);
  }
}

// Sends m and reads replies for it. Each reply other than the final ack or NLMSG_DONE is
// given to on_reply. Returns the kernel's verdict: 0, or -errno.
template <class F>
long request(int s, Msg& m, F on_reply) {
  if (!m.ok()) return -ENAMETOOLONG;  // only names can make a request outgrow the buffer
  uint32_t seq = g_seq.fetch_add(1);
  m.hdr()->nlmsg_seq = seq;
  sockaddr_nl kernel;
  memset(&kernel, 0, sizeof kernel);
  kernel.nl_family = AF_NETLINK;
  ssize_t w;
  do w = sendto(s, m.hdr(), m.hdr()->nlmsg_len, 0, (sockaddr*)&kernel, sizeof kernel);
  while (w < 0 && errno == EINTR);
  if (w < 0) return -errno;

  // A dump part is at most ~32 KiB (the kernel sizes it to what we can receive).
  std::vector<char> buf(64 * 1024);
  for (;;) {
    ssize_t n;
    do n = recv(s, buf.data(), buf.size(), 0);
    while (n < 0 && errno == EINTR);
    if (n < 0) return -errno;
    if (n == 0) return -EPROTO;
    int len = (int)n;
    for (nlmsghdr* h = (nlmsghdr*)buf.data(); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_seq != seq) continue;  // a late reply to an earlier, abandoned request
      if (h->nlmsg_type == NLMSG_ERROR) {
        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(int))) return -EPROTO;
        return ((nlmsgerr*)NLMSG_DATA(h))->error;
      }
      if (h->nlmsg_type == NLMSG_DONE) {
        // A dump that failed midway says so here.
        if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(int))) {
          int e = *(int*)NLMSG_DATA(h);
          if (e < 0) return e;
        }
        return 0;
      }
      on_reply(h);
    }
  }
}

long request(int s, Msg& m) {
  return request(s, m, [](nlmsghdr*) {});
}

void put_link(Msg& m, ifinfomsg* ifi, LinkRef link) {
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = link.index;
  // Index 0: the kernel finds the link by IFLA_IFNAME, in the same request, so there is
  // no window between looking the name up and acting on it.
  if (link.index == 0 && link.name) m.attr_str(IFLA_IFNAME, link.name);
}

}  // namespace

int open_socket() {
  int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (s < 0) return -errno;
  // Acks without a copy of the request: smaller replies, nothing we would read.
  int one = 1;
  setsockopt(s, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  return s;
}

namespace {

struct OpenInJob {
  int nsfd;
  int slot;  // an fd of ours the socket replaces (dup3), so the number is known beforehand
  nsb_helper_result res;
};

// Child side (helper.h rules): raw syscalls only.
int open_in_child(void* p) {
  OpenInJob* j = (OpenInJob*)p;
  long r = nsb_sys(SYS_setns, j->nsfd, CLONE_NEWNET);
  if (r < 0) {
    j->res = {NSB_SYS_SETNS, (int32_t)-r, 0};
    return 1;
  }
  long s = nsb_sys(SYS_socket, AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (s < 0) {
    j->res = {NSB_SYS_SOCKET, (int32_t)-s, 0};
    return 1;
  }
  // CLONE_FILES: our descriptor table is the parent's, so this replaces its slot.
  r = nsb_sys(SYS_dup3, s, j->slot, O_CLOEXEC);
  nsb_sys(SYS_close, s);
  if (r < 0) {
    j->res = {NSB_SYS_DUP3, (int32_t)-r, 0};
    return 1;
  }
  return 0;
}

}  // namespace

int open_socket_in(int nsfd, nsb_helper_result* res) {
  *res = {0, 0, 0};
  // Reserve the number the socket will have: a child cannot return an fd any other way
  // without a socketpair and SCM_RIGHTS.
  OpenInJob job = {nsfd, open("/dev/null", O_RDONLY | O_CLOEXEC), {0, 0, 0}};
  if (job.slot < 0) {
    *res = {NSB_SYS_OPEN, errno, 0};
    return -res->err;
  }
  long r = nsb_run_helper(CLONE_FILES, open_in_child, &job, &job.res);
  if (r != 0) {
    close(job.slot);
    *res = job.res;
    return -job.res.err;
  }
  int one = 1;
  setsockopt(job.slot, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  return job.slot;
}

long veth_add(int s, const char* name, NsRef name_ns, const char* peer, NsRef peer_ns) {
  Msg m(RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
  m.put<ifinfomsg>()->ifi_family = AF_UNSPEC;
  m.attr_str(IFLA_IFNAME, name);
  put_ns(m, name_ns);
  rtattr* info = m.nest(IFLA_LINKINFO);
  m.attr_str(IFLA_INFO_KIND, "veth");
  rtattr* data = m.nest(IFLA_INFO_DATA);
  rtattr* p = m.nest(VETH_INFO_PEER);
  ifinfomsg* pi = m.put<ifinfomsg>();  // the peer's own ifinfomsg comes first
  if (pi) pi->ifi_family = AF_UNSPEC;
  m.attr_str(IFLA_IFNAME, peer);
  put_ns(m, peer_ns);
  m.end(p);
  m.end(data);
  m.end(info);
  return request(s, m);
}

long link_set_netns(int s, LinkRef link, NsRef to) {
  Msg m(RTM_SETLINK, NLM_F_ACK);
  put_link(m, m.put<ifinfomsg>(), link);
  put_ns(m, to);
  return request(s, m);
}

long link_set_up(int s, LinkRef link, bool up) {
  Msg m(RTM_SETLINK, NLM_F_ACK);
  ifinfomsg* ifi = m.put<ifinfomsg>();
  put_link(m, ifi, link);
  ifi->ifi_change = IFF_UP;
  ifi->ifi_flags = up ? IFF_UP : 0;
  return request(s, m);
}

long link_del(int s, LinkRef link) {
  Msg m(RTM_DELLINK, NLM_F_ACK);
  put_link(m, m.put<ifinfomsg>(), link);
  return request(s, m);
}

long link_index(int s, const char* name) {
  Msg m(RTM_GETLINK, NLM_F_ACK);
  m.put<ifinfomsg>()->ifi_family = AF_UNSPEC;
  m.attr_str(IFLA_IFNAME, name);
  uint32_t mask = RTEXT_FILTER_SKIP_STATS;  // only the index is wanted
  m.attr(IFLA_EXT_MASK, &mask, sizeof mask);
  int index = 0;
  long r = request(s, m, [&](nlmsghdr* h) {
    if (h->nlmsg_type == RTM_NEWLINK && h->nlmsg_len >= NLMSG_LENGTH(sizeof(ifinfomsg)))
      index = ((ifinfomsg*)NLMSG_DATA(h))->ifi_index;
  });
  if (r < 0) return r;
  return index > 0 ? index : -ENODEV;
}

long netns_id(int s, int nsfd) {
  Msg m(RTM_GETNSID, NLM_F_ACK);
  m.put<rtgenmsg>()->rtgen_family = AF_UNSPEC;
  m.attr_u32(NETNSA_FD, (uint32_t)nsfd);
  bool seen = false;
  int32_t id = -1;
  long r = request(s, m, [&](nlmsghdr* h) {
    if (h->nlmsg_type != RTM_NEWNSID || h->nlmsg_len < NLMSG_LENGTH(NLMSG_ALIGN(sizeof(rtgenmsg)))) return;
    int len = (int)(h->nlmsg_len - NLMSG_LENGTH(NLMSG_ALIGN(sizeof(rtgenmsg))));
    for (rtattr* a = (rtattr*)((char*)NLMSG_DATA(h) + NLMSG_ALIGN(sizeof(rtgenmsg))); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
      if (a->rta_type == NETNSA_NSID && RTA_PAYLOAD(a) >= sizeof(int32_t)) {
        memcpy(&id, RTA_DATA(a), sizeof id);
        seen = true;
      }
    }
  });
  if (r < 0) return r;
  if (!seen) return -EPROTO;
  return id < 0 ? -ENOENT : id;  // NETNSA_NSID_NOT_ASSIGNED
}

long link_list(int s, std::vector<Link>* out) {
  Msg m(RTM_GETLINK, NLM_F_DUMP);
  m.put<ifinfomsg>()->ifi_family = AF_UNSPEC;
  uint32_t mask = RTEXT_FILTER_SKIP_STATS;
  m.attr(IFLA_EXT_MASK, &mask, sizeof mask);
  return request(s, m, [&](nlmsghdr* h) {
    if (h->nlmsg_type != RTM_NEWLINK || h->nlmsg_len < NLMSG_LENGTH(sizeof(ifinfomsg))) return;
    ifinfomsg* ifi = (ifinfomsg*)NLMSG_DATA(h);
    Link l{ifi->ifi_index, ifi->ifi_flags, "", ""};
    int len = (int)IFLA_PAYLOAD(h);
    for (rtattr* a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
      if (a->rta_type == IFLA_IFNAME) {
        l.name.assign((const char*)RTA_DATA(a), strnlen((const char*)RTA_DATA(a), RTA_PAYLOAD(a)));
      } else if (a->rta_type == IFLA_LINKINFO) {
        int ilen = (int)RTA_PAYLOAD(a);
        for (rtattr* b = (rtattr*)RTA_DATA(a); RTA_OK(b, ilen); b = RTA_NEXT(b, ilen)) {
          if (b->rta_type == IFLA_INFO_KIND)
            l.kind.assign((const char*)RTA_DATA(b), strnlen((const char*)RTA_DATA(b), RTA_PAYLOAD(b)));
        }
      }
    }
    out->push_back(std::move(l));
  });
}

long addr_add(int s, int index, int family, const uint8_t* addr, int prefix, uint32_t flags) {
  Msg m(RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
  ifaddrmsg* ifa = m.put<ifaddrmsg>();
  size_t len = family == AF_INET6 ? 16 : 4;
  ifa->ifa_family = (uint8_t)family;
  ifa->ifa_prefixlen = (uint8_t)prefix;
  ifa->ifa_flags = (uint8_t)flags;
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  ifa->ifa_index = (uint32_t)index;
  // IFA_LOCAL is the interface's own address; IFA_ADDRESS the same on a broadcast link
  // (it differs only for point-to-point peers), as `ip addr add` sends it.
  m.attr(IFA_LOCAL, addr, len);
  m.attr(IFA_ADDRESS, addr, len);
  if (flags > 0xff) m.attr_u32(IFA_FLAGS, flags);
  return request(s, m);
}

long route_add_default(int s, int family, const uint8_t* gw, int oif) {
  Msg m(RTM_NEWROUTE, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
  rtmsg* rt = m.put<rtmsg>();
  rt->rtm_family = (uint8_t)family;
  rt->rtm_dst_len = 0;  // default
  rt->rtm_table = RT_TABLE_MAIN;
  rt->rtm_protocol = RTPROT_BOOT;
  rt->rtm_scope = RT_SCOPE_UNIVERSE;
  rt->rtm_type = RTN_UNICAST;
  m.attr(RTA_GATEWAY, gw, family == AF_INET6 ? 16 : 4);
  if (oif > 0) m.attr_u32(RTA_OIF, (uint32_t)oif);
  return request(s, m);
}

}  // namespace nl
}  // namespace nsb
