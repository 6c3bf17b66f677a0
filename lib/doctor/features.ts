// Which namespace types and system calls this kernel (and the seccomp policy we run
// under) offers. Syscalls are probed with arguments the kernel rejects before doing
// anything (native/probe.cc): ENOSYS means absent, anything else means present.
import { fail, ok, type Check } from './check.js';
import { sysctlFix, type Host } from './host.js';
import { namespaceTypes, type NamespaceType } from '../namespaces/types.js';

const ENOSYS = 38;
const EPERM = 1;

/** Results of native probes(): 0 or -errno per call. */
export type Probes = Record<'clone3' | 'pidfd_open' | 'pidfd_send_signal' | 'mount_setattr' | 'openat2' | 'seccomp' | 'seccompMode' | 'setns' | 'landlock', number>;

const kernelConfig: Record<NamespaceType, string> = {
  user: 'CONFIG_USER_NS',
  pid: 'CONFIG_PID_NS',
  mnt: 'CONFIG_NAMESPACES',
  uts: 'CONFIG_UTS_NS',
  ipc: 'CONFIG_IPC_NS',
  net: 'CONFIG_NET_NS',
  cgroup: 'CONFIG_CGROUPS (Linux 4.6 or later)',
  time: 'CONFIG_TIME_NS (Linux 5.6 or later)',
};

/** A namespace type is there when /proc/self/ns has it and its user.max_* limit is not 0. */
export function namespaceChecks(host: Host): Record<NamespaceType, Check> {
  const out = {} as Record<NamespaceType, Check>;
  for (const type of namespaceTypes) {
    const limit = `user.max_${type}_namespaces`;
    if (!host.exists(`/proc/self/ns/${type}`)) {
      out[type] = fail(`the kernel has no ${type} namespaces (/proc/self/ns/${type} is missing)`, `a kernel built with ${kernelConfig[type]}`);
    } else if (host.sysctl(limit) === 0) {
      out[type] = fail(`${limit} is 0: nobody may create ${type} namespaces`, sysctlFix(limit, 15000));
    } else {
      out[type] = ok();
    }
  }
  return out;
}

function syscallCheck(name: string, r: number, since: string, fix?: string, without?: string): Check {
  if (r === -ENOSYS) {
    return fail(`${name} is not available: the kernel is older than ${since}, or a seccomp profile (a container's) hides it${without ? `; ${without}` : ''}`, fix);
  }
  if (r === -EPERM) return fail(`${name} is refused (EPERM) by a seccomp profile`, fix);
  return ok();
}

const unconfined = 'run the container with `--security-opt seccomp=unconfined` (Docker/Podman), or a kernel of ';

export function syscallChecks(p: Probes, timeNamespaces: Check, host: Host) {
  const pidfd = p.pidfd_open === -ENOSYS || p.pidfd_send_signal === -ENOSYS
    ? syscallCheck('pidfd_open/pidfd_send_signal', -ENOSYS, 'Linux 5.3', `${unconfined}Linux 5.3 or later`)
    : syscallCheck('pidfd_open', p.pidfd_open, 'Linux 5.3', `${unconfined}Linux 5.3 or later`);
  let seccomp: Check;
  if (p.seccomp === -ENOSYS) seccomp = fail('the kernel has no seccomp', 'a kernel built with CONFIG_SECCOMP_FILTER');
  else if (p.seccomp < 0) seccomp = fail(`seccomp filters are not available (${p.seccomp === -22 ? 'EINVAL' : p.seccomp})`, 'a kernel built with CONFIG_SECCOMP_FILTER (Linux 4.14 or later)');
  else seccomp = ok();
  let timens = timeNamespaces;
  if (timens.ok && !host.exists('/proc/self/timens_offsets')) {
    timens = fail('the kernel has no /proc/PID/timens_offsets', 'a kernel built with CONFIG_TIME_NS (Linux 5.6 or later)');
  }
  return {
    clone3: syscallCheck('clone3', p.clone3, 'Linux 5.3', `${unconfined}Linux 5.3 or later (nsbind falls back to clone)`),
    pidfd,
    timens,
    mountSetattr: syscallCheck('mount_setattr', p.mount_setattr, 'Linux 5.12', `${unconfined}Linux 5.12 or later`,
      // What nsbind does without it (README "Kernels"): filesystem steps still work.
      'filesystem steps set their mount flags with mount(MS_REMOUNT) on each mount instead, and writable binds are not idmapped'),
    openat2: syscallCheck('openat2', p.openat2, 'Linux 5.6', `${unconfined}Linux 5.6 or later`),
    seccomp,
  };
}
