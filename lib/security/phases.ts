// Where the security settings go in the child's plan. The order is the kernel's:
//
//   ... setsid, umask
//   rlimits                     before the uid switch: raising a limit may need privileges
//   [seccomp, when no_new_privs is off: see below]
//   PR_SET_KEEPCAPS             with .as(): so the uid switch keeps the permitted set
//   setgroups/setgid/setuid     (lib/plan.ts)
//   cwd                         (lib/plan.ts)
//   capabilities                bounding, e/p/i, ambient (native/security.cc says why in that order)
//   PR_SET_NO_NEW_PRIVS
//   landlock                    .files()/.landlock() (landlock.ts): after every setup step
//                               that writes (it would be refused), before seccomp
//   seccomp                     last: nothing nsbind does is filtered, only the program
//   exec                        (through nsbind's init when there is one: it runs under all of this too)
//
// Without no_new_privs the kernel installs a filter only for a task with CAP_SYS_ADMIN,
// which the child no longer has once it switched uid and dropped capabilities; so the
// filter then goes in before those steps, while the child still holds them (runc does the
// same), and the steps after it (setresuid, capset, prctl, chdir, execve) are allowed by
// every profile nsbind generates.
import { readFileSync } from 'node:fs';
import type { PlanContext } from '../plan/context.js';
import { CAPS_ALL, Op } from '../plan/layout.js';
import { capabilityMask, CAP_LAST_KNOWN, type Capabilities } from './capabilities.js';
import { compileLandlock } from './landlock.js';
import { effectiveRlimits, RLIMITS, rlimitValue, type RlimitName } from './rlimits.js';
import { compileSeccomp, type Seccomp } from './seccomp.js';

const PR_SET_KEEPCAPS = 8;
const PR_SET_NO_NEW_PRIVS = 38;

let lastCap: number | undefined;
/** The kernel's highest capability number (newer kernels may know more than nsbind). */
function capLastCap(): number {
  if (lastCap === undefined) {
    try {
      lastCap = Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim());
    } catch {
      lastCap = CAP_LAST_KNOWN;
    }
    if (!Number.isInteger(lastCap) || lastCap < 0 || lastCap > 63) lastCap = CAP_LAST_KNOWN;
  }
  return lastCap;
}

const filters = new Map<string, Buffer | null>();
/** The compiled filter of a profile, compiled once per profile. */
function filterFor(profile: Seccomp): Buffer | null {
  const key = JSON.stringify(profile);
  let f = filters.get(key);
  if (f === undefined) {
    f = compileSeccomp(profile);
    if (filters.size > 64) filters.clear();
    filters.set(key, f);
  }
  return f;
}

function seccompOp(ctx: PlanContext): void {
  const filter = filterFor(ctx.options.seccomp ?? 'default');
  if (!filter) return;
  ctx.writer.op(Op.SECCOMP, 'seccomp', { s: [ctx.writer.blob(filter, 8)], n: [filter.length / 8] });
}

/** Ops right before the uid/gid switch: rlimits, seccomp without no_new_privs, keepcaps. */
export function securityBeforeCredentials(ctx: PlanContext): void {
  const { options, writer: w } = ctx;
  const limits = effectiveRlimits(options.rlimits);
  for (const [name, [soft, hard]] of Object.entries(limits) as [RlimitName, [number | 'unlimited', number | 'unlimited']][]) {
    w.op(Op.RLIMIT, `rlimit ${name} ${soft}:${hard}`, { n: [RLIMITS[name], rlimitValue(soft), rlimitValue(hard)] });
  }
  if (options.noNewPrivileges === false) seccompOp(ctx);
  if (options.as && (options.as.uid !== undefined || options.as.gid !== undefined)) {
    w.op(Op.PRCTL, 'keep capabilities across the uid switch', { n: [PR_SET_KEEPCAPS, 1, 0] });
  }
}

/** The last ops before exec, after cwd: capabilities, no_new_privs, Landlock, seccomp. */
export function securityBeforeExec(ctx: PlanContext): void {
  const { options, writer: w } = ctx;
  const caps: Capabilities = options.capabilities ?? 'none';
  const step = caps === 'none' || caps === 'all' ? `capabilities ${caps}` : `capabilities ${caps.join(',')}`;
  w.op(Op.CAPS, step, { n: [capabilityMask(caps), capLastCap()], flags: caps === 'all' ? CAPS_ALL : 0 });
  if (options.noNewPrivileges !== false) {
    w.op(Op.PRCTL, 'no_new_privs', { n: [PR_SET_NO_NEW_PRIVS, 1, 0] });
    compileLandlock(ctx);
    seccompOp(ctx);
  } else {
    compileLandlock(ctx); // refuses: Landlock needs no_new_privs
  }
}
