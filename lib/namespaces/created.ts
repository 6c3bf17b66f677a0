// Which namespaces a sandbox creates, after what its other options imply. Read by the
// compiler, by the optional-namespace probe and by degraded .files(), before any plan exists.
import { kindOf } from '../fs/kinds.js';
import type { NamespaceType, SandboxOptions } from '../options.js';

export function isPrivileged(): boolean {
  return process.geteuid?.() === 0;
}

/**
 * The namespace types this sandbox creates, after what other options imply: filesystem
 * steps need a mount namespace, `.proc()` a pid namespace, and every sandbox a user
 * namespace (SPEC 2.1: root's and an unprivileged caller's bare `sandbox()` included), unless
 * it says `.user(false)` or joins one. A sandbox that joins other namespaces and says
 * nothing of users gets none: a new user namespace would own none of them, and joining
 * needs capabilities over their owner.
 */
export function createdNamespaces(options: SandboxOptions): Set<NamespaceType> {
  const out = new Set<NamespaceType>();
  const ns = options.namespaces ?? {};
  for (const [type, o] of Object.entries(ns) as [NamespaceType, { join?: unknown } | undefined][]) {
    if (o && o.join === undefined) out.add(type);
  }
  const fs = options.fs ?? [];
  if (fs.length > 0 && ns.mnt?.join === undefined) out.add('mnt');
  // A procfs shows the pid namespace's processes, an mqueue mount the IPC namespace's
  // queues: the sandbox's own, not the host's (lib/fs/kinds.ts `implies`).
  for (const s of fs) {
    const implied = kindOf(s.op)?.implies;
    if (implied && (ns[implied] || undefined)?.join === undefined) out.add(implied);
  }
  const user = ns.user;
  const joinsOthers = Object.values(ns).some((o) => o && o.join !== undefined);
  if (user !== false && user?.join === undefined && (user !== undefined || !joinsOthers)) out.add('user');
  return out;
}
