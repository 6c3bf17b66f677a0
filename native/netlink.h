// A small rtnetlink client: the operations nsbind needs on links, addresses and routes,
// one function each. No policy: each returns 0 (or a count, an index, an fd) or -errno,
// exactly what the kernel said; lib/net/ decides what to ask and formats the errors.
//
// Messages are built here in C++ (not in TypeScript) because the parent side of a spawn
// (spawn.cc) configures a sandbox's veth on a threadpool thread, between clone and the
// go-ahead, where there is no JS to build them.
//
// A netlink socket talks to the network namespace it was *created* in, whichever thread
// later uses it. open_socket_in() creates one inside another namespace from a helper
// child (helper.h), so the Node process itself never changes namespace.
//
// A socket is not safe for concurrent requests (replies would interleave): use one per
// sequence of operations.
#pragma once

#include <stdint.h>

#include <string>
#include <vector>

#include "helper.h"

namespace nsb {
namespace nl {

// Where a link goes: the network namespace of a process, or of an nsfs file descriptor
// (/proc/PID/ns/net, /run/netns/NAME). Neither set: where the socket is.
struct NsRef {
  int pid = 0;
  int fd = -1;
};

// A link by index, or by name when index is 0.
struct LinkRef {
  int index = 0;
  const char* name = nullptr;
};

struct Link {
  int index;
  unsigned flags;  // IFF_*
  std::string name;
  std::string kind;  // IFLA_INFO_KIND ("veth", "bridge", ...); empty for plain devices
};

// A NETLINK_ROUTE socket (CLOEXEC) in the calling thread's network namespace.
int open_socket();

// The same, created inside the network namespace of nsfd. Returns the fd, or -errno
// with *res saying which step failed (NSB_SYS_CLONE, NSB_SYS_SETNS, NSB_SYS_SOCKET...).
int open_socket_in(int nsfd, nsb_helper_result* res);

// ip link add NAME [netns A] type veth peer name PEER [netns B]. NLM_F_EXCL: an
// existing name is EEXIST and nothing is created (the kernel registers both ends or none).
long veth_add(int s, const char* name, NsRef name_ns, const char* peer, NsRef peer_ns);

// ip link set LINK netns NS.
long link_set_netns(int s, LinkRef link, NsRef to);

// ip link set LINK up|down.
long link_set_up(int s, LinkRef link, bool up);

// ip link del LINK.
long link_del(int s, LinkRef link);

// The index of the link called name, or -ENODEV.
long link_index(int s, const char* name);

// ip netns list-id for one namespace: the id the socket's network namespace gives the one
// behind nsfd (lsns's NETNSID), or -ENOENT when it has none assigned.
long netns_id(int s, int nsfd);

// ip link show: every link of the socket's namespace.
long link_list(int s, std::vector<Link>* out);

// ip addr add ADDR/PREFIX dev INDEX; family AF_INET (addr: 4 bytes) or AF_INET6 (16);
// flags: IFA_F_* (IFA_F_NODAD skips IPv6 duplicate address detection).
long addr_add(int s, int index, int family, const uint8_t* addr, int prefix, uint32_t flags);

// ip route add default via GW [dev OIF] (main table); oif 0 lets the kernel pick.
long route_add_default(int s, int family, const uint8_t* gw, int oif);

}  // namespace nl
}  // namespace nsb
