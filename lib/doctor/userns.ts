// May an unprivileged process create a user namespace here? Three switches decide, each
// set by a different distribution; we report every one that refuses, with its remedy.
import { native } from '../binding.js';
import { errnoName, NsbindError } from '../errors.js';
import { runHelper } from '../namespaces/helper.js';
import { PlanWriter } from '../plan/writer.js';
import { fail, ok, type Check } from './check.js';
import { sysctlFix, type Host } from './host.js';

/**
 * Try it: a helper child cloned into a new user namespace that exits at once. 0, or
 * the -errno of the refusal (EPERM from a seccomp profile or an LSM, ENOSPC from a limit).
 */
export async function probeUserns(): Promise<number> {
  try {
    await runHelper(new PlanWriter(), 'doctor.userns', native().constants.CLONE_NEWUSER);
    return 0;
  } catch (e) {
    return e instanceof NsbindError && e.errno ? -e.errno : -1;
  }
}

/**
 * @param tried the result of {@link probeUserns} for this process (undefined: not tried),
 *   which also catches refusals no sysctl shows: a container's seccomp profile, an LSM.
 */
export function usernsCheck(host: Host, kernelHasUserns: boolean, tried?: number): Check {
  if (!kernelHasUserns) {
    return fail('the kernel has no user namespaces', 'a kernel built with CONFIG_USER_NS');
  }
  const reasons: string[] = [];
  const fixes: string[] = [];
  // Upstream: a limit of 0 forbids user namespaces to everyone, root included.
  if (host.sysctl('user.max_user_namespaces') === 0) {
    reasons.push('user.max_user_namespaces is 0: no user namespace may be created');
    fixes.push(sysctlFix('user.max_user_namespaces', 15000));
  }
  // Debian's (and older Ubuntu's, Arch's linux-hardened's) patch: 0 allows them to
  // privileged processes only. Absent upstream.
  if (host.sysctl('kernel.unprivileged_userns_clone') === 0) {
    reasons.push('kernel.unprivileged_userns_clone is 0: only privileged (CAP_SYS_ADMIN) processes may create user namespaces');
    fixes.push(sysctlFix('kernel.unprivileged_userns_clone', 1));
  }
  // Ubuntu 23.10+: AppArmor lets unconfined programs create a user namespace but gives
  // them no capabilities in it, so every mount/sethostname inside fails with EPERM.
  if (host.sysctl('kernel.apparmor_restrict_unprivileged_userns') === 1) {
    reasons.push(
      'kernel.apparmor_restrict_unprivileged_userns is 1: AppArmor denies capabilities inside user namespaces ' +
        'to programs without a profile that allows `userns,` (or write an AppArmor profile for node: ' +
        `\`abi <abi/4.0>, include <tunables/global> profile nsbind-node ${process.execPath} flags=(unconfined) { userns, }\` in /etc/apparmor.d/nsbind-node, then \`sudo apparmor_parser -r /etc/apparmor.d/nsbind-node\`)`,
    );
    fixes.push(sysctlFix('kernel.apparmor_restrict_unprivileged_userns', 0));
  }
  if (tried !== undefined && tried < 0 && reasons.length === 0) {
    const code = errnoName(-tried);
    reasons.push(
      `creating a user namespace failed here with ${code}` +
        (code === 'ENOSPC' ? ': a user.max_user_namespaces limit (perhaps of an enclosing user namespace) is reached'
          : ': a seccomp profile (a container runtime\'s) or a security module forbids it'),
    );
    fixes.push(code === 'ENOSPC' ? sysctlFix('user.max_user_namespaces', 15000)
      : 'run the container with `--security-opt seccomp=unconfined` (Docker/Podman) or a profile that allows clone/unshare with CLONE_NEWUSER');
  }
  if (reasons.length === 0) return ok();
  return fail(reasons.join('; '), fixes.join(' && '));
}
