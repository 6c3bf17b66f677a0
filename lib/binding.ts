// The native addon: loaded once with node-gyp-build, typed here (the one cast is at this
// boundary). The addon has no policy; every function maps one C call and returns -errno.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { nsbindError } from './errors.js';

export interface NativeProcess {
  kill(signal: number): number;
  ref(): void;
  unref(): void;
  onspawn?: (r: NativeSpawnResult) => void;
  onexit?: (r: NativeExit) => void;
}

export type NativeSpawnResult =
  /** `ns`: inode and device of /proc/PID/ns/<type> in NAMESPACE_TYPES order; null when it was already gone. */
  | { pid: number; ns: number[] | null; vethIndex?: number }
  | { op: number; sys: number; errno: number; pid?: undefined };

export interface NativeExit {
  code?: number;
  signal?: number;
  error?: number;
  /** The program's wait status as reported by nsbind's init, or -1. */
  programStatus: number;
  userUs: number;
  systemUs: number;
  maxRssKb: number;
}

export type StdioSlot =
  | { kind: 'in' }
  | { kind: 'out' }
  | { kind: 'duplex' }
  | { kind: 'fd'; fd: number }
  | { kind: 'close' };

export interface NativeSpawnRequest {
  plan: Buffer;
  argv: string[];
  /** Omitted: the program inherits the process's environment (read natively). */
  envp?: string[];
  initPath?: string;
  cloneFlags: number;
  stdio: StdioSlot[];
  extraFds?: number[];
  cgroupFd?: number;
  cgroupProcs?: string[];
  /** The cgroup is another process's (`.joinCgroup()`): joined, but the init never kills what it holds. */
  cgroupShared?: boolean;
  setgroups?: string;
  uidMap?: string;
  gidMap?: string;
  newuidmap?: string[];
  newgidmap?: string[];
  timeOffsets?: string;
  pdeathsig?: number;
  noClone3?: boolean;
  /**
   * The op from which nsbind-init, a process with memory of its own, runs the plan
   * instead of the setup child that shares the Node process's memory (lib/plan/takeover.ts);
   * omitted: the setup child runs it all. The addon makes it 0 whenever a cgroup is to be
   * joined, and at most the exec's index when the exec goes through the init.
   */
  initFrom?: number;
  /** Protections switched off, for the escape suite only (native/init/control.h NSB_UNSAFE_*). */
  unsafeTest?: number;
  veth?: NativeVeth;
}

/** .net({ veth }) for the parent's side of the spawn (native/veth.h). */
export interface NativeVeth {
  name: string;
  peer: string;
  /** The other end's namespace file; absent: the caller's namespace. */
  peerNetns?: string;
  family: 4 | 6;
  address?: Buffer;
  prefix?: number;
  peerAddress?: Buffer;
  peerPrefix?: number;
  /** A default route in the sandbox via peerAddress. */
  route: boolean;
}

/** A failed step of a helper child (native/helper.h): an NSB_SYS_* id, errno, and a helper-specific step. */
export interface NativeHelperFailure {
  errno: number;
  sys: number;
  step: number;
}

/** Where a link goes: a process's network namespace, or an nsfs file descriptor's. */
export interface NativeNsRef {
  pid?: number;
  fd?: number;
}

export interface NativeLink {
  index: number;
  name: string;
  /** IFF_* flags. */
  flags: number;
  /** IFLA_INFO_KIND ('veth', 'bridge', ...); '' for plain devices. */
  kind: string;
}

/** native/network.cc: rtnetlink and named namespaces; every call resolves to >= 0 or -errno. */
export interface NativeNetwork {
  nlOpen(nsFd?: number): Promise<number | NativeHelperFailure>;
  vethAdd(sock: number, name: string, nameNs: NativeNsRef | null, peer: string, peerNs: NativeNsRef | null): Promise<number>;
  linkSetNetns(sock: number, link: number | string, to: NativeNsRef): Promise<number>;
  linkSetUp(sock: number, link: number | string, up: boolean): Promise<number>;
  linkDel(sock: number, link: number | string): Promise<number>;
  linkIndex(sock: number, name: string): Promise<number>;
  /** The id the socket's network namespace gives nsFd's; -ENOENT when none is assigned. */
  netnsId(sock: number, nsFd: number): Promise<number>;
  linkList(sock: number): Promise<NativeLink[] | number>;
  addrAdd(sock: number, index: number, family: 4 | 6, address: Buffer, prefix: number, flags: number): Promise<number>;
  routeAddDefault(sock: number, family: 4 | 6, gateway: Buffer, oif: number): Promise<number>;
  netnsAdd(dir: string, file: string): Promise<number | NativeHelperFailure>;
  /** Step and syscall numbers of the network concern, for the layout test. */
  networkLayout: Record<string, number>;
}

export interface NativeBinding extends NativeNetwork {
  Process: new () => NativeProcess;
  spawn(
    req: NativeSpawnRequest,
    proc: NativeProcess,
  ): { fds: (number | null)[]; initError?: number; pipeError?: number; fdError?: number; fdIndex?: number };
  unshare(flags: number): number;
  setns(fdOrPath: number | string, type?: number): number;
  mount(src: string | null, dst: string, fstype: string | null, flags: number, data?: string | null): number;
  umount(dst: string, flags?: number): number;
  pivotRoot(newRoot: string, putOld: string): number;
  chroot(dir: string): number;
  sethostname(name: string): number;
  setdomainname(name: string): number;
  openNamespace(pid: number, type: string): number;
  /** native/egress.cc: the channel the setup sends its listening sockets on. */
  egressSocketpair(): [number, number] | number;
  /** The sockets the setup sent (non-blocking), or -errno. */
  egressReceive(fd: number, max: number): number[] | number;
  /** A TCP socket inside the netns `netFd` (joining `userFd` first, unless -1). */
  egressSocketIn(userFd: number, netFd: number): number | NativeHelperFailure;
  /** splice() relay a <-> b on a thread; returns its cancel eventfd, or -errno. */
  egressRelay(a: number, b: number, toB: Buffer, toA: Buffer, done: () => void): number;
  egressRelayCancel(efd: number): number;
  /** Creates and reaps a child with these CLONE_NEW* flags: 0, or -errno when refused. */
  probeClone(flags: number): number;
  open(path: string, flags?: number): number;
  close(fd: number): number;
  /** open_tree(path, OPEN_TREE_CLONE | AT_RECURSIVE): a detached tree for an idmapped bind, or -errno. */
  openTree(path: string): number;
  /** Makes a detached tree an idmapped mount on which host ids uid/gid act as its owner ownerUid/ownerGid: 0 or -errno (native/idmap.cc). */
  idmapTree(tree: number, ownerUid: number, uid: number, ownerGid: number, gid: number): number;
  /** A non-blocking NETLINK_AUDIT socket on the read-only multicast group (needs CAP_AUDIT_READ): fd or -errno (native/audit.cc). */
  auditOpen(): number;
  /** The datagrams waiting on an audit socket (until EAGAIN), or -errno. */
  auditRead(fd: number): Buffer[] | number;
  /** AUDIT_GET: 0 audit off, 1 on, 2 locked; -errno when it cannot be asked (needs CAP_AUDIT_CONTROL). */
  auditStatus(): number;
  /** [master, terminal] of a new pseudo-terminal of that size, or -errno. */
  ptyOpen(cols: number, rows: number, nonblocking: boolean): [number, number] | number;
  /** TIOCSWINSZ on the master: 0 or -errno. */
  ptyResize(master: number, cols: number, rows: number): number;
  /** What the master holds now, read without waiting. */
  ptyDrain(master: number): Buffer[];
  /** Bytes written, or -errno (-EAGAIN: the terminal's input is full). */
  ptyWrite(master: number, data: Buffer, offset: number): number;
  getDumpable(): number;
  /** fcntl(fd, F_SETFD, on ? FD_CLOEXEC : 0) -> 0 or -errno (native/security.cc). */
  setCloexec(fd: number, on: boolean): number;
  // native/nsfs.cc: namespace files (ioctl_ns(2)) and pidfds.
  nsType(fd: number): number;
  nsUserns(fd: number): number;
  nsParent(fd: number): number;
  nsOwnerUid(fd: number): number;
  /** [inode, dev], or -errno. */
  nsStat(fdOrPath: number | string): [number, number] | number;
  pidfdOpen(pid: number): number;
  // native/probe.cc: harmless invalid calls for doctor(); 0 or -errno each.
  probes(): Record<'clone3' | 'pidfd_open' | 'pidfd_send_signal' | 'mount_setattr' | 'openat2' | 'seccomp' | 'seccompMode' | 'setns' | 'landlock', number>;
  constants: Record<string, number>;
  layout: Record<string, number>;
  [more: string]: unknown;
}

const packageRoot = join(__dirname, '..');
let loaded: NativeBinding | undefined;
let initPath: string | undefined;

/** The addon, loaded on first use; on another OS every call throws ENOTSUP. */
export function native(): NativeBinding {
  if (loaded) return loaded;
  if (process.platform !== 'linux') {
    throw nsbindError('ENOTSUP', `namespaces are a Linux feature; this is ${process.platform}`);
  }
  const require = createRequire(__filename);
  const load = require('node-gyp-build') as ((dir: string) => NativeBinding) & {
    resolve(dir: string): string;
  };
  loaded = load(packageRoot);
  initPath = join(dirname(load.resolve(packageRoot)), 'nsbind-init');
  if (!existsSync(initPath)) initPath = join(packageRoot, 'build', 'Release', 'nsbind-init');
  return loaded;
}

/** Path of nsbind's PID-1 init, shipped beside the addon. */
export function initBinary(): string {
  native();
  return initPath!;
}
