// doctor(): what this machine lets nsbind do, and for everything it refuses, why and the
// exact command that changes it. Tests use it for skipIf; `nsbind doctor` prints it.
// It only reads files and makes harmless invalid system calls: nothing is created.
import { release } from 'node:os';
import { native } from '../binding.js';
import { invalid } from '../errors.js';
import type { NamespaceType } from '../namespaces/types.js';
import type { Check } from './check.js';
import { cgroupCheck, type CgroupCheck } from './cgroup.js';
import { detectContainer, procCheck } from './container.js';
import { namespaceChecks, syscallChecks, type Probes } from './features.js';
import { Host } from './host.js';
import { newuidmapCheck, subuidCheck, type SubidCheck } from './ids.js';
import { probeUserns, usernsCheck } from './userns.js';

export type { Check } from './check.js';
export type { CgroupCheck } from './cgroup.js';
export type { SubidCheck, IdRange } from './ids.js';

/** What {@link doctor} found. */
export interface Report {
  /** The kernel release, as `uname -r` prints it. */
  kernel: string;
  /** Each namespace type: does the kernel have it, and may it be created (its `user.max_*` limit). */
  namespaces: Record<NamespaceType, Check>;
  /** May an unprivileged process create user namespaces? */
  userns: Check;
  /** Cgroups for `.limits()`: the version, and whether our own cgroup is writable (delegated). */
  cgroup: CgroupCheck;
  clone3: Check;
  /** pidfd_open and pidfd_send_signal (race-free kill and join). */
  pidfd: Check;
  /** Time namespaces and their offsets file. */
  timens: Check;
  mountSetattr: Check;
  openat2: Check;
  /** Seccomp filters (the default profile needs them). */
  seccomp: Check;
  /** newuidmap and newgidmap, for mapping more ids than our own. */
  newuidmap: Check;
  /** The current user's subordinate id ranges in /etc/subuid and /etc/subgid. */
  subuid: SubidCheck;
  /** Whether a fresh /proc can be mounted (it cannot when a container masks parts of it). */
  proc: Check & { masked: string[] };
  /** Landlock (`.files()` on new files, renames and links; `.landlock()`): the highest ABI, 0 without. */
  landlock: Check & { abi: number };
  /**
   * What sandboxes get here: `'namespaces'` (root, or user namespaces allowed);
   * `'degraded'` (user namespaces refused: `.files()`/`.landlock()`, seccomp, rlimits,
   * no_new_privs and limits only, no namespace; SPEC 2.5); `'none'` (refused and no
   * Landlock: `.files()` cannot be enforced).
   */
  mode: 'namespaces' | 'degraded' | 'none';
  /** The container runtime (`'docker'`, `'podman'`, `'lxc'`, `'kubernetes'`, `'wsl'`...) when there is one. */
  container?: string;
}

/** @internal Options for tests: read the machine from a fixture tree, fake the probes. */
export interface DoctorOptions {
  /** Prefix for every file read (`/proc/sys/...`, `/etc/subuid`...). @default '' (this machine) */
  root?: string;
  /** Results of the syscall probes, instead of making them. */
  probes?: Partial<Probes>;
  /** Result of trying to create a user namespace (0 or -errno), instead of trying. Not tried with `root`. */
  userns?: number;
  /** The user whose subordinate ids count. @default the current user */
  user?: { name: string; uid: number };
}

/**
 * What this machine lets nsbind do. Every {@link Check} says `ok`, and when not, the
 * `reason` and the `fix` (the exact command or setting).
 *
 * @example
 * const report = await doctor();
 * if (!report.userns.ok) console.error(report.userns.reason, '\n  fix:', report.userns.fix);
 * // in tests:
 * it.skipIf(!report.timens.ok)('offsets the clock', ...)
 */
export async function doctor(options: DoctorOptions = {}): Promise<Report> {
  if (options === null || typeof options !== 'object') throw invalid('doctor', 'expected an options object');
  const host = new Host(options.root ?? '');
  const probes: Probes = { ...native().probes(), ...options.probes };
  const namespaces = namespaceChecks(host);
  const uid = options.user?.uid ?? process.getuid?.() ?? 0;
  const kernel = options.root !== undefined ? (host.read('/proc/sys/kernel/osrelease')?.trim() ?? '') : release();
  const container = detectContainer(host);
  const tried = options.userns ?? (options.root === undefined && namespaces.user.ok ? await probeUserns() : undefined);
  const userns = usernsCheck(host, host.exists('/proc/self/ns/user'), tried);
  const abi = probes.landlock > 0 ? probes.landlock : 0;
  const landlock = abi > 0
    ? { ok: true, abi }
    : {
        ok: false,
        abi: 0,
        reason: probes.landlock === -95 ? 'Landlock is built but not enabled at boot' : 'the kernel has no Landlock (Linux 5.13+)',
        fix: 'boot with landlock in the lsm= list (e.g. lsm=landlock,lockdown,yama,integrity,apparmor,bpf)',
      };
  // The probe's answer when there is one: uid 0 inside a user namespace without
  // capabilities, or in a container whose seccomp refuses CLONE_NEWUSER, is refused too.
  const namespacesOk = tried !== undefined ? tried === 0 : uid === 0 || userns.ok;
  const mode = namespacesOk ? 'namespaces' : abi > 0 ? 'degraded' : 'none';
  return {
    kernel,
    namespaces,
    userns,
    cgroup: cgroupCheck(host, uid),
    ...syscallChecks(probes, namespaces.time, host),
    newuidmap: newuidmapCheck(host),
    subuid: subuidCheck(host, options.user),
    proc: procCheck(host),
    landlock,
    mode,
    ...(container ? { container } : {}),
  };
}
