// Which cgroup version this machine runs, and whether `.limits()` can work here — the one
// cgroup check. On cgroup v2 it asks the same placement the spawn uses
// (lib/cgroup/placement.ts), so what doctor() says is what a limited spawn does: it looks
// without creating or moving anything.
import { posix } from 'node:path';
import { fail, type Check } from './check.js';
import type { Host } from './host.js';
import { mountInfo } from '../namespaces/procfs.js';
import { PARENT_ENV, pidsOf, planV2, type CgroupView } from '../cgroup/placement.js';
import type { NsbindError } from '../errors.js';

export interface CgroupCheck extends Check {
  /** 2 (unified), 1 (legacy) or 'hybrid' (controllers on v1, an empty v2 beside them). */
  version: 1 | 2 | 'hybrid';
  /** Where sandbox cgroups go: on v1 our own cgroup in the memory hierarchy; on v2 the parent the placement picks. */
  path?: string;
  /** What the first limited spawn will do first, when it does something (Node moves into its leaf). */
  note?: string;
}

/** The controllers limits need: memory, pids, cpu. */
const needed = ['memory', 'pids', 'cpu'];

export function cgroupCheck(host: Host, uid: number, env: string | undefined = process.env[PARENT_ENV], pid: number = process.pid): CgroupCheck {
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
  const systemd = host.exists('/run/systemd/system');

  // Our directory in a hierarchy: the mount point plus our path relative to the mount's
  // root (which is not '/' inside a cgroup namespace).
  const mountOf = (fstype: string, controller: string | undefined, path: string) =>
    mounts.find((x) => x.fstype === fstype && (!controller || x.superOptions.split(',').includes(controller)) && (path + '/').startsWith(x.root === '/' ? '/' : x.root + '/'));
  const dirOf = (fstype: string, controller: string | undefined, path: string): string | undefined => {
    const m = mountOf(fstype, controller, path);
    if (!m) return undefined;
    const dir = posix.join(m.mountPoint, m.root === '/' ? path : path.slice(m.root.length));
    return dir.length > 1 ? dir.replace(/\/+$/, '') : dir;
  };
  const delegateFix = systemd
    ? `run node alone in a delegated cgroup: \`systemd-run ${uid === 0 ? '' : '--user '}--scope -p Delegate=yes node app.js\` (for a service: Delegate=yes in its unit)`
    : uid === 0
      ? 'give this process a writable cgroup filesystem (in Docker: `--privileged`, or `--cgroupns=private` with a writable /sys/fs/cgroup)'
      : 'run node as the only process of a cgroup delegated to this user';

  if (version === 2 || (version === 'hybrid' && liveV1.length === 0)) {
    const m = v2 ? mountOf('cgroup2', undefined, v2.path) : undefined;
    const dir = v2 ? dirOf('cgroup2', undefined, v2.path) : undefined;
    if (!m || !dir || !v2) return { version, ...fail('no cgroup2 filesystem is mounted', 'sudo mount -t cgroup2 none /sys/fs/cgroup') };
    const view: CgroupView = {
      read: (p) => host.read(p),
      exists: (p) => host.exists(p),
      writable: (p) => host.writable(p),
      systemd,
    };
    const h = { version: 2 as const, mountPoint: m.mountPoint, ownDir: dir, ownPath: v2.path, controllers: [], readOnly: false };
    let where;
    try {
      where = planV2(h, version === 2 ? 'v2' : 'hybrid', env, pid, view);
    } catch (e) {
      const err = e as NsbindError;
      // The message without its prefix and its hint (the hint is the fix).
      return { version, path: dir, ...fail(err.message.replace(/^(nsbind: )?limits: /, '').replace(/\n\s*hint: [\s\S]*$/, ''), err.hint ?? delegateFix) };
    }
    const parent = where.parentDir;
    const controllers = (host.read(`${parent}/cgroup.controllers`) ?? '').trim().split(/\s+/).filter(Boolean);
    const missing = needed.filter((c) => !controllers.includes(c));
    if (missing.length) {
      return { version, path: parent, ...fail(`the controllers ${missing.join(', ')} are not enabled for ${parent} (cgroup.controllers)`,
        systemd ? delegateFix : uid === 0
          ? `echo '${missing.map((c) => '+' + c).join(' ')}' | sudo tee ${posix.dirname(parent)}/cgroup.subtree_control`
          : 'ask for a cgroup with these controllers delegated to this user') };
    }
    if (!host.writable(parent)) {
      return { version, path: parent, ...fail(`${parent} is not writable${uid === 0 ? '' : ' (not delegated to this user)'}`, delegateFix) };
    }
    // Node's own cgroup on hybrid hosts: it holds Node, so the rule refuses (nothing moves there).
    if (where.via === 'own' && pidsOf(host.read(`${parent}/cgroup.procs`)).length > 0) {
      return { version, path: parent, ...fail(`cgroup v2's "no internal processes" rule: ${parent} holds the Node process, so no controller can be given to its children`, delegateFix) };
    }
    const note = where.moveNodeTo !== undefined
      ? `Node is alone in ${parent}: the first limited spawn moves it into ${where.moveNodeTo} and makes the sandbox cgroups beside it`
      : undefined;
    return { version, path: parent, ok: true, ...(note ? { note } : {}) };
  }

  // v1 (or hybrid with v1 controllers): one directory per controller.
  const missing = needed.filter((c) => !liveV1.includes(c));
  const dirs = liveV1.map((c) => ({ c, dir: dirOf('cgroup', c, v1ByController.get(c)!) }));
  const path = dirs.find((d) => d.c === 'memory')?.dir ?? dirs[0]?.dir;
  const base = { version, ...(path ? { path } : {}) };
  if (missing.length) return { ...base, ...fail(`the cgroup v1 controllers ${missing.join(', ')} are not mounted`, `sudo mount -t cgroup -o ${missing[0]} none /sys/fs/cgroup/${missing[0]}`) };
  const locked = dirs.filter((d) => !d.dir || !host.writable(d.dir) || !host.writable(`${d.dir}/cgroup.procs`));
  if (locked.length) {
    return { ...base, ...fail(`our cgroup is not writable in the ${locked.map((d) => d.c).join(', ')} hierarchy (${locked.map((d) => d.dir ?? '?').join(', ')})`, delegateFix) };
  }
  return { ...base, ok: true };
}

