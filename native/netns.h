// Named network namespaces, as iproute2 keeps them: a bind mount of a namespace's nsfs
// file on an empty file in a shared /run/netns.
#pragma once

#include "helper.h"

namespace nsb {

// Steps of netns_add, for res->step (lib/net/netns.ts names them).
enum nsb_netns_step : int32_t {
  NSB_NETNS_SHARE_DIR = 1,  // mount --make-rshared DIR
  NSB_NETNS_BIND_DIR = 2,   // mount --rbind DIR DIR (DIR was not a mount point yet)
  NSB_NETNS_BIND_NS = 3,    // mount --bind /proc/self/ns/net FILE in a new netns
};

// In a helper child cloned with CLONE_NEWNET: makes dir a shared mount (binding it onto
// itself first if it is not a mount point, as `ip netns add` does, so that namespaces
// mounted there are seen from every mount namespace that has a slave or shared copy),
// then binds the child's new network namespace onto file (which must exist). The
// namespace then lives as long as the mount. Returns 0 or -errno with *res filled.
long netns_add(const char* dir, const char* file, nsb_helper_result* res);

}  // namespace nsb
