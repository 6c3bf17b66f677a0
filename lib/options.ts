// The sandbox configuration as plain data: what `sb.options` returns and
// `sandbox(options)` accepts. Everything here is JSON-serialisable.
import type { Limits } from './cgroup/limits.js';
import type { Capabilities } from './security/capabilities.js';
import type { Rlimits } from './security/rlimits.js';
import type { Seccomp } from './security/seccomp.js';

/** Namespace types, named as the kernel names them (`/proc/PID/ns/<type>`). */
export type { NamespaceType } from './namespaces/types.js';
import { namespaceTypes, type NamespaceType } from './namespaces/types.js';

export const NAMESPACE_TYPES: readonly NamespaceType[] = namespaceTypes;

/**
 * An existing namespace to join: a host pid, a `SandboxProcess` (anything with a `pid`;
 * stored in `sb.options` as that pid), a path to a namespace file (`/proc/PID/ns/net`,
 * `/run/netns/NAME`, a bind-mounted nsfs file), or for `net` the name of an `ip netns`
 * namespace.
 * @example sandbox().net({ join: 'blue' }).uts({ join: proc })
 */
export type JoinTarget = number | string | { readonly pid?: number | undefined };

/** Options every namespace method takes. */
export interface CommonNamespaceOptions {
  /**
   * Create the namespace where the kernel and policy allow, else run without it;
   * `SandboxProcess.isolation` lists what was applied.
   * @default false
   */
  optional?: boolean;
  /** Join this existing namespace instead of creating one. */
  join?: JoinTarget;
}

/** One line of a uid_map or gid_map. */
export interface IdMapEntry {
  /** First id inside the namespace. */
  inside: number;
  /** First id outside (in the caller's user namespace). */
  outside: number;
  /** How many ids. */
  count: number;
}

export interface UserNamespaceOptions extends CommonNamespaceOptions {
  /**
   * The caller's uid as seen inside (mapped to the caller's own uid).
   * @default 0
   */
  uid?: number;
  /**
   * The caller's gid as seen inside.
   * @default 0
   */
  gid?: number;
  /** Full uid map instead of `uid`; ranges beyond the caller's own uid need newuidmap. */
  uidMap?: IdMapEntry[];
  /** Full gid map instead of `gid`; ranges beyond the caller's own gid need newgidmap. */
  gidMap?: IdMapEntry[];
  /**
   * Whether setgroups(2) is allowed inside.
   * @default 'deny' for an unprivileged caller, 'allow' for root
   */
  setgroups?: 'deny' | 'allow';
}

export interface PidNamespaceOptions extends CommonNamespaceOptions {
  /**
   * `true`: nsbind's init is PID 1 (forwards signals, reaps orphans) and the program is
   * PID 2. `false`: the program itself is PID 1, as with `unshare --pid --fork`.
   * @default true
   */
  init?: boolean;
}

export type Propagation = 'private' | 'slave' | 'shared' | 'unchanged';

export interface MountNamespaceOptions extends CommonNamespaceOptions {
  /**
   * Propagation applied recursively to `/` before anything else is mounted.
   * @default 'private'
   */
  propagation?: Propagation;
}

export interface UtsNamespaceOptions extends CommonNamespaceOptions {
  /** The hostname inside (at most 64 bytes). */
  hostname?: string;
  /** The NIS domain name inside (at most 64 bytes). */
  domainname?: string;
}

/**
 * A veth pair: one end (`name`) in the sandbox's new network namespace, the other
 * (`peer`) on the host or in `peerNetns`. Both ends are up before the program starts,
 * and removed when the sandbox ends. Creating an end on the host needs root.
 *
 * @example
 * sandbox().net({ veth: { peer: 'veth-box1', address: '10.200.0.2/30', peerAddress: '10.200.0.1/30' } })
 */
export interface VethOptions {
  /**
   * The sandbox end's interface name (at most 15 bytes).
   * @default 'eth0'
   */
  name?: string;
  /** The other end's name, on the host (or in `peerNetns`); a name taken there is EEXIST. */
  peer: string;
  /**
   * The sandbox end's address with its prefix length (`'10.0.0.2/24'`, `'fd00::2/64'`).
   * With `peerAddress` too, the sandbox's default route goes via the peer.
   * @default none
   */
  address?: string;
  /**
   * The other end's address with its prefix length, in `address`'s subnet.
   * @default none
   */
  peerAddress?: string;
  /**
   * Where the other end lives: any join target (an `ip netns` name, a pid, a
   * `SandboxProcess`, a namespace file). A process is stored as its pid.
   * @default the caller's netns
   */
  peerNetns?: JoinTarget | { readonly pid?: number };
}

export interface NetNamespaceOptions extends CommonNamespaceOptions {
  /**
   * Bring `lo` up.
   * @default true
   */
  loopback?: boolean;
  /**
   * A veth pair between the sandbox and the host (or `peerNetns`).
   * @default none
   * @example sandbox().net({ veth: { peer: 'veth-box1', address: '10.200.0.2/30', peerAddress: '10.200.0.1/30' } })
   */
  veth?: VethOptions;
  /**
   * Egress policy (SPEC 5.1): no route out except nsbind's HTTP/SOCKS5 proxy on
   * 127.0.0.1:`port` inside, which connects only where `allow` matches and `deny` does not.
   * @example sandbox().net({ egress: { allow: ['registry.npmjs.org', '*.github.com:443'] } })
   */
  egress?: EgressOptions;
  /**
   * Connections to the caller's 127.0.0.1:`host` reach the sandbox's 127.0.0.1:`sandbox`.
   * @example sandbox().net({ forward: [{ host: 8080, sandbox: 80 }] })
   */
  forward?: { host: number; sandbox: number }[];
  /**
   * Connections inside to 127.0.0.1:`sandbox` reach the caller's 127.0.0.1:`host`.
   * @example sandbox().net({ expose: [{ sandbox: 5432, host: 5432 }] })
   */
  expose?: { sandbox: number; host: number }[];
}

/** `.net({ egress })`. */
export interface EgressOptions {
  /** Patterns: `example.com`, `*.example.com`, `name:port`, an address or CIDR, `*`. */
  allow: string[];
  /** Patterns refused even when allowed. @default [] */
  deny?: string[];
  /** The proxy's port on 127.0.0.1 inside the sandbox. @default 3128 */
  port?: number;
}

export type IpcNamespaceOptions = CommonNamespaceOptions;
export type CgroupNamespaceOptions = CommonNamespaceOptions;

export interface TimeNamespaceOptions extends CommonNamespaceOptions {
  /** Offset of CLOCK_MONOTONIC inside, in seconds (may be negative). @default 0 */
  monotonic?: number;
  /** Offset of CLOCK_BOOTTIME inside, in seconds (may be negative). @default 0 */
  boottime?: number;
}

export interface NamespaceOptionsMap {
  user: UserNamespaceOptions;
  pid: PidNamespaceOptions;
  mnt: MountNamespaceOptions;
  uts: UtsNamespaceOptions;
  ipc: IpcNamespaceOptions;
  net: NetNamespaceOptions;
  cgroup: CgroupNamespaceOptions;
  time: TimeNamespaceOptions;
}

/** The options of the user namespace to create or join; undefined for none or `.user(false)`. */
export function userOptions(options: SandboxOptions): UserNamespaceOptions | undefined {
  return options.namespaces?.user || undefined;
}

/** Credentials inside, set after the namespaces. */
export interface Credentials {
  uid?: number;
  gid?: number;
  /** Supplementary groups. @default [] when uid or gid change (where setgroups is allowed) */
  groups?: number[];
}

/** A filesystem step (section 2.2 of the spec), in the order written. */
export interface FsStep {
  op: string;
  [key: string]: unknown;
}

/** The whole configuration of a sandbox. */
export interface SandboxOptions {
  /**
   * Namespaces to create or join. `user: false` is `.user(false)`: no user namespace (the
   * program keeps the caller's own ids; unsafe for untrusted code).
   */
  namespaces?: { [T in NamespaceType]?: NamespaceOptionsMap[T] | (T extends 'user' ? false : never) };
  /** Filesystem steps, applied in order. */
  fs?: FsStep[];
  /** Variables to set (a string) or unset (null). */
  env?: Record<string, string | null>;
  /** Start from `process.env` at spawn time. @default true */
  inheritEnv?: boolean;
  /** Working directory inside. @default '/' when the root changes, else the caller's cwd */
  cwd?: string;
  as?: Credentials;
  /** @default true */
  dieWithParent?: boolean;
  /** @default true */
  newSession?: boolean;
  /** Files inside the sandbox read-locked while it runs (`.lockFile()`). */
  lockFile?: string[];
  /** @default the caller's umask */
  umask?: number;
  /** The pid whose cgroup(s) the process starts in (`.joinCgroup()`). */
  joinCgroup?: number;
  /** cgroup resource limits (`.limits()`). */
  limits?: Limits;
  /** Capabilities the program keeps. @default 'none' */
  capabilities?: Capabilities;
  /** The seccomp filter. @default 'default' */
  seccomp?: Seccomp;
  /** PR_SET_NO_NEW_PRIVS. @default true */
  noNewPrivileges?: boolean;
  /** Resource limits, `[soft, hard]` by name. @default NOFILE restored to the system's soft limit */
  rlimits?: Rlimits;
  [other: string]: unknown;
}
