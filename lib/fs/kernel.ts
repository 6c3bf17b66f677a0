// Which kernel interface each filesystem step uses, from the kernel's release. The child
// (native/fs.cc) has both ways; TypeScript picks, so the choice is made once, is
// unit-testable, and costs the spawn path nothing (the release is read once).
import { release } from 'node:os';

/** [major, minor] of a release string such as `6.1.0-57-amd64`; [0, 0] when unreadable. */
export function kernelVersion(rel: string): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(rel);
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}

/** Whether `rel` is at least `major.minor`. */
export function atLeast(rel: string, major: number, minor: number): boolean {
  const [a, b] = kernelVersion(rel);
  return a > major || (a === major && b >= minor);
}

/**
 * Overlay layers by descriptor (fsconfig "lowerdir+", FSCONFIG_SET_FD) came with Linux 6.8;
 * before, the child names the same descriptors as /proc/self/fd/N in option strings.
 * @example overlayByPath('6.1.0-57-amd64') // true
 */
export function overlayByPath(rel: string): boolean {
  return !atLeast(rel, 6, 8);
}

/**
 * mount_setattr(2) came with Linux 5.12; before, binds, masks and read-only steps set their
 * mount flags the old way: mount(MS_REMOUNT | MS_BIND) on each mount of the tree, right
 * after it is attached (native/fs_remount.cc). Idmapped mounts need it too: none before.
 * @example noMountSetattr('5.10.0-30-amd64') // true
 */
export function noMountSetattr(rel: string): boolean {
  return !atLeast(rel, 5, 12);
}

/**
 * Whether open_tree cannot clone from a detached mount (before 6.15): a masked file's
 * empty file is then cloned by attaching its tmpfs over the root for a moment
 * (native/fs.cc clone_empty).
 * @example noDetachedClone('6.1.0-57-amd64') // true
 */
export function noDetachedClone(rel: string): boolean {
  return !atLeast(rel, 6, 15);
}

let cached: string | undefined;

/**
 * This kernel's release. NSBIND_TEST_KERNEL_RELEASE replaces it for the choice of
 * interfaces only (tests run the older kernels' paths on a new kernel).
 */
export function kernelRelease(): string {
  return process.env.NSBIND_TEST_KERNEL_RELEASE || (cached ??= release());
}

/**
 * Whether an exec enters the time namespace made by unshare (time_ns_for_children). New
 * kernels switch at exec; Debian's 6.1 does not (only a fork enters there), so on older
 * kernels the init forks the program (native/spawn.cc unshares, then writes the offsets).
 * 6.12 is where nsbind has seen it work; below that the fork is taken, which is right on
 * every kernel.
 * @example timeEnteredAtExec('6.1.0-57-amd64') // false
 */
export function timeEnteredAtExec(rel: string): boolean {
  return atLeast(rel, 6, 12);
}
