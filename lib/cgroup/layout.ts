// Where the cgroup hierarchies are and where the Node process sits in each.
//
// Three layouts exist in the wild: pure v2 (one cgroup2 mount holding every controller),
// hybrid (controllers on v1 mounts plus a cgroup2 mount, usually /sys/fs/cgroup/unified,
// that systemd uses for tracking) and v1 only. Both files we read are per-process and
// already relative to our cgroup namespace, so the answer is right inside containers too.
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';

/** One cgroup or cgroup2 line of /proc/self/mountinfo. */
export interface CgroupMount {
  /** 2 for cgroup2, 1 for a v1 hierarchy. */
  version: 1 | 2;
  /** Where it is mounted, e.g. `/sys/fs/cgroup/memory`. */
  mountPoint: string;
  /** The cgroup that appears at the mount point (not `/` for a bind mount of a sub-tree). */
  root: string;
  /** v1: the controllers bound to this hierarchy (`['cpu', 'cpuacct']`); v2: empty. */
  controllers: string[];
  /** v1 named hierarchies (`name=systemd`) have no controllers. */
  name?: string;
  readOnly: boolean;
}

/** One line of /proc/self/cgroup: `hierarchy-id:controllers:path`. */
export interface ProcCgroupEntry {
  id: number;
  /** Empty for the v2 line (`0::/path`). */
  controllers: string[];
  name?: string;
  path: string;
}

/** A hierarchy we can use: its mount and the directory of the Node process's own cgroup. */
export interface Hierarchy {
  version: 1 | 2;
  mountPoint: string;
  /** Absolute directory of our own cgroup, e.g. `/sys/fs/cgroup/memory/user.slice`. */
  ownDir: string;
  /** Our cgroup as /proc/self/cgroup names it, e.g. `/user.slice`. */
  ownPath: string;
  /** v1: the controllers of this hierarchy; v2: those available to our cgroup's children
   * (read from `cgroup.controllers` at detection time). */
  controllers: string[];
  readOnly: boolean;
}

/** What this machine (as this process sees it) offers. */
export interface CgroupLayout {
  /** `'v2'` pure unified, `'hybrid'` v1 controllers plus a cgroup2 mount, `'v1'`, or `'none'`. */
  kind: 'v2' | 'hybrid' | 'v1' | 'none';
  /** The cgroup2 hierarchy, when mounted and our cgroup is reachable through the mount. */
  v2?: Hierarchy;
  /** v1 hierarchies by controller name (a co-mounted `cpu,cpuacct` appears under both). */
  v1: Map<string, Hierarchy>;
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
function unescapeMountinfo(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** The cgroup mounts listed in /proc/self/mountinfo text. */
export function parseMountinfo(text: string): CgroupMount[] {
  const out: CgroupMount[] = [];
  for (const line of text.split('\n')) {
    // id parent major:minor root mountpoint options [optional fields...] - fstype source superoptions
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const right = line.slice(sep + 3).split(' ');
    const fstype = right[0];
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    if (left.length < 6) continue;
    const superOpts = (right[2] ?? '').split(',');
    const mountOpts = left[5].split(',');
    const mount: CgroupMount = {
      version: fstype === 'cgroup2' ? 2 : 1,
      root: unescapeMountinfo(left[3]),
      mountPoint: unescapeMountinfo(left[4]),
      controllers: [],
      readOnly: mountOpts.includes('ro'),
    };
    if (fstype === 'cgroup') {
      for (const o of superOpts) {
        if (o.startsWith('name=')) mount.name = o.slice(5);
        else if (!V1_MOUNT_OPTIONS.has(o) && !o.includes('=')) mount.controllers.push(o); // not release_agent=...
      }
    }
    out.push(mount);
  }
  return out;
}

// v1 super options that are not controller names.
const V1_MOUNT_OPTIONS = new Set([
  'rw', 'ro', 'none', 'noprefix', 'xattr', 'clone_children', 'cpuset_v2_mode', 'favordynmods',
]);

/** The lines of /proc/self/cgroup text. */
export function parseProcCgroup(text: string): ProcCgroupEntry[] {
  const out: ProcCgroupEntry[] = [];
  for (const line of text.split('\n')) {
    const a = line.indexOf(':');
    const b = line.indexOf(':', a + 1);
    if (a < 0 || b < 0) continue;
    const entry: ProcCgroupEntry = { id: Number(line.slice(0, a)), controllers: [], path: line.slice(b + 1) };
    for (const c of line.slice(a + 1, b).split(',')) {
      if (c === '') continue;
      if (c.startsWith('name=')) entry.name = c.slice(5);
      else entry.controllers.push(c);
    }
    out.push(entry);
  }
  return out;
}

/**
 * Our cgroup's directory under a mount, or undefined when the mount does not show it (a
 * bind mount of another sub-tree, or a path outside our cgroup namespace: `/../x`).
 */
export function ownDirUnder(mount: CgroupMount, path: string): string | undefined {
  if (path.startsWith('/..') || !path.startsWith('/')) return undefined;
  const root = mount.root === '/' ? '' : mount.root.replace(/\/+$/, '');
  if (root !== '' && path !== root && !path.startsWith(root + '/')) return undefined;
  const dir = posix.join(mount.mountPoint, path.slice(root.length) || '/');
  return dir.length > 1 ? dir.replace(/\/+$/, '') : dir;
}

/**
 * The layout, from the text of /proc/self/mountinfo and /proc/self/cgroup. `readControllers`
 * reads v2's `cgroup.controllers` of a directory (injectable so fixtures need no kernel).
 */
export function layoutFrom(
  mountinfo: string,
  procCgroup: string,
  readControllers: (dir: string) => string[] = readV2Controllers,
): CgroupLayout {
  const mounts = parseMountinfo(mountinfo);
  const entries = parseProcCgroup(procCgroup);
  const layout: CgroupLayout = { kind: 'none', v1: new Map() };

  const v2Entry = entries.find((e) => e.id === 0 && e.controllers.length === 0 && !e.name);
  if (v2Entry) {
    for (const m of mounts) {
      if (m.version !== 2) continue;
      const ownDir = ownDirUnder(m, v2Entry.path);
      if (!ownDir) continue;
      layout.v2 = {
        version: 2,
        mountPoint: m.mountPoint,
        ownDir,
        ownPath: v2Entry.path,
        controllers: readControllers(ownDir),
        readOnly: m.readOnly,
      };
      break;
    }
  }

  let anyV1 = false;
  for (const e of entries) {
    if (e.id === 0 || e.controllers.length === 0) continue; // v2, or a named v1 hierarchy
    anyV1 = true;
    const mount = mounts.find(
      (m) =>
        m.version === 1 &&
        e.controllers.every((c) => m.controllers.includes(c)) &&
        ownDirUnder(m, e.path) !== undefined,
    );
    if (!mount) continue;
    const h: Hierarchy = {
      version: 1,
      mountPoint: mount.mountPoint,
      ownDir: ownDirUnder(mount, e.path)!,
      ownPath: e.path,
      controllers: mount.controllers,
      readOnly: mount.readOnly,
    };
    for (const c of e.controllers) if (!layout.v1.has(c)) layout.v1.set(c, h);
  }

  // The kind follows where the controllers are: v1 lines in /proc/self/cgroup mean the
  // controllers are bound to v1 hierarchies, whatever else is mounted.
  if (anyV1) layout.kind = v2Entry ? 'hybrid' : 'v1';
  else if (v2Entry) layout.kind = 'v2';
  return layout;
}

/** The controllers v2 offers to the children of `dir` (its `cgroup.controllers`). */
export function readV2Controllers(dir: string): string[] {
  try {
    return readFileSync(posix.join(dir, 'cgroup.controllers'), 'utf8').split(/\s+/).filter(Boolean);
  } catch {
    return [];
  }
}

let cachedLayout: { procCgroup: string; layout: CgroupLayout } | undefined;

/**
 * The layout of this process, re-read when /proc/self/cgroup changes (mountinfo can be
 * long on container hosts; our own cgroup is what moves).
 */
export function currentLayout(): CgroupLayout {
  let procCgroup = '';
  try {
    procCgroup = readFileSync('/proc/self/cgroup', 'utf8');
  } catch {
    return { kind: 'none', v1: new Map() };
  }
  if (cachedLayout?.procCgroup !== procCgroup) {
    let mountinfo = '';
    try {
      mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
    } catch {
      // no /proc: no layout
    }
    cachedLayout = { procCgroup, layout: layoutFrom(mountinfo, procCgroup) };
  }
  return cachedLayout.layout;
}
