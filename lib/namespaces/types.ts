// Namespace types as the kernel names them, and the identity of one namespace.
import { native } from '../binding.js';

/** Every namespace type, in the order nsbind reports them. */
export const namespaceTypes = ['user', 'pid', 'mnt', 'uts', 'ipc', 'net', 'cgroup', 'time'] as const;

/**
 * A namespace type, named as the kernel names it (`/proc/PID/ns/<type>`): `mnt` is the
 * mount namespace.
 */
export type NamespaceType = (typeof namespaceTypes)[number];

/** Which namespace: its nsfs inode and device, as `stat /proc/PID/ns/TYPE` shows them. */
export interface NamespaceId {
  type: NamespaceType;
  /** The namespace's inode number: the number in `readlink /proc/PID/ns/net` (`net:[4026531833]`). */
  inode: number;
  /** The nsfs device; two ids name the same namespace when inode and dev are both equal. */
  dev: number;
}

/**
 * The namespaces of one process, one entry per type. A type the running kernel lacks
 * (for example `time` before Linux 5.6) is absent.
 */
export type Namespaces = { [T in NamespaceType]: NamespaceId };

/** `'net'` -> `CLONE_NEWNET`. */
export function cloneFlag(type: NamespaceType): number {
  const c = native().constants;
  switch (type) {
    case 'user': return c.CLONE_NEWUSER;
    case 'pid': return c.CLONE_NEWPID;
    case 'mnt': return c.CLONE_NEWNS;
    case 'uts': return c.CLONE_NEWUTS;
    case 'ipc': return c.CLONE_NEWIPC;
    case 'net': return c.CLONE_NEWNET;
    case 'cgroup': return c.CLONE_NEWCGROUP;
    case 'time': return c.CLONE_NEWTIME;
  }
}

/** `CLONE_NEWNET` (as NS_GET_NSTYPE answers) -> `'net'`; undefined for anything else. */
export function typeOfCloneFlag(flag: number): NamespaceType | undefined {
  return namespaceTypes.find((t) => cloneFlag(t) === flag);
}

export function isNamespaceType(name: unknown): name is NamespaceType {
  return typeof name === 'string' && (namespaceTypes as readonly string[]).includes(name);
}
