// The parent's side of .net({ veth }): done on the spawn thread (spawn.cc's do_spawn)
// after the clone and before the go-ahead, so the program starts with its network ready.
//
// Why the parent and not plan ops in the child: the pair has to be created from the
// other end's namespace anyway (the child cannot reach the host's), and the sandbox end
// is then configured through a socket opened inside the child's namespace (netlink.h),
// with the same code and the same error reports. The child stays a plain plan walker.
#pragma once

#include <napi.h>
#include <stdint.h>

#include <string>

namespace nsb {

struct VethSetup {
  bool enabled = false;
  std::string name;        // the sandbox end, inside the new namespace
  std::string peer;        // the other end
  std::string peer_netns;  // the other end's namespace file; empty: the caller's namespace
  int family = 0;          // 4 or 6 (both addresses have the same family)
  uint8_t address[16] = {};
  int prefix = -1;         // < 0: the sandbox end gets no address
  uint8_t peer_address[16] = {};
  int peer_prefix = -1;    // < 0: the other end gets no address
  bool route = false;      // default route in the sandbox via peer_address

  // Out: the other end's index (the pair's handle for removal) and a socket in its
  // namespace, kept until the spawn's outcome is known.
  int peer_index = 0;
  int sock = -1;
};

// Reads the request's `veth` object (lib/net/veth.ts builds it).
void ParseVeth(const Napi::Value& v, VethSetup* out);

// Creates and configures the pair for the child `pid`, which waits for its go-ahead.
// Returns 0, or -errno with *step (NSB_STEP_VETH_*) and *sys (NSB_SYS_*) set. Either
// way, veth_done() follows: on failure it deletes the pair if it was created.
long veth_setup(VethSetup* v, int pid, int* step, int* sys);

// After the spawn's outcome: deletes the pair if the sandbox failed to start, and closes
// the socket. A sandbox that started has its pair removed by lib/net/veth.ts at its end.
void veth_done(VethSetup* v, bool failed);

}  // namespace nsb
