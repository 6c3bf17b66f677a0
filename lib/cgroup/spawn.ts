// `.limits()` at spawn time: create the sandbox's cgroup, let the addon put the child in it
// before the child runs anything (CLONE_INTO_CGROUP on v2; on v1 the parent writes the pid
// into each cgroup.procs while the child waits for its go-ahead), and once the sandbox is
// gone read why it ended and remove the cgroup. A cgroup namespace (`.cgroup()`) is
// unshared by the child after that go-ahead, so it is rooted at the sandbox's cgroup.
import type { ExitResult } from '../process.js';
import type { PreparedSpawn, SpawnPreparer } from '../sandbox.js';
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

/** The spawn preparer for sandboxes with `limits`. */
export const cgroupPreparer: SpawnPreparer = (options, request): PreparedSpawn | void => {
  if (options.limits === undefined) return;
  const cg = createSandboxCgroup(normalizeLimits(options.limits));
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
  };
};
