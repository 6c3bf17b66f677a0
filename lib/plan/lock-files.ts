// The lock ops of `.lockFile()` (lib/lock-file.ts says who holds the lock and why).
import { invalid } from '../errors.js';
import type { PlanContext } from './context.js';
import { Op } from './layout.js';

/** The sandbox's lock files, if any. */
export function lockFiles(ctx: Pick<PlanContext, 'options'>): string[] {
  return (ctx.options.lockFile as string[] | undefined) ?? [];
}

/**
 * The lock ops, after the working directory is chosen and before the capability drop: the
 * init takes over at the first of them (plan/takeover.ts). Refuses a sandbox whose
 * program is its own PID 1: nothing would hold the lock (bwrap refuses --as-pid-1 with it).
 */
export function compileLockFiles(ctx: PlanContext): boolean {
  const paths = lockFiles(ctx);
  if (paths.length === 0) return false;
  if (ctx.created.has('pid') && ctx.options.namespaces?.pid?.init === false) {
    throw invalid('lockFile', 'needs nsbind\'s init to hold the lock, and pid({ init: false }) makes the program PID 1', 'drop init: false');
  }
  for (const p of paths) ctx.writer.op(Op.LOCK_FILE, `lock file ${p}`, { s: [ctx.writer.str(p)] });
  return true;
}
