// Where sandbox cgroups go on cgroup v2, and what must happen before the first one.
//
// cgroup v2's "no internal processes" rule: a cgroup other than the real root may give a
// domain controller (memory, io) to its children only while it holds no process. Enabling
// a threaded controller (pids, cpu) in a cgroup that holds processes is allowed, but makes
// it a thread root: its new children are `domain invalid`, placing a process there fails
// with EOPNOTSUPP, and the cgroup stays `domain threaded` for every later tool. So nsbind
// never enables a controller in a cgroup that holds a process afterwards, and picks the
// parent of the sandboxes like this:
//
//   1. NSBIND_CGROUP_PARENT, when set: an empty cgroup the launcher prepared and delegated
//      (for Node that shares its cgroup with other processes: a service with helpers).
//   2. The real root cgroup (no cgroup.type file): exempt from the rule.
//   3. Node's own cgroup, when Node is its only process and it may be written: Node moves
//      into a leaf `<own>/nsbind-node` (only Node; nothing else ever moves) and the
//      sandboxes are made beside it. This is a container with its own cgroup namespace,
//      `systemd-run --scope -p Delegate=yes`, a rootless delegated user scope.
//   4. Otherwise a typed error whose hint gives the way out for this layout.
//
// Only on pure v2 does Node move: on hybrid hosts the controllers are on v1 and the v2
// mount is systemd's, so Node's cgroup there is left exactly as it is.
import { accessSync, constants as fsConstants, existsSync, mkdirSync, rmdirSync } from 'node:fs';
import { posix } from 'node:path';
import { nsbindError, systemError, type NsbindError } from '../errors.js';
import { codeOf, errnoOf, readCgroupFileSync, writeCgroupFileSync } from './files.js';
import type { CgroupLayout, Hierarchy } from './layout.js';

/** The leaf the Node process moves into when it is alone in a writable cgroup. */
export const NODE_LEAF = 'nsbind-node';

/** The environment variable naming an explicit, empty, delegated parent. */
export const PARENT_ENV = 'NSBIND_CGROUP_PARENT';

/** What the placement reads; injectable so doctor() and tests can look at fixtures. */
export interface CgroupView {
  read(path: string): string | undefined;
  exists(path: string): boolean;
  writable(path: string): boolean;
  /** Whether systemd is the init (it then offers Delegate=yes). */
  systemd: boolean;
}

/** Where sandbox cgroups go. */
export interface V2Placement {
  /** The directory sandbox cgroups are created in. */
  parentDir: string;
  /** The same cgroup as /proc/PID/cgroup shows it (relative to our cgroup namespace). */
  parentPath: string;
  /** How it was chosen. */
  via: 'env' | 'root' | 'leaf' | 'own';
  /** Set when the Node process must first move into this leaf (created when missing). */
  moveNodeTo?: string;
}

/** The pids of a cgroup.procs text. */
export function pidsOf(text: string | undefined): number[] {
  return (text ?? '').split('\n').filter((s) => /^\d+$/.test(s)).map(Number);
}

/** The cgroup path (as in /proc/PID/cgroup) of a directory of the hierarchy `h`. */
export function pathOfDir(h: Hierarchy, dir: string): string {
  // ownPath = root + (ownDir - mountPoint): the mount's root is what is left.
  const ownRel = h.ownDir.slice(h.mountPoint.length);
  const root = ownRel === '' ? h.ownPath : h.ownPath.slice(0, h.ownPath.length - ownRel.length);
  return posix.join(root || '/', dir.slice(h.mountPoint.length) || '/');
}

/** The hint for a Node process that shares its cgroup, or whose cgroup is not delegated. */
export function sharedCgroupHint(dir: string, systemd: boolean): string {
  const how = systemd
    ? 'Run Node alone in a delegated cgroup: `systemd-run --user --scope -p Delegate=yes node app.js` ' +
      '(as root without --user), or Delegate=yes in the service\'s unit'
    : 'Run Node as the only process of a cgroup it may write (a container with its own cgroup namespace does this)';
  return (
    `${how}; nsbind then moves Node into ${NODE_LEAF} and makes the sandbox cgroups beside it. ` +
    `Where Node must share its cgroup, prepare an empty delegated cgroup and name it: ${PARENT_ENV}=${dir}/sandboxes ` +
    `(e.g. in the unit's start script: mkdir ${dir}/app ${dir}/sandboxes; move the other processes into app; ` +
    `echo '+memory +pids +cpu' > ${dir}/cgroup.subtree_control)`
  );
}

function cgroupError(message: string, dir: string, hint: string): NsbindError {
  return nsbindError('ERR_NSBIND_CGROUP', `limits: ${message}`, { step: 'limits', path: dir, hint });
}

/**
 * Where the sandbox cgroups of a v2 hierarchy go (see the top of this file). Throws an
 * NsbindError (ERR_NSBIND_CGROUP) whose hint fits the layout when there is no good place.
 * @example planV2(layout.v2!, layout.kind, process.env.NSBIND_CGROUP_PARENT, process.pid, view)
 */
export function planV2(
  h: Hierarchy,
  kind: CgroupLayout['kind'],
  envParent: string | undefined,
  pid: number,
  view: CgroupView,
): V2Placement {
  if (envParent !== undefined && envParent !== '') {
    const dir = posix.normalize(envParent).replace(/\/+$/, '');
    if (!posix.isAbsolute(envParent) || (dir !== h.mountPoint && !dir.startsWith(h.mountPoint + '/'))) {
      throw cgroupError(`${PARENT_ENV}=${envParent} is not a directory of the cgroup2 hierarchy at ${h.mountPoint}`, envParent,
        `set ${PARENT_ENV} to an absolute path beneath ${h.mountPoint}, or unset it`);
    }
    if (!view.exists(posix.join(dir, 'cgroup.procs'))) {
      throw cgroupError(`${PARENT_ENV}=${envParent} is not a cgroup (no cgroup.procs)`, dir, `create it first (mkdir ${dir}) in a cgroup delegated to this user`);
    }
    if (pidsOf(view.read(posix.join(dir, 'cgroup.procs'))).length > 0) {
      throw cgroupError(`${PARENT_ENV}=${envParent} holds processes`, dir,
        'the parent of the sandbox cgroups must stay empty: cgroup v2 gives controllers to the children of a cgroup only while it holds no process');
    }
    if (!view.writable(dir) || !view.writable(posix.join(dir, 'cgroup.subtree_control'))) {
      throw cgroupError(`${PARENT_ENV}=${envParent} is not writable by this user`, dir, `delegate it (chown the directory, its cgroup.procs, cgroup.subtree_control and cgroup.threads to the user)${view.systemd ? ', e.g. with Delegate=yes on the unit' : ''}`);
    }
    return { parentDir: dir, parentPath: pathOfDir(h, dir), via: 'env' };
  }
  const own = h.ownDir;
  if (h.ownPath === '/' && !view.exists(posix.join(own, 'cgroup.type'))) return { parentDir: own, parentPath: h.ownPath, via: 'root' };
  // Moved by an earlier sandbox of this process.
  if (posix.basename(own) === NODE_LEAF) {
    const parent = posix.dirname(own);
    return { parentDir: parent, parentPath: posix.dirname(h.ownPath), via: 'leaf' };
  }
  // On hybrid hosts nothing moves: the v2 tree is systemd's. The controller guard in
  // enableV2Controllers still refuses to make Node's cgroup a thread root.
  if (kind !== 'v2') return { parentDir: own, parentPath: h.ownPath, via: 'own' };
  const others = pidsOf(view.read(posix.join(own, 'cgroup.procs'))).filter((p) => p !== pid);
  if (!view.writable(own) || !view.writable(posix.join(own, 'cgroup.procs')) || !view.writable(posix.join(own, 'cgroup.subtree_control'))) {
    throw cgroupError(`the Node process's cgroup ${own} is not writable (not delegated to this user)`, own, sharedCgroupHint(own, view.systemd));
  }
  const type = view.read(posix.join(own, 'cgroup.type'))?.trim();
  if (type !== undefined && type !== 'domain') {
    throw cgroupError(`the Node process's cgroup ${own} is '${type}', not a domain cgroup: memory cannot be limited beneath it`, own, sharedCgroupHint(own, view.systemd));
  }
  if (others.length > 0) {
    throw cgroupError(
      `the Node process shares its cgroup ${own} with ${others.length} other process${others.length === 1 ? '' : 'es'}: cgroup v2 gives controllers to sandbox cgroups beneath it only while it holds no process, and nsbind moves no process but Node`,
      own,
      sharedCgroupHint(own, view.systemd),
    );
  }
  return { parentDir: own, parentPath: h.ownPath, via: 'leaf', moveNodeTo: posix.join(own, NODE_LEAF) };
}

/** The machine as it is. */
export const realView: CgroupView = {
  read: (p) => readCgroupFileSync(p),
  exists: (p) => existsSync(p),
  writable(p) {
    try {
      accessSync(p, fsConstants.W_OK);
      return true;
    } catch {
      return false;
    }
  },
  get systemd() {
    return existsSync('/run/systemd/system');
  },
};

/**
 * Moves the Node process (all its threads: cgroup.procs takes the whole thread group) into
 * `leaf`, created when missing. Nothing else moves.
 */
export function moveNodeInto(leaf: string, pid: number = process.pid): void {
  let made = false;
  try {
    mkdirSync(leaf);
    made = true;
  } catch (e) {
    if (codeOf(e) !== 'EEXIST') {
      throw systemError(errnoOf(e), { step: 'limits: create the Node process\'s leaf cgroup', syscall: 'mkdir', path: leaf });
    }
  }
  try {
    writeCgroupFileSync(posix.join(leaf, 'cgroup.procs'), String(pid), 'limits: move the Node process into its leaf cgroup');
  } catch (e) {
    if (made) {
      try {
        rmdirSync(leaf);
      } catch {
        // left empty; harmless
      }
    }
    throw e;
  }
}
