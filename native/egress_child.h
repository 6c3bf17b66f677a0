// The sandbox side of egress and `expose` (SPEC 5.1): a listening socket made inside the
// sandbox's network namespace, before the program runs, and handed to the Node process.
//
// Why the setup makes it and not the parent: an unprivileged caller cannot setns() into
// the sandbox's namespaces from Node (and must not: Node is multithreaded). The setup
// is already inside; it listens, so the port is ready before the program's first
// connect, and sends the socket over a socketpair with SCM_RIGHTS.
#pragma once

#include "plan.h"

struct nsb_interp;

// NSB_OP_NET_LISTEN (rules of interp.h: raw syscalls only). Returns 0 or -errno, with
// the failed call in *sys.
long nsb_net_listen(nsb_interp* it, const nsb_op& op, int* sys);
