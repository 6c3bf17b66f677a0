// What to tell users when the cgroup they need cannot be had. Each hint names the
// directory involved and the command or setting that changes the answer.
import { existsSync } from 'node:fs';

/**
 * Whether systemd is the init here (sd_booted()'s test), so that `systemd-run` is a fix
 * worth printing. Only called on error paths.
 */
export function systemdRuns(): boolean {
  return existsSync('/run/systemd/system');
}

/** How to get a delegated cgroup: systemd-run where systemd runs, else an administrator's mkdir/chown. */
export function delegateHowTo(extra = ''): string {
  return systemdRuns()
    ? `systemd-run --user --scope -p Delegate=yes${extra} node app.js`
    : 'have an administrator create a cgroup for you (mkdir, then chown it and its cgroup.procs, cgroup.subtree_control and cgroup.threads to you) and start Node in it (this system does not run systemd)';
}

/** No hierarchy we may write beneath our own cgroup (typical rootless v2 without delegation). */
export function delegationHint(dir: string): string {
  return (
    `nsbind creates sandbox cgroups beneath the Node process's own cgroup (${dir}) and may not write there. ` +
    (systemdRuns()
      ? 'Run Node in a cgroup delegated to you, e.g. `systemd-run --user --scope -p Delegate=yes node app.js` (for a service: Delegate=yes in its unit), or run as root'
      : `Run Node in a cgroup delegated to you: ${delegateHowTo()}; or run as root`)
  );
}

/**
 * v2's "no internal processes" rule: controllers are given to the children of a cgroup
 * only while it holds no process (the real root excepted). nsbind does not even try then:
 * enabling pids or cpu would succeed but turn the cgroup into a thread root.
 */
export function noInternalProcessesHint(dir: string, controllers: string[], systemd = systemdRuns()): string {
  const alone = systemd ? 'Run Node alone in a delegated cgroup (`systemd-run --user --scope -p Delegate=yes node app.js`; ' : 'Run Node as the only process of a cgroup delegated to you (';
  return (
    `cgroup v2's "no internal processes" rule: ${controllers.join(', ')} can be given to the children of ${dir} ` +
    'only while that cgroup holds no process, and it holds some (pids and cpu too: enabling them there would make it a thread root). ' +
    `${alone}nsbind then moves Node into a leaf of its own), ` +
    'or set NSBIND_CGROUP_PARENT to an empty delegated cgroup the launcher prepared'
  );
}

/** A controller the limits need is not offered to our cgroup. */
export function missingControllerHint(dir: string, missing: string[], version: 1 | 2): string {
  if (version === 2) {
    return (
      `${missing.join(', ')} is not listed in ${dir}/cgroup.controllers: the parent cgroups do not delegate it. ` +
      (systemdRuns() ? 'With systemd: `systemd-run --user --scope -p Delegate=yes node app.js`, or enable' : 'Enable') + ' it in each ancestor\'s cgroup.subtree_control'
    );
  }
  return `no cgroup v1 hierarchy with ${missing.join(', ')} is mounted (see /proc/self/mountinfo); mount it or boot with cgroup v2`;
}
