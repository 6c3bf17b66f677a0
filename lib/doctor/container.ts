// Are we inside a container (or WSL)? Their runtimes change what nsbind can do: seccomp
// profiles hide syscalls, cgroups are read-only, and /proc is partly masked.
import { fail, ok, type Check } from './check.js';
import type { Host } from './host.js';
import { mountInfo } from '../namespaces/procfs.js';

/** The container runtime we run in, by the marks each leaves; undefined on a plain host. */
export function detectContainer(host: Host): string | undefined {
  if (host.exists('/.dockerenv')) return 'docker';
  if (host.exists('/run/.containerenv')) return 'podman';
  // systemd's convention: the runtime names itself in PID 1's environment, and
  // systemd copies it to /run/systemd/container.
  const named = host.read('/run/systemd/container')?.trim() ||
    /(?:^|\0)container=([^\0]*)/.exec(host.read('/proc/1/environ') ?? '')?.[1];
  if (named) return named;
  const cgroup = host.read('/proc/1/cgroup') ?? '';
  if (/\/kubepods/.test(cgroup)) return 'kubernetes';
  if (/\/docker[/-]/.test(cgroup)) return 'docker';
  if (/\/lxc(\.payload)?[/.]/.test(cgroup)) return 'lxc';
  if (/\/libpod-/.test(cgroup)) return 'podman';
  const release = host.read('/proc/sys/kernel/osrelease') ?? '';
  if (/microsoft|WSL/i.test(release)) return 'wsl';
  return undefined;
}

/**
 * Is /proc whole? Container runtimes mount over parts of it (/proc/kcore, /proc/keys,
 * a read-only /proc/sys...). The kernel then refuses a new procfs inside an unprivileged
 * user namespace (it would reveal what was hidden), so `.proc()` fails there.
 */
export function procCheck(host: Host): Check & { masked: string[] } {
  const masked = mountInfo(host.path('/proc/self/mountinfo'))
    .filter((m) => m.mountPoint.startsWith('/proc/'))
    .map((m) => m.mountPoint)
    // binfmt_misc is the host's own automount, not a mask.
    .filter((p) => p !== '/proc/sys/fs/binfmt_misc');
  if (masked.length === 0) return { ...ok(), masked };
  return {
    masked,
    ...fail(
      `/proc is partly masked (${masked.join(', ')}): the kernel refuses a new /proc inside an unprivileged user namespace`,
      'run the container with `--security-opt systempaths=unconfined` (Docker/Podman), or as root without a user namespace',
    ),
  };
}
