// The network functions of the addon: netlink.h and netns.h, one JS function each.
//
// Each returns a Promise and does its work on the libuv threadpool: a netlink request
// waits for the kernel's RTNL lock, which a busy host (namespaces being torn down, a
// routing daemon) can hold for a long while, and that wait must not freeze the event
// loop. Results are numbers (>= 0, or -errno) or, for the steps done in a helper child,
// { errno, sys, step } naming the failed call; lib/net/ turns them into NsbindErrors.
#include "network.h"

#include <errno.h>
#include <sys/socket.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "netlink.h"
#include "netns.h"
#include "plan.h"

namespace nsb {
namespace {

// Runs work() on the threadpool, then resolves with done(env) on the JS thread.
class Task : public Napi::AsyncWorker {
 public:
  Task(Napi::Env env, std::function<void()> work, std::function<Napi::Value(Napi::Env)> done)
      : Napi::AsyncWorker(env, "nsbind:netlink"),
        deferred_(Napi::Promise::Deferred::New(env)),
        work_(std::move(work)),
        done_(std::move(done)) {}
  Napi::Promise promise() { return deferred_.Promise(); }
  void Execute() override { work_(); }
  void OnOK() override {
    Napi::HandleScope scope(Env());
    deferred_.Resolve(done_(Env()));
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::function<void()> work_;
  std::function<Napi::Value(Napi::Env)> done_;
};

Napi::Value queue(Napi::Env env, std::function<void()> work,
                  std::function<Napi::Value(Napi::Env)> done) {
  Task* t = new Task(env, std::move(work), std::move(done));
  Napi::Promise p = t->promise();
  t->Queue();
  return p;
}

// The common case: a call returning a long.
Napi::Value queue_long(Napi::Env env, std::function<long()> call) {
  auto r = std::make_shared<long>(0);
  return queue(
      env, [r, call] { *r = call(); },
      [r](Napi::Env e) { return Napi::Number::New(e, (double)*r); });
}

Napi::Value helper_result(Napi::Env env, long r, const nsb_helper_result& res) {
  if (r >= 0) return Napi::Number::New(env, (double)r);
  Napi::Object o = Napi::Object::New(env);
  o.Set("errno", res.err);
  o.Set("sys", res.sys);
  o.Set("step", res.step);
  return o;
}

int int_of(const Napi::Value& v, int fallback = 0) {
  return v.IsNumber() ? v.As<Napi::Number>().Int32Value() : fallback;
}

std::string string_of(const Napi::Value& v) { return v.IsString() ? v.As<Napi::String>().Utf8Value() : ""; }

// { pid } | { fd } | null -> NsRef.
nl::NsRef ns_of(const Napi::Value& v) {
  nl::NsRef ns;
  if (!v.IsObject()) return ns;
  Napi::Object o = v.As<Napi::Object>();
  ns.pid = int_of(o.Get("pid"), 0);
  ns.fd = int_of(o.Get("fd"), -1);
  return ns;
}

// A link given as an index (number) or a name (string). The name is copied: the
// request runs after this call has returned.
struct LinkArg {
  int index = 0;
  std::string name;
  nl::LinkRef ref() const { return {index, name.empty() ? nullptr : name.c_str()}; }
};

LinkArg link_of(const Napi::Value& v) {
  LinkArg l;
  if (v.IsNumber()) {
    l.index = v.As<Napi::Number>().Int32Value();
  } else {
    l.name = string_of(v);
  }
  return l;
}

std::vector<uint8_t> bytes_of(const Napi::Value& v) {
  if (!v.IsBuffer()) return {};
  auto b = v.As<Napi::Buffer<uint8_t>>();
  return std::vector<uint8_t>(b.Data(), b.Data() + b.Length());
}

int family_of(const Napi::Value& v) { return int_of(v) == 6 ? AF_INET6 : AF_INET; }

// nlOpen(nsFd = -1) -> fd | -errno | { errno, sys, step }
Napi::Value NlOpen(const Napi::CallbackInfo& info) {
  int nsfd = int_of(info[0], -1);
  auto r = std::make_shared<long>(0);
  auto res = std::make_shared<nsb_helper_result>();
  return queue(
      info.Env(),
      [=] {
        *res = {0, 0, 0};
        *r = nsfd < 0 ? nl::open_socket() : nl::open_socket_in(nsfd, res.get());
        if (*r < 0 && res->err == 0) *res = {NSB_SYS_SOCKET, (int32_t)-*r, 0};
      },
      [=](Napi::Env e) { return helper_result(e, *r, *res); });
}

// vethAdd(sock, name, nameNs, peer, peerNs) -> 0 | -errno
Napi::Value VethAdd(const Napi::CallbackInfo& info) {
  int s = int_of(info[0], -1);
  std::string name = string_of(info[1]), peer = string_of(info[3]);
  nl::NsRef a = ns_of(info[2]), b = ns_of(info[4]);
  return queue_long(info.Env(), [=] { return nl::veth_add(s, name.c_str(), a, peer.c_str(), b); });
}

// linkSetNetns(sock, link, ns) -> 0 | -errno
Napi::Value LinkSetNetns(const Napi::CallbackInfo& info) {
  int s = int_of(info[0], -1);
  LinkArg l = link_of(info[1]);
  nl::NsRef to = ns_of(info[2]);
  return queue_long(info.Env(), [=] { return nl::link_set_netns(s, l.ref(), to); });
}

// linkSetUp(sock, link, up) -> 0 | -errno
Napi::Value LinkSetUp(const Napi::CallbackInfo& info) {
  int s = int_of(info[0], -1);
  LinkArg l = link_of(info[1]);
  bool up = info[2].ToBoolean();
  return queue_long(info.Env(), [=] { return nl::link_set_up(s, l.ref(), up); });
}

// linkDel(sock, link) -> 0 | -errno
Napi::Value LinkDel(const Napi::CallbackInfo& info) {
  int s = int_of(info[0], -1);
  LinkArg l = link_of(info[1]);
  return queue_long(info.Env(), [=] { return nl::link_del(s, l.ref()); });
}

// linkIndex(sock, name) -> index | -errno
Napi::Value LinkIndex(const Napi::CallbackInfo& info) {
  int s = int_of(info[0], -1);
  std::string name = string_of(info[1]);
  return queue_long(info.Env(), [=] { return nl::link_index(s, name.c_str()); });
}

// netnsId(sock, nsfd) -> the id the socket's network namespace gives nsfd's, or -errno
// (-ENOENT: none assigned)
Napi::Value NetnsId(const Napi::CallbackInfo& info) {
  int s = int_of(info[0], -1);
  int nsfd = int_of(info[1], -1);
  return queue_long(info.Env(), [=] { return nl::netns_id(s, nsfd); });
}

// linkList(sock) -> [{ index, name, flags, kind }] | -errno
Napi::Value LinkList(const Napi::CallbackInfo& info) {
  int s = int_of(info[0], -1);
  auto r = std::make_shared<long>(0);
  auto links = std::make_shared<std::vector<nl::Link>>();
  return queue(
      info.Env(), [=] { *r = nl::link_list(s, links.get()); },
      [=](Napi::Env e) -> Napi::Value {
        if (*r < 0) return Napi::Number::New(e, (double)*r);
        Napi::Array a = Napi::Array::New(e, links->size());
        for (size_t i = 0; i < links->size(); i++) {
          const nl::Link& l = (*links)[i];
          Napi::Object o = Napi::Object::New(e);
          o.Set("index", l.index);
          o.Set("name", l.name);
          o.Set("flags", (double)l.flags);
          o.Set("kind", l.kind);
          a.Set((uint32_t)i, o);
        }
        return a;
      });
}

// addrAdd(sock, index, family 4|6, address Buffer, prefix, flags) -> 0 | -errno
Napi::Value AddrAdd(const Napi::CallbackInfo& info) {
  int s = int_of(info[0], -1), index = int_of(info[1]), family = family_of(info[2]);
  std::vector<uint8_t> addr = bytes_of(info[3]);
  int prefix = int_of(info[4]);
  uint32_t flags = (uint32_t)int_of(info[5]);
  if (addr.size() != (family == AF_INET6 ? 16u : 4u)) return queue_long(info.Env(), [] { return -EINVAL; });
  return queue_long(info.Env(), [=] { return nl::addr_add(s, index, family, addr.data(), prefix, flags); });
}

// routeAddDefault(sock, family 4|6, gateway Buffer, oif) -> 0 | -errno
Napi::Value RouteAddDefault(const Napi::CallbackInfo& info) {
  int s = int_of(info[0], -1), family = family_of(info[1]);
  std::vector<uint8_t> gw = bytes_of(info[2]);
  int oif = int_of(info[3]);
  if (gw.size() != (family == AF_INET6 ? 16u : 4u)) return queue_long(info.Env(), [] { return -EINVAL; });
  return queue_long(info.Env(), [=] { return nl::route_add_default(s, family, gw.data(), oif); });
}

// netnsAdd(dir, file) -> 0 | { errno, sys, step }
Napi::Value NetnsAdd(const Napi::CallbackInfo& info) {
  std::string dir = string_of(info[0]), file = string_of(info[1]);
  auto r = std::make_shared<long>(0);
  auto res = std::make_shared<nsb_helper_result>();
  return queue(
      info.Env(), [=] { *r = netns_add(dir.c_str(), file.c_str(), res.get()); },
      [=](Napi::Env e) { return helper_result(e, *r, *res); });
}

// The numbers lib/ mirrors (lib/plan/layout.ts, lib/net/netns.ts), for
// test/net/layout.test.ts to compare.
Napi::Object Layout(Napi::Env env) {
  Napi::Object l = Napi::Object::New(env);
  l.Set("STEP_VETH_CREATE", NSB_STEP_VETH_CREATE);
  l.Set("STEP_VETH_PEER", NSB_STEP_VETH_PEER);
  l.Set("STEP_VETH_SANDBOX", NSB_STEP_VETH_SANDBOX);
  l.Set("SYS_RTM_NEWLINK", (int)NSB_SYS_RTM_NEWLINK);
  l.Set("SYS_RTM_GETLINK", (int)NSB_SYS_RTM_GETLINK);
  l.Set("SYS_RTM_SETLINK", (int)NSB_SYS_RTM_SETLINK);
  l.Set("SYS_RTM_NEWADDR", (int)NSB_SYS_RTM_NEWADDR);
  l.Set("SYS_RTM_NEWROUTE", (int)NSB_SYS_RTM_NEWROUTE);
  l.Set("SYS_CLONE", (int)NSB_SYS_CLONE);
  l.Set("SYS_MOUNT", (int)NSB_SYS_MOUNT);
  l.Set("SYS_SETNS", (int)NSB_SYS_SETNS);
  l.Set("SYS_SOCKET", (int)NSB_SYS_SOCKET);
  l.Set("NETNS_SHARE_DIR", (int)NSB_NETNS_SHARE_DIR);
  l.Set("NETNS_BIND_DIR", (int)NSB_NETNS_BIND_DIR);
  l.Set("NETNS_BIND_NS", (int)NSB_NETNS_BIND_NS);
  return l;
}

}  // namespace

void RegisterNetwork(Napi::Env env, Napi::Object exports) {
  exports.Set("networkLayout", Layout(env));
  exports.Set("nlOpen", Napi::Function::New(env, NlOpen));
  exports.Set("vethAdd", Napi::Function::New(env, VethAdd));
  exports.Set("linkSetNetns", Napi::Function::New(env, LinkSetNetns));
  exports.Set("linkSetUp", Napi::Function::New(env, LinkSetUp));
  exports.Set("linkDel", Napi::Function::New(env, LinkDel));
  exports.Set("linkIndex", Napi::Function::New(env, LinkIndex));
  exports.Set("netnsId", Napi::Function::New(env, NetnsId));
  exports.Set("linkList", Napi::Function::New(env, LinkList));
  exports.Set("addrAdd", Napi::Function::New(env, AddrAdd));
  exports.Set("routeAddDefault", Napi::Function::New(env, RouteAddDefault));
  exports.Set("netnsAdd", Napi::Function::New(env, NetnsAdd));
}

}  // namespace nsb
