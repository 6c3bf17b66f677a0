// The setup window: from the clone of a child that shares the Node process's memory
// (the setup child, a helper) until that child has exec'd or exited. Nothing in any
// sandbox may attach to such a child or open its /proc/PID/mem meanwhile: that would be
// writing into Node (runc's CVE-2016-9962 was this hole). The kernel lets a caller do
// either only when (1) its uid and gid match the target's, or it has CAP_SYS_PTRACE in
// the target's user namespace; (2) the target's memory is dumpable, or the caller has
// CAP_SYS_PTRACE in the user namespace that owns that memory (Node's); and (3) in the
// same user namespace, the target's permitted capabilities are a subset of the caller's.
// nsbind keeps one of them false for every sandbox's program, at every instant:
//   - the setup child never holds fewer capabilities than at its clone: NSB_OP_CAPS
//     leaves its permitted set for the exec to reduce (security_ops.h). A program with
//     no capability, or only those it keeps, fails (3) in the child's user namespace.
//   - it never enters a user namespace other processes live in, and never changes its
//     credentials (which would also clear the memory's dumpable flag: Node's), unless
//     Node is root: lib/plan.ts gives those steps to nsbind-init, which has its own memory.
//   - when Node is root, its memory is not dumpable during the window (this file). A
//     root program without a user namespace is the owner of every user namespace a root
//     Node creates, and an owner holds every capability in it: that passes (1) and (3)
//     for a child in a new user namespace, but not (2). Root Node also writes its
//     children's id maps whatever their owner.
//   - when Node holds no capability (an unprivileged user), the window changes nothing:
//     whatever could pass (1)-(3) against the child could against Node itself, and a
//     non-dumpable memory would make the child's /proc/PID/uid_map root's, so Node could
//     no longer write it.
// The flag is the memory's, shared by concurrent spawns on several threads and the
// helper clones (helper.cc): a process-wide count of open windows; Node's own value is
// set 0 before the first clone (the child is never dumpable for an instant) and restored
// when the count drops to 0. Only 1 is ever set back: 0 needs nothing, and 2
// (fs.suid_dumpable) cannot be set with prctl but already fails (2) like 0 does.
#pragma once

// Before a clone whose child shares Node's memory. `unsafe` (tests only:
// NSB_UNSAFE_SETUP_DUMPABLE) counts the window but leaves the memory dumpable.
void nsb_setup_window_open(bool unsafe = false);
// After that child has its own memory again (it exec'd, or exited and was reaped, or its
// report pipe reached EOF, which it closes only after releasing the memory).
void nsb_setup_window_close();
