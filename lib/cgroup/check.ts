// The cgroup part of `doctor()` (SPEC section 7): can `.limits()` work here, and if not,
// what to change. It looks without creating anything.
import { accessSync, constants as fsConstants } from 'node:fs';
import { delegateHowTo, systemdRuns } from './hints.js';
import { currentLayout, type CgroupLayout } from './layout.js';

/** `doctor().cgroup`. */
export interface CgroupCheck {
  ok: boolean;
  reason?: string;
  fix?: string;
  /** 2 pure v2, 1 v1 only, 'hybrid' v1 controllers plus a cgroup2 mount. */
  version: 1 | 2 | 'hybrid';
  /** Where sandbox cgroups go: our own cgroup's directory in the hierarchy limits use. */
  path?: string;
}

const LIMIT_CONTROLLERS = ['memory', 'pids', 'cpu'];

function isWritable(dir: string): boolean {
  try {
    accessSync(dir, fsConstants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether sandbox cgroups with memory, pids and cpu limits can be made beneath our cgroup.
 * @example cgroupCheck() // { ok: true, version: 'hybrid', path: '/sys/fs/cgroup/memory/user.slice' }
 */
export function cgroupCheck(layout: CgroupLayout = currentLayout(), writable: (dir: string) => boolean = isWritable): CgroupCheck {
  const version = layout.kind === 'v1' ? 1 : layout.kind === 'hybrid' ? 'hybrid' : 2;
  if (layout.kind === 'none') {
    return { ok: false, version, reason: 'no cgroup hierarchy reaches the cgroup of this process', fix: 'mount cgroup2 at /sys/fs/cgroup' };
  }
  const v2 = layout.v2;
  if (v2 && LIMIT_CONTROLLERS.every((c) => v2.controllers.includes(c))) {
    if (!writable(v2.ownDir)) {
      return { ok: false, version, path: v2.ownDir, reason: `${v2.ownDir} is not writable (not delegated to this user)`, fix: delegateHowTo() };
    }
    // Only the root cgroup is exempt from v2's "no internal processes" rule, and the Node
    // process is in its own cgroup: memory cannot be given to that cgroup's children.
    if (v2.ownPath !== '/') {
      return {
        ok: false,
        version,
        path: v2.ownDir,
        reason: `memory limits: cgroup v2's "no internal processes" rule forbids enabling memory beneath ${v2.ownDir}, which holds the Node process (pids and cpu limits work)`,
        fix: 'run Node in the root cgroup of the hierarchy (e.g. a container\'s init without a cgroup namespace), or limit Node as a whole' + (systemdRuns() ? ': systemd-run --user --scope -p MemoryMax=1G node app.js' : ' (memory.max of its cgroup)'),
      };
    }
    return { ok: true, version, path: v2.ownDir };
  }
  const missingV1 = LIMIT_CONTROLLERS.filter((c) => !layout.v1.has(c));
  if (layout.kind !== 'v2' && missingV1.length === 0) {
    const dirs = [...new Set(LIMIT_CONTROLLERS.map((c) => layout.v1.get(c)!.ownDir))];
    const locked = dirs.filter((d) => !writable(d));
    if (locked.length > 0) {
      return { ok: false, version, path: dirs[0], reason: `${locked.join(', ')} not writable`, fix: `run as root, or ${delegateHowTo()}` };
    }
    return { ok: true, version, path: layout.v1.get('memory')!.ownDir };
  }
  const have = v2?.controllers ?? [];
  const missing = LIMIT_CONTROLLERS.filter((c) => !have.includes(c) && !layout.v1.has(c));
  return {
    ok: false,
    version,
    ...(v2 ? { path: v2.ownDir } : {}),
    reason: `controllers not delegated to this cgroup: ${(missing.length ? missing : LIMIT_CONTROLLERS.filter((c) => !have.includes(c))).join(', ')}`,
    fix: delegateHowTo(),
  };
}
