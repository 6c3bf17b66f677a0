// See veth.h.
#include "veth.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_addr.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netlink.h"
#include "plan.h"

namespace nsb {

void ParseVeth(const Napi::Value& v, VethSetup* out) {
  if (!v.IsObject()) return;
  Napi::Object o = v.As<Napi::Object>();
  auto str = [&](const char* k) { return o.Get(k).IsString() ? o.Get(k).As<Napi::String>().Utf8Value() : std::string(); };
  auto num = [&](const char* k, int d) { return o.Get(k).IsNumber() ? o.Get(k).As<Napi::Number>().Int32Value() : d; };
  auto bytes = [&](const char* k, uint8_t* dst) {
    if (!o.Get(k).IsBuffer()) return false;
    auto b = o.Get(k).As<Napi::Buffer<uint8_t>>();
    if (b.Length() != 4 && b.Length() != 16) return false;
    memcpy(dst, b.Data(), b.Length());
    return true;
  };
  out->enabled = true;
  out->name = str("name");
  out->peer = str("peer");
  out->peer_netns = str("peerNetns");
  out->family = num("family", 4);
  out->prefix = bytes("address", out->address) ? num("prefix", -1) : -1;
  out->peer_prefix = bytes("peerAddress", out->peer_address) ? num("peerPrefix", -1) : -1;
  out->route = o.Get("route").ToBoolean() && out->prefix >= 0 && out->peer_prefix >= 0;
}

namespace {

int af(int family) { return family == 6 ? AF_INET6 : AF_INET; }
// IPv6 addresses usable at once: duplicate address detection would hold them
// "tentative" for a second or more after the program starts.
uint32_t addr_flags(int family) { return family == 6 ? IFA_F_NODAD : 0; }

// A socket in the namespace of a file (or of a pid's /proc entry).
int socket_in_file(const std::string& path, int* sys) {
  // O_NONBLOCK | O_NOCTTY: peerNetns is a path the user gave; a FIFO must not hang us.
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    *sys = NSB_SYS_OPEN;
    return -errno;
  }
  nsb_helper_result res;
  int s = nl::open_socket_in(fd, &res);
  close(fd);
  if (s < 0) *sys = res.sys;
  return s;
}

long fail(int* step, int* sys, int st, int sy, long r) {
  *step = st;
  *sys = sy;
  return r;
}

}  // namespace

long veth_setup(VethSetup* v, int pid, int* step, int* sys) {
  long r;
  // The other end's namespace: the caller's (a socket made on this thread is in the
  // Node process's namespace: no thread of ours ever changes it), or peerNetns.
  int s = v->peer_netns.empty() ? nl::open_socket() : socket_in_file(v->peer_netns, sys);
  if (s < 0) {
    if (v->peer_netns.empty()) *sys = NSB_SYS_SOCKET;
    *step = NSB_STEP_VETH_CREATE;
    return s;
  }
  v->sock = s;
  // One request makes both ends, the sandbox end directly in the child's namespace:
  // nothing of the sandbox's ever sits in the other namespace, and a taken name fails
  // the whole request (EEXIST) with nothing created.
  nl::NsRef child;
  child.pid = pid;
  r = nl::veth_add(s, v->peer.c_str(), nl::NsRef(), v->name.c_str(), child);
  if (r < 0) return fail(step, sys, NSB_STEP_VETH_CREATE, NSB_SYS_RTM_NEWLINK, r);
  r = nl::link_index(s, v->peer.c_str());
  if (r < 0) return fail(step, sys, NSB_STEP_VETH_CREATE, NSB_SYS_RTM_GETLINK, r);
  v->peer_index = (int)r;

  if (v->peer_prefix >= 0 &&
      (r = nl::addr_add(s, v->peer_index, af(v->family), v->peer_address, v->peer_prefix,
                        addr_flags(v->family))) < 0)
    return fail(step, sys, NSB_STEP_VETH_PEER, NSB_SYS_RTM_NEWADDR, r);
  nl::LinkRef peer;
  peer.index = v->peer_index;
  if ((r = nl::link_set_up(s, peer, true)) < 0)
    return fail(step, sys, NSB_STEP_VETH_PEER, NSB_SYS_RTM_SETLINK, r);

  int ss = socket_in_file("/proc/" + std::to_string(pid) + "/ns/net", sys);
  if (ss < 0) return fail(step, sys, NSB_STEP_VETH_SANDBOX, *sys, ss);
  r = nl::link_index(ss, v->name.c_str());
  int index = (int)r;
  if (r < 0) {
    *sys = NSB_SYS_RTM_GETLINK;
  } else if (v->prefix >= 0 &&
             (r = nl::addr_add(ss, index, af(v->family), v->address, v->prefix, addr_flags(v->family))) < 0) {
    *sys = NSB_SYS_RTM_NEWADDR;
  } else {
    nl::LinkRef me;
    me.index = index;
    // Up before the route: the kernel accepts a gateway only on a link that is up.
    if ((r = nl::link_set_up(ss, me, true)) < 0) {
      *sys = NSB_SYS_RTM_SETLINK;
    } else if (v->route &&
               (r = nl::route_add_default(ss, af(v->family), v->peer_address, index)) < 0) {
      *sys = NSB_SYS_RTM_NEWROUTE;
    }
  }
  close(ss);
  if (r < 0) *step = NSB_STEP_VETH_SANDBOX;
  return r < 0 ? r : 0;
}

void veth_done(VethSetup* v, bool failed) {
  if (!v->enabled) return;
  // Deleting one end deletes the pair. The kernel would do it too once the child's
  // namespace is freed, but that happens later, from a workqueue.
  if (failed && v->sock >= 0 && v->peer_index > 0) {
    nl::LinkRef peer;
    peer.index = v->peer_index;
    nl::link_del(v->sock, peer);
    v->peer_index = 0;
  }
  if (v->sock >= 0) close(v->sock);
  v->sock = -1;
}

}  // namespace nsb
