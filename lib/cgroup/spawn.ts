// `.limits()` at spawn time: create the sandbox's cgroup, let the addon put the setup in it
// before the setup runs anything, and once the sandbox is gone read why it ended and
// remove the cgroup. The setup of such a sandbox runs in nsbind-init, in memory of its
// own (lib/plan.ts): the addon moves the init into the cgroup (its cgroup.procs: one on
// v2, one per hierarchy on v1) only once it has exec'd, because an OOM kill of a task that
// still shared the Node process's memory would kill Node. CLONE_INTO_CGROUP is therefore
// not used. The init then runs the plan: a cgroup namespace (`.cgroup()`) is unshared
// after the move, so it is rooted at the sandbox's cgroup.
import { systemError, type NsbindError } from '../errors.js';
import type { ExitResult } from '../process.js';
import type { PreparedSpawn, SpawnPreparer } from '../spawn-types.js';
import { normalizeLimits } from './limits.js';
import { createSandboxCgroup } from './sandbox-cgroup.js';
import type { CgroupUsage } from './usage.js';

/** The result refined by the cgroup's counters. */
export function withCgroupUsage(r: ExitResult, u: CgroupUsage): ExitResult {
  const usage = { ...r.usage };
  if (u.memoryPeakBytes !== undefined) usage.memoryPeakBytes = u.memoryPeakBytes;
  if (u.pidsPeak !== undefined) usage.pidsPeak = u.pidsPeak;
  // The OOM killer ends its victim with SIGKILL. An end the caller asked for (timeout,
  // abort) keeps its reason; a program that survived the kill of a child ends as it ended.
  const oom = u.oom && r.signal === 'SIGKILL' && (r.reason === 'signal' || r.reason === 'exit');
  return { ...r, ...(oom ? { reason: 'oom' as const } : {}), usage };
}

/**
 * A setup that failed inside the sandbox's cgroup after the OOM killer struck there: the
 * memory limit is too small for the sandbox to start. Said so, naming the option, instead
 * of the bare signal or ENOMEM of whichever step it hit.
 */
export function outOfMemoryError(e: NsbindError, memory: number | undefined): NsbindError {
  const hint = `the sandbox ran out of memory before its program started: its memory limit (${memory} bytes) is smaller than its setup needs (nsbind's init needs a few hundred KiB, the program more); raise limits.memory`;
  return systemError(12 /* ENOMEM */, { step: e.step ?? 'setup', ...(e.syscall ? { syscall: e.syscall } : {}), option: 'limits.memory', hint });
}

/** The spawn preparer for sandboxes with `limits`. */
export const cgroupPreparer: SpawnPreparer = (options, request): PreparedSpawn | void => {
  if (options.limits === undefined) return;
  const limits = normalizeLimits(options.limits);
  const cg = createSandboxCgroup(limits);
  if (cg.cloneIntoFd !== undefined) request.cgroupFd = cg.cloneIntoFd;
  if (cg.procsFiles.length > 0) request.cgroupProcs = [...cg.procsFiles];
  return {
    async finish(r) {
      cg.closeFd();
      // Counters first: they go with the directory.
      const usage = await cg.finish().catch(async (e) => {
        await cg.destroy();
        throw e;
      });
      await cg.destroy();
      return withCgroupUsage(r, usage);
    },
    // The setup error is what the caller hears about; a failed removal is reclaimed later.
    abandon: () => cg.destroy().catch(() => {}),
    async refineError(e) {
      if (limits.memory === undefined) return e;
      const usage = await cg.finish().catch(() => undefined);
      return usage?.oom || e.code === 'ENOMEM' ? outOfMemoryError(e, limits.memory) : e;
    },
  };
};
