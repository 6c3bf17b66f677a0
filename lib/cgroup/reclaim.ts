// Sandbox cgroups are named `nsbind-<pid of the Node process>-<counter>`. When a Node
// process is SIGKILLed it cannot remove them; its sandboxes die with it (die-with-parent),
// leaving empty directories behind. The next nsbind beneath the same parent removes them:
// a name whose pid no longer runs is stale. (A reused pid only delays the reclaim.)
import { readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { cgroupTreeSync, readPidsSync } from './files.js';

/** The prefix of every sandbox cgroup's name. */
export const CGROUP_PREFIX = 'nsbind-';

const NAME = /^nsbind-(\d+)-\d+$/;

/** The name of a sandbox cgroup of this process. */
export function cgroupName(counter: number): string {
  return `${CGROUP_PREFIX}${process.pid}-${counter}`;
}

/** The pid of the Node process that made a sandbox cgroup, from its name. */
export function ownerOf(name: string): number | undefined {
  const m = NAME.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** Whether `pid` runs (EPERM means it runs as someone else). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the empty sandbox cgroups beneath `parent` left by Node processes that are gone.
 * A cgroup that still holds a process is left alone: it may not be ours to kill.
 * Returns the directories removed.
 */
export function reclaimStale(parent: string): string[] {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const owner = ownerOf(name);
    if (owner === undefined || owner === process.pid || isAlive(owner)) continue;
    const tree = cgroupTreeSync(join(parent, name));
    let empty = true;
    for (const d of tree) if (readPidsSync(join(d, 'cgroup.procs')).length > 0) empty = false;
    if (!empty) continue;
    try {
      for (const d of tree.reverse()) rmdirSync(d);
      removed.push(join(parent, name));
    } catch {
      // Raced with another reclaimer, or a process arrived: leave it for next time.
    }
  }
  return removed;
}
