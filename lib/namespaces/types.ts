// Namespace types as the kernel names them, the one table of what each is called where,
// and the identity of one namespace.

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

/**
 * Each type (its /proc/PID/ns name) with its clone/setns flag (linux/sched.h: kernel ABI,
 * compared with the addon's constants in test/namespaces/namespaces.test.ts) and its builder method.
 */
export const NAMESPACES: { readonly [T in NamespaceType]: { readonly flag: number; readonly method: NamespaceMethod } } = {
  user: { flag: 0x1000_0000, method: 'user' },
  pid: { flag: 0x2000_0000, method: 'pid' },
  mnt: { flag: 0x0002_0000, method: 'mount' },
  uts: { flag: 0x0400_0000, method: 'uts' },
  ipc: { flag: 0x0800_0000, method: 'ipc' },
  net: { flag: 0x4000_0000, method: 'net' },
  cgroup: { flag: 0x0200_0000, method: 'cgroup' },
  time: { flag: 0x0000_0080, method: 'time' },
};

/** The builder method of a namespace type (`mnt` is `.mount()`). */
export type NamespaceMethod = 'user' | 'pid' | 'mount' | 'uts' | 'ipc' | 'net' | 'cgroup' | 'time';

/** `'net'` -> `CLONE_NEWNET`. */
export function cloneFlag(type: NamespaceType): number {
  return NAMESPACES[type].flag;
}

/** `'mnt'` -> `'mount'`: the method, and the first part of an option's name (`mount.join`). */
export function methodOf(type: NamespaceType): NamespaceMethod {
  return NAMESPACES[type].method;
}

/** `CLONE_NEWNET` (as NS_GET_NSTYPE answers) -> `'net'`; undefined for anything else. */
export function typeOfCloneFlag(flag: number): NamespaceType | undefined {
  return namespaceTypes.find((t) => cloneFlag(t) === flag);
}

export function isNamespaceType(name: unknown): name is NamespaceType {
  return typeof name === 'string' && (namespaceTypes as readonly string[]).includes(name);
}
