// `{ join: target }` on a namespace method: the parent opens each namespace (a pidfd for
// a pid target, so a recycled pid cannot be joined by mistake; the nsfs file otherwise),
// passes the fds to the child, and the child setns()es in the order the kernel needs:
//   user first (it grants the capabilities the other joins are checked against), then
//   ipc, uts, net, cgroup, pid, time, and mnt last (joining a mount namespace changes
//   the root and cwd, and the filesystem steps that follow act inside it).
// A joined pid namespace takes effect for children only, so the program is started
// through one more fork (nsbind's init, which is then not PID 1), as nsenter does. A
// time namespace can only be joined by a process with memory of its own: a sandbox
// that joins one runs its setup in nsbind-init (lib/plan.ts, `setupInInit`).
import { release } from 'node:os';
import { native } from '../binding.js';
import { invalid, systemError } from '../errors.js';
import type { JoinTarget, NamespaceType, SandboxOptions } from '../options.js';
import { Op } from '../plan/layout.js';
import { UNSAFE, unsafeTestBits } from '../unsafe-test.js';
import type { JoinFact, PlanContext } from '../plan/context.js';
import { of } from './of.js';
import { openNamespaceFile, resolveTarget, targetPath, type NamespaceTarget, type ResolvedTarget } from './target.js';
import { cloneFlag, methodOf } from './types.js';

const ENOSYS = 38;
const EINVAL = 22;

/** The order of setns calls in the child. */
export const joinOrder: readonly NamespaceType[] = ['user', 'ipc', 'uts', 'net', 'cgroup', 'pid', 'time', 'mnt'];


/**
 * Check a `join` target now (the pid exists, the file is a namespace of this type) and
 * return it as JSON data: a `SandboxProcess` is stored as its pid, a path or a netns
 * name as written.
 */
export function validateJoin(value: unknown, type: NamespaceType, option: string): JoinTarget {
  const t = resolveTarget(value as NamespaceTarget, type, option);
  if (t.kind === 'pid') return t.pid;
  return value as string;
}

/** pidfd-based setns arrived in Linux 5.8. */
function kernelHasPidfdSetns(): boolean {
  const [major, minor] = release().split('.').map((x) => parseInt(x, 10));
  return major > 5 || (major === 5 && minor >= 8);
}

function describeTarget(t: ResolvedTarget, type: NamespaceType): string {
  return t.kind === 'pid' ? `join ${type} namespace of pid ${t.pid}` : `join ${type} namespace ${t.path}`;
}

/**
 * The resolve half of joining (lib/plan/resolve.ts): each namespace to join, in setns
 * order, checked and opened now; those the process is already in are left out (as
 * nsenter --all skips them: joining our own user namespace again is EINVAL, the others
 * would be no-ops). Opened descriptors are pushed to `transient`.
 */
export function resolveJoins(options: SandboxOptions, transient: number[]): JoinFact[] {
  const ns = options.namespaces ?? {};
  const wanted = joinOrder.filter((t) => (ns[t] || undefined)?.join !== undefined);
  if (wanted.length === 0) return [];
  const b = native();
  const mine = of();
  const pidfds = new Map<number, number>();
  const usePidfd = kernelHasPidfdSetns();
  const out: JoinFact[] = [];
  for (const type of wanted) {
    const option = `${methodOf(type)}.join`;
    const target = resolveTarget((ns[type] || undefined)!.join as NamespaceTarget, type, option);
    const path = targetPath(target, type);
    const id = b.nsStat(path);
    if (typeof id === 'number') {
      throw systemError(-id, { step: describeTarget(target, type), syscall: 'stat', path, option });
    }
    // Ours to compare is what our children would get: for time, time_for_children too.
    const own = type === 'time' ? b.nsStat('/proc/self/ns/time_for_children') : undefined;
    const ours = own === undefined ? mine[type] && [mine[type].inode, mine[type].dev] : typeof own === 'number' ? undefined : own;
    if (ours && id[0] === ours[0] && id[1] === ours[1]) continue;

    let fd: number | undefined;
    // setns() with a pidfd joins the target's own time namespace, not its children's
    // (targetPath): a time join always opens the file, as nsenter does for every type.
    if (target.kind === 'pid' && usePidfd && type !== 'time') {
      fd = pidfds.get(target.pid);
      if (fd === undefined) {
        const r = b.pidfdOpen(target.pid);
        if (r >= 0) {
          fd = r;
          pidfds.set(target.pid, r);
          transient.push(r);
        } else if (r !== -ENOSYS && r !== -EINVAL) {
          // ENOSYS: no pidfd_open (Linux < 5.3); EINVAL: a thread id. The nsfs file serves.
          throw systemError(-r, { step: describeTarget(target, type), syscall: 'pidfd_open', option });
        }
      }
    }
    if (fd === undefined) {
      fd = openNamespaceFile(path, option);
      transient.push(fd);
    }
    out.push({ type, step: describeTarget(target, type), fd });
  }
  return out;
}

/**
 * The join phase of the plan: first ops of the child, from the resolved joins. Returns
 * what the rest of the plan must know: whether the program must be started by the init's
 * fork (a pid namespace was joined).
 */
export function joinPhase(ctx: PlanContext, joins: readonly JoinFact[]): { viaInit: boolean } {
  if (joins.length === 0) return { viaInit: false };
  const { writer: w, request } = ctx;
  request.extraFds ??= [];
  let joinedUser = false;
  let joinedPid = false;

  for (const { type, step, fd } of joins) {
    let index = request.extraFds.indexOf(fd);
    if (index < 0) index = request.extraFds.push(fd) - 1;
    w.op(Op.SETNS, step, { n: [index, cloneFlag(type)] });
    // setns() into a time namespace refuses (EUSERS) a process that shares its memory
    // with another, as the setup child shares the Node process's: nsbind-init joins it.
    // So does a user namespace for a Node process without privileges (plan/takeover.ts).
    if (type === 'time') request.initFrom = 0;
    if (type === 'user' && !ctx.privileged && !(unsafeTestBits & UNSAFE.USER_JOIN_IN_INIT)) request.initFrom = 0;
    if (type === 'user') joinedUser = true;
    if (type === 'pid') joinedPid = true;
  }

  if (joinedUser) {
    // Namespaces this sandbox creates must belong to the user namespace it joined: they
    // are unshared after the join instead of made by clone (which runs before it).
    const later = [...ctx.created].filter((t) => t !== 'user' && t !== 'cgroup');
    for (const t of later) {
      if (t === 'pid' || t === 'time') {
        throw invalid(methodOf(t), `a new ${t} namespace inside a joined user namespace is not supported; join one instead or drop user.join`);
      }
      request.cloneFlags &= ~cloneFlag(t);
    }
    // The veth is made by the parent before the go-ahead, when this child still sits in
    // the caller's network namespace (it unshares its own only after the go-ahead): the
    // sandbox end would land, up and addressed, on the caller's network.
    if (later.includes('net') && ctx.options.namespaces?.net?.veth !== undefined) {
      throw invalid('net.veth', 'a veth for a new network namespace inside a joined user namespace is not supported; let the sandbox make its own user namespace, or join a network namespace that has one');
    }
    const flags = later.reduce((f, t) => f | cloneFlag(t), 0);
    if (flags) w.op(Op.UNSHARE, `new ${later.join(', ')} namespaces`, { n: [flags] });
    // A credential change clears the parent-death signal: arm it again.
    if (ctx.options.dieWithParent !== false) w.op(Op.DIE_WITH_PARENT, 'die with parent');
  }
  return { viaInit: joinedPid };
}
