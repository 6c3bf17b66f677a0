// Which process runs which part of the plan (native/interp.h): the setup child, which
// shares the Node process's memory until its exec (fast: no copy of Node's memory, no
// second exec), or nsbind-init, a process with memory of its own, from `initFrom` on
// (native/init/control.h). The init takes over:
//   - from the start (`initFrom` 0, set by the concern that needs it) for a sandbox with
//     limits (no task that shares Node's memory may ever be in a limited cgroup, SPEC 4),
//     for one that joins a time namespace (a task sharing memory cannot), and, when the
//     Node process has no privileges, for one that joins a user namespace: other
//     sandboxes' processes live there, and may hold capabilities in it
//     (native/setup_window.h);
//   - when the Node process has no privileges, from the first credential change: a
//     credential change clears the dumpable flag of the memory it runs in, Node's;
//   - to be PID 1 or to fork the program into a joined pid namespace, from the
//     capability drop: the init is then never without capabilities while its memory is
//     still dumpable (its first act makes it not);
//   - from the first lock file (lib/lock-file.ts), if that comes earlier: a POSIX lock
//     is its taker's, and the init is the process that lives as long as the sandbox.
import { Op } from './layout.js';
import type { PlanWriter } from './writer.js';

const PR_SET_KEEPCAPS = 8;

/** The first op the init runs, or undefined when the setup child runs the whole plan. */
export function initTakeover(w: PlanWriter, o: { viaInit: boolean; privileged: boolean; wholeSetup: boolean }): number | undefined {
  if (o.wholeSetup) return 0;
  const candidates: number[] = [];
  if (!o.privileged) {
    candidates.push(w.indexOf(Op.PRCTL, PR_SET_KEEPCAPS), w.indexOf(Op.SETGROUPS), w.indexOf(Op.SETRESGID), w.indexOf(Op.SETRESUID));
  }
  if (o.viaInit) {
    const caps = w.indexOf(Op.CAPS);
    candidates.push(caps >= 0 ? caps : w.indexOf(Op.EXEC));
    candidates.push(w.indexOf(Op.LOCK_FILE));
  }
  const found = candidates.filter((i) => i >= 0);
  return found.length ? Math.min(...found) : undefined;
}
