// nsbind/syscalls: thin synchronous wrappers acting on the CALLING process.
//
// The Node process is multithreaded, and the kernel refuses some namespace operations
// to a multithreaded process: joining a user namespace (setns), unsharing a user
// namespace, and joining a mount namespace (its threads share one filesystem context)
// all fail with EINVAL. Others act only on the calling thread (setns into a net or uts
// namespace changes the JS thread, not libuv's threadpool). For anything beyond
// experiments, use `sandbox()`, which does its namespace work in a fresh child.
import { native } from './binding.js';
import { systemError } from './errors.js';

function check(r: number, syscall: string, path?: string): number {
  if (r < 0) throw systemError(-r, { syscall, ...(path ? { path } : {}) });
  return r;
}

/** unshare(2) for the calling thread/process. `CLONE_NEWUSER` fails here (multithreaded). */
export function unshare(flags: number): void {
  check(native().unshare(flags), 'unshare');
}

/** setns(2) by fd or namespace file path; `type` 0 accepts any. */
export function setns(fdOrPath: number | string, type = 0): void {
  check(native().setns(fdOrPath, type), 'setns', typeof fdOrPath === 'string' ? fdOrPath : undefined);
}

/** mount(2). */
export function mount(src: string | null, dst: string, fstype: string | null, flags: number, data?: string | null): void {
  check(native().mount(src, dst, fstype, flags, data ?? null), 'mount', dst);
}

/** umount2(2). */
export function umount(dst: string, flags = 0): void {
  check(native().umount(dst, flags), 'umount2', dst);
}

/** pivot_root(2). */
export function pivotRoot(newRoot: string, putOld: string): void {
  check(native().pivotRoot(newRoot, putOld), 'pivot_root', newRoot);
}

/** chroot(2). */
export function chroot(dir: string): void {
  check(native().chroot(dir), 'chroot', dir);
}

/** sethostname(2): needs a UTS namespace of your own (see unshare(CLONE_NEWUTS)). */
export function sethostname(name: string): void {
  check(native().sethostname(name), 'sethostname');
}

/** setdomainname(2). */
export function setdomainname(name: string): void {
  check(native().setdomainname(name), 'setdomainname');
}

/** Opens `/proc/PID/ns/TYPE`; returns the fd (close it with fs.closeSync). */
export function openNamespace(pid: number, type: string): number {
  return check(native().openNamespace(pid, type), 'open', `/proc/${pid}/ns/${type}`);
}

function constant(name: string): number {
  return process.platform === 'linux' ? native().constants[name] : 0;
}

export const CLONE_NEWNS = 0x00020000;
export const CLONE_NEWCGROUP = 0x02000000;
export const CLONE_NEWUTS = 0x04000000;
export const CLONE_NEWIPC = 0x08000000;
export const CLONE_NEWUSER = 0x10000000;
export const CLONE_NEWPID = 0x20000000;
export const CLONE_NEWNET = 0x40000000;
export const CLONE_NEWTIME = 0x00000080;
export const MS_RDONLY = 1;
export const MS_NOSUID = 2;
export const MS_NODEV = 4;
export const MS_NOEXEC = 8;
export const MS_REMOUNT = 32;
export const MS_BIND = 4096;
export const MS_MOVE = 8192;
export const MS_REC = 16384;
export const MS_PRIVATE = 1 << 18;
export const MS_SLAVE = 1 << 19;
export const MS_SHARED = 1 << 20;
export const MS_UNBINDABLE = 1 << 17;
export const MNT_FORCE = 1;
export const MNT_DETACH = 2;
export const MNT_EXPIRE = 4;
export const UMOUNT_NOFOLLOW = 8;
/** @internal for the layout test */
export const _constant = constant;
