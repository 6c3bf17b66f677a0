// namespaces.list(): every namespace on the host, like lsns. A namespace lives as long
// as something refers to it, so we look where references can be: processes
// (/proc/*/ns), open file descriptors (/proc/*/fd links such as `net:[4026532...]`), and
// nsfs bind mounts (/proc/self/mountinfo, as `ip netns add` and `unshare --net=FILE` make).
import { native } from '../binding.js';
import { invalid } from '../errors.js';
import { command, fdLinks, mountInfo, parentPid, pids, processUid, userNames } from './procfs.js';
import { checkTypes, describe } from './target.js';
import { isNamespaceType, namespaceTypes, type NamespaceType } from './types.js';

/** One namespace, as `lsns --output-all` describes it. */
export interface NamespaceEntry {
  type: NamespaceType;
  /** The namespace's inode number (lsns's NS column). */
  inode: number;
  /** How many processes are in it (threads are not counted, as with lsns). */
  nprocs: number;
  /** The lowest pid in it; null when no process is (held by an fd or a bind mount only). */
  pid: number | null;
  /** The parent of `pid`. */
  ppid?: number;
  /** The user name (or uid, when it has no name) of `pid`; null without a process. */
  user: string | null;
  /** The command line of `pid` (the comm name for kernel threads); null without a process. */
  command: string | null;
  /**
   * Files through which the namespace can be opened or joined: `/proc/PID/ns/TYPE` of its
   * lowest pid, every nsfs bind mount of it (as this process's mount namespace sees them),
   * and, for a namespace no process is in, the `/proc/PID/fd/N` of each fd holding it.
   */
  paths: string[];
  /** The parent namespace's inode (pid and user namespaces; absent when it is outside our view). */
  parent?: number;
  /** The owning user namespace's inode (absent when it is outside our view). */
  owner?: number;
}

/** Options of {@link list}. */
export interface ListOptions {
  /**
   * Only namespaces of this type (or these types), like `lsns -t`.
   * @default every type
   */
  type?: NamespaceType | NamespaceType[];
}

const nsLink = /^([a-z]+):\[([0-9]+)\]$/;

interface Found {
  type: NamespaceType;
  inode: number;
  procs: number[];
  mounts: string[];
  fds: string[];
}

/**
 * Every namespace on the host that this process can see, like `lsns`: those processes
 * are in, and those held only by an open fd or a bind mount. Sorted by inode.
 * Unprivileged callers see only their own processes' namespaces, as with lsns.
 *
 * @example
 * for (const ns of await namespaces.list({ type: 'net' })) {
 *   console.log(ns.inode, ns.nprocs, ns.command ?? ns.paths[0]);
 * }
 */
export async function list(o: ListOptions = {}): Promise<NamespaceEntry[]> {
  if (o === null || typeof o !== 'object') throw invalid('namespaces.list', `expected options, not ${describe(o)}`);
  const types = o.type === undefined ? [...namespaceTypes] : checkTypes(Array.isArray(o.type) ? o.type : [o.type], 'namespaces.list.type');
  const b = native();
  const found = new Map<number, Found>();
  const note = (type: NamespaceType, inode: number): Found => {
    let f = found.get(inode);
    if (!f) found.set(inode, (f = { type, inode, procs: [], mounts: [], fds: [] }));
    return f;
  };

  const all = pids();
  for (const pid of all) {
    for (const type of types) {
      const r = b.nsStat(`/proc/${pid}/ns/${type}`);
      if (typeof r !== 'number') note(type, r[0]).procs.push(pid);
    }
  }
  for (const m of mountInfo()) {
    if (m.fstype !== 'nsfs') continue;
    const k = nsLink.exec(m.root);
    if (k && isNamespaceType(k[1]) && types.includes(k[1])) note(k[1], Number(k[2])).mounts.push(m.mountPoint);
  }
  for (const pid of all) {
    for (const [fd, target] of fdLinks(pid)) {
      const k = nsLink.exec(target);
      if (k && isNamespaceType(k[1]) && types.includes(k[1])) note(k[1], Number(k[2])).fds.push(`/proc/${pid}/fd/${fd}`);
    }
  }

  const names = userNames();
  const entries: NamespaceEntry[] = [];
  for (const f of found.values()) {
    const pid = f.procs.length ? f.procs[0] : null; // pids() is sorted: the lowest
    const e: NamespaceEntry = {
      type: f.type,
      inode: f.inode,
      nprocs: f.procs.length,
      pid,
      user: null,
      command: null,
      paths: [...(pid !== null ? [`/proc/${pid}/ns/${f.type}`] : []), ...new Set(f.mounts), ...(pid === null ? f.fds : [])],
    };
    if (pid !== null) {
      const ppid = parentPid(pid);
      if (ppid !== undefined) e.ppid = ppid;
      const uid = processUid(pid);
      if (uid !== undefined) e.user = names.get(uid) ?? String(uid);
      e.command = command(pid) ?? null;
    }
    relatives(e, f.type === 'pid' || f.type === 'user');
    entries.push(e);
  }
  return entries.sort((x, y) => x.inode - y.inode);
}

/**
 * Fill `owner` and `parent` with NS_GET_USERNS / NS_GET_PARENT on the first of the
 * entry's paths that still opens (a process may have exited meanwhile). EPERM (the
 * relative is outside our user namespace) leaves them absent.
 */
function relatives(e: NamespaceEntry, hierarchical: boolean): void {
  const b = native();
  for (const path of e.paths) {
    const fd = b.open(path, 0);
    if (fd < 0) continue;
    try {
      const id = b.nsStat(fd);
      if (typeof id === 'number' || id[0] !== e.inode) continue; // a recycled pid
      const owner = inodeOf(b.nsUserns(fd));
      if (owner !== undefined) e.owner = owner;
      if (hierarchical) {
        const parent = inodeOf(b.nsParent(fd));
        if (parent !== undefined) e.parent = parent;
      }
      return;
    } finally {
      b.close(fd);
    }
  }
}

/** The inode of the namespace behind a fresh fd (closed here), or undefined for -errno. */
function inodeOf(fd: number): number | undefined {
  if (fd < 0) return undefined;
  const b = native();
  const r = b.nsStat(fd);
  b.close(fd);
  return typeof r === 'number' ? undefined : r[0];
}
