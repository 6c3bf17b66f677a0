// Ending a sandbox cgroup: kill whatever is still inside (the sandbox's own sub-cgroups
// included), then remove the directories, deepest first. rmdir(2) on cgroupfs only
// succeeds once a cgroup has no live process and no child cgroup, so both steps retry
// until the kernel agrees or a deadline passes.
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { systemError } from '../errors.js';
import { codeOf, errnoOf, exists, parseKeyed, readCgroupFile, readPids } from './files.js';

/** `dir` and every cgroup beneath it, parents before children. */
export async function cgroupTree(dir: string): Promise<string[]> {
  const out = [dir];
  for (let i = 0; i < out.length; i++) {
    let entries;
    try {
      entries = await fsp.readdir(out[i], { withFileTypes: true });
    } catch {
      continue; // removed meanwhile
    }
    for (const e of entries) if (e.isDirectory()) out.push(join(out[i], e.name));
  }
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** SIGKILL every process listed in the cgroups of `tree`; returns how many were listed. */
async function killListed(tree: string[]): Promise<number> {
  let n = 0;
  for (const d of tree) {
    for (const pid of await readPids(join(d, 'cgroup.procs'))) {
      n++;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // ESRCH: it exited between the read and the kill.
      }
    }
  }
  return n;
}

/** v2: whether anything lives in the sub-tree, from `cgroup.events` (`populated 0|1`). */
async function populatedV2(dir: string): Promise<boolean | undefined> {
  const t = await readCgroupFile(join(dir, 'cgroup.events'));
  return t === undefined ? undefined : parseKeyed(t).get('populated') === 1;
}

/** Options of {@link killAndRemove}. */
export interface TeardownOptions {
  /** Use v2's `cgroup.kill` (one write kills the whole sub-tree, forks included). */
  cgroupKill: boolean;
  /** Give up after this long, with EBUSY. @default 10000 */
  timeoutMs?: number;
}

/**
 * Kills everything in the cgroup `dir` and beneath it, and removes the directories.
 * Without `cgroup.kill` (v1, or v2 before Linux 5.14) processes are killed by listing
 * `cgroup.procs` repeatedly, so those forked meanwhile are caught on the next round.
 * Does nothing when `dir` is already gone.
 */
export async function killAndRemove(dir: string, opts: TeardownOptions): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  let pause = 1;
  let useKillFile = opts.cgroupKill;
  for (;;) {
    if (!(await exists(dir))) return;
    const tree = await cgroupTree(dir);
    if (useKillFile) {
      try {
        await fsp.writeFile(join(dir, 'cgroup.kill'), '1', { flag: 'r+' });
      } catch (e) {
        if (codeOf(e) === 'ENOENT' && (await exists(dir))) useKillFile = false; // kernel < 5.14
      }
    }
    // cgroup.kill is asynchronous: the processes are dead once `populated` reads 0.
    const busy = useKillFile ? ((await populatedV2(dir)) ?? false) : (await killListed(tree)) > 0;
    if (!busy) {
      let lastError: unknown;
      for (const d of tree.reverse()) {
        try {
          await fsp.rmdir(d);
        } catch (e) {
          if (codeOf(e) !== 'ENOENT') lastError = e;
        }
      }
      if (lastError === undefined) return;
      if (codeOf(lastError) !== 'EBUSY') {
        throw systemError(errnoOf(lastError), { step: 'limits: remove the sandbox cgroup', syscall: 'rmdir', path: dir });
      }
    }
    if (Date.now() > deadline) {
      throw systemError(16 /* EBUSY */, {
        step: 'limits: remove the sandbox cgroup',
        syscall: 'rmdir',
        path: dir,
        hint: 'processes of the sandbox did not die (a process in uninterruptible sleep, or one that keeps escaping the kill); see its cgroup.procs',
      });
    }
    await sleep(pause);
    pause = Math.min(pause * 2, 50);
  }
}
