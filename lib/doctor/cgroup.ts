// Which cgroup version this machine runs, and whether nsbind can make a cgroup beneath
// our own one for `.limits()` (it never makes one anywhere else).
import { posix } from 'node:path';
import { fail, type Check } from './check.js';
import type { Host } from './host.js';
import { mountInfo } from '../namespaces/procfs.js';

export interface CgroupCheck extends Check {
  /** 2 (unified), 1 (legacy) or 'hybrid' (controllers on v1, an empty v2 beside them). */
  version: 1 | 2 | 'hybrid';
  /** Our own cgroup directory in the hierarchy that carries the controllers. */
  path?: string;
}

/** The controllers limits need: memory, pids, cpu. */
const needed = ['memory', 'pids', 'cpu'];

export function cgroupCheck(host: Host, uid: number): CgroupCheck {
  // /proc/self/cgroup: "0::/path" is v2; "N:memory,...:/path" lines are v1 hierarchies.
  const lines = (host.read('/proc/self/cgroup') ?? '').split('\n').filter(Boolean).map((l) => {
    const [, , controllers, path] = /^([0-9]+):([^:]*):(.*)$/.exec(l) ?? [];
    return { controllers: (controllers ?? '').split(',').filter(Boolean), path: path ?? '/' };
  });
  const v1 = lines.filter((l) => l.controllers.length > 0);
  const v2 = lines.find((l) => l.controllers.length === 0);
  const mounts = mountInfo(host.path('/proc/self/mountinfo'));
  const v1ByController = new Map<string, string>();
  for (const l of v1) for (const c of l.controllers) v1ByController.set(c, l.path);
  const liveV1 = needed.filter((c) => v1ByController.has(c) && mounts.some((m) => m.fstype === 'cgroup' && m.superOptions.split(',').includes(c)));
  const version: CgroupCheck['version'] = v1.length === 0 ? 2 : v2 && mounts.some((m) => m.fstype === 'cgroup2') ? 'hybrid' : 1;

  // Our directory in a hierarchy: the mount point plus our path relative to the mount's
  // root (which is not '/' inside a cgroup namespace).
  const dirOf = (fstype: string, controller: string | undefined, path: string): string | undefined => {
    const m = mounts.find((x) => x.fstype === fstype && (!controller || x.superOptions.split(',').includes(controller)) && (path + '/').startsWith(x.root === '/' ? '/' : x.root + '/'));
    if (!m) return undefined;
    return posix.join(m.mountPoint, m.root === '/' ? path : path.slice(m.root.length));
  };
  const delegate = delegationFix(host);
  const userFix = uid === 0
    ? 'give this process a writable cgroup filesystem (in Docker: `--privileged`, or `--cgroupns=host -v /sys/fs/cgroup:/sys/fs/cgroup:rw`)'
    : delegate;

  if (version === 2 || (version === 'hybrid' && liveV1.length === 0)) {
    const dir = v2 ? dirOf('cgroup2', undefined, v2.path) : undefined;
    if (!dir) return { version, ...fail('no cgroup2 filesystem is mounted', 'sudo mount -t cgroup2 none /sys/fs/cgroup') };
    const controllers = (host.read(`${dir}/cgroup.controllers`) ?? '').trim().split(/\s+/).filter(Boolean);
    const missing = needed.filter((c) => !controllers.includes(c));
    if (!host.writable(dir) || !host.writable(`${dir}/cgroup.procs`)) {
      return { version, path: dir, ...fail(`our cgroup ${dir} is not writable${uid === 0 ? '' : ' (not delegated to this user)'}`, userFix) };
    }
    if (missing.length) {
      return { version, path: dir, ...fail(`the controllers ${missing.join(', ')} are not enabled for ${dir} (cgroup.controllers)`, uid === 0
        ? `echo '${missing.map((c) => '+' + c).join(' ')}' | sudo tee ${posix.dirname(dir)}/cgroup.subtree_control`
        : delegate) };
    }
    return { version, path: dir, ok: true };
  }

  // v1 (or hybrid with v1 controllers): one directory per controller.
  const missing = needed.filter((c) => !liveV1.includes(c));
  const dirs = liveV1.map((c) => ({ c, dir: dirOf('cgroup', c, v1ByController.get(c)!) }));
  const path = dirs.find((d) => d.c === 'memory')?.dir ?? dirs[0]?.dir;
  const base = { version, ...(path ? { path } : {}) };
  if (missing.length) return { ...base, ...fail(`the cgroup v1 controllers ${missing.join(', ')} are not mounted`, `sudo mount -t cgroup -o ${missing[0]} none /sys/fs/cgroup/${missing[0]}`) };
  const locked = dirs.filter((d) => !d.dir || !host.writable(d.dir) || !host.writable(`${d.dir}/cgroup.procs`));
  if (locked.length) {
    return { ...base, ...fail(`our cgroup is not writable in the ${locked.map((d) => d.c).join(', ')} hierarchy (${locked.map((d) => d.dir ?? '?').join(', ')})`, userFix) };
  }
  return { ...base, ok: true };
}

/**
 * How an unprivileged user gets a cgroup of their own: systemd-run where systemd is the
 * init (sd_booted's test: /run/systemd/system exists); elsewhere (containers, OpenRC,
 * WSL without systemd) an administrator hands over a directory.
 */
export function delegationFix(host: Host): string {
  if (host.exists('/run/systemd/system')) return 'run node in a cgroup delegated to you: `systemd-run --user --scope -p Delegate=yes node app.js`';
  return 'this system does not run systemd: have an administrator delegate a cgroup to you (mkdir it, chown it and its cgroup.procs, cgroup.subtree_control and cgroup.threads to you) and start node in it, or run as root';
}
