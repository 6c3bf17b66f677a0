// One sandbox's cgroup, from creation to removal: pick the hierarchy, reclaim what dead
// Node processes left, create the cgroup beneath our own with the limits written, hand
// spawn what it needs to put the sandbox's init inside before its setup runs (a directory fd
// on v2, cgroup.procs paths on v1), read the counters after the exit, kill and remove.
import { constants as fsConstants, rmdirSync } from 'node:fs';
import { posix } from 'node:path';
import { native } from '../binding.js';
import { nsbindError, systemError, type NsbindError } from '../errors.js';
import { codeOf } from './files.js';
import { delegateHowTo } from './hints.js';
import { currentLayout, type CgroupLayout, type Hierarchy } from './layout.js';
import { controllersFor, type NormalizedLimits } from './limits.js';
import { moveNodeInto, PARENT_ENV, planV2, realView } from './placement.js';
import { cgroupName, reclaimStale } from './reclaim.js';
import { killAndRemove } from './teardown.js';
import type { CgroupUsage } from './usage.js';
import { createV1, readV1Usage, v1HierarchiesFor, type V1Dir } from './v1.js';
import { checkV2Controllers, createV2, readV2Usage } from './v2.js';

/** A sandbox's cgroup, ready for the spawn. */
export interface SandboxCgroup {
  /** Which hierarchy holds it. */
  readonly version: 1 | 2;
  /** Its directories: one on v2, one per hierarchy used on v1. */
  readonly dirs: readonly string[];
  /**
   * How /proc/PID/cgroup of a member shows it, without the hierarchy id:
   * `':/user.slice/nsbind-12-3'` (v2), `'memory:/nsbind-12-3'` (v1), one per directory.
   */
  readonly procCgroupLines: readonly string[];
  /** The cgroup path (as in /proc/PID/cgroup) a cgroup namespace made inside it is rooted at. */
  readonly nsRootPath: string;
  /** v2: an O_RDONLY|O_DIRECTORY fd of the cgroup: the addon writes the sandbox's init into its cgroup.procs. */
  readonly cloneIntoFd?: number;
  /** v1: the cgroup.procs files the addon writes the sandbox's init into. */
  readonly procsFiles: readonly string[];
  /** Closes {@link cloneIntoFd} once the child is placed (destroy() also does). */
  closeFd(): void;
  /** The cgroup's own counters; call after the sandbox exited, before destroy(). */
  finish(): Promise<CgroupUsage>;
  /** Kills what is left (the sandbox's sub-cgroups included) and removes the cgroup. Idempotent. */
  destroy(): Promise<void>;
}

/** Options of {@link prepareCgroup}; the defaults are what nsbind uses. */
export interface PrepareCgroupOptions {
  /**
   * Which hierarchy to use. `'auto'` prefers v2 when it offers every controller the
   * limits need (always on a pure v2 host), else v1.
   * @default 'auto'
   * @example prepareCgroup({ pids: 10 }, { hierarchy: 'v2' })
   */
  hierarchy?: 'auto' | 'v1' | 'v2';
  /**
   * The layout to use instead of this process's (tests point it at another cgroup).
   * @default read from /proc/self/mountinfo and /proc/self/cgroup
   */
  layout?: CgroupLayout;
  /**
   * Open an fd of the v2 cgroup (the addon writes the sandbox's init into its cgroup.procs).
   * @default true
   */
  cloneInto?: boolean;
}

let counter = 0;

export { currentLayout };
/** The hierarchies to try, in order. */
export function chooseHierarchies(layout: CgroupLayout, l: NormalizedLimits, pref: 'auto' | 'v1' | 'v2'): Array<'v1' | 'v2'> {
  const needed = controllersFor(l);
  if (pref === 'v2') {
    if (!layout.v2) throw noHierarchy('cgroup v2 is not mounted (no cgroup2 line in /proc/self/mountinfo reaches our cgroup)');
    return ['v2'];
  }
  if (pref === 'v1') {
    if (layout.v1.size === 0) throw noHierarchy('no cgroup v1 hierarchy is mounted');
    return ['v1'];
  }
  const out: Array<'v1' | 'v2'> = [];
  if (layout.v2 && needed.every((c) => layout.v2!.controllers.includes(c))) out.push('v2');
  if (layout.v1.size > 0 && needed.every((c) => layout.v1.has(c)) && (needed.length > 0 || layout.v1.has('pids'))) {
    out.push('v1');
  }
  if (out.length > 0) return out;
  // Nothing offers all of it: let the most fitting hierarchy explain what is missing.
  if (layout.kind === 'v2') return ['v2'];
  if (layout.kind === 'hybrid' || layout.kind === 'v1') return ['v1'];
  throw noHierarchy('no cgroup hierarchy is mounted, or none reaches the cgroup of the Node process');
}

function noHierarchy(why: string): NsbindError {
  return nsbindError('ERR_NSBIND_CGROUP', `limits: ${why}`, {
    step: 'limits',
    hint: 'limits need a cgroup hierarchy nsbind may write beneath the Node process\'s cgroup; `npx nsbind doctor` shows the layout. Rootless: ' + delegateHowTo(),
  });
}

/** Errors after which another hierarchy may still work. */
function worthAnotherTry(e: unknown): boolean {
  const code = (e as NsbindError).code;
  return code === 'EACCES' || code === 'EPERM' || code === 'EROFS' || code === 'EBUSY' || code === 'ERR_NSBIND_CGROUP';
}

const MAX_NAME_TRIES = 100;

/**
 * Creates the cgroup for one sandbox beneath the Node process's own cgroup, with `limits`
 * written, after removing the empty cgroups left beneath the same parent by Node processes
 * that died. Where no hierarchy is writable it throws an {@link NsbindError} whose hint says
 * how to get a delegated cgroup: limits are never silently dropped.
 *
 * Synchronous, because spawn() prepares its request synchronously: it is a few mkdir and
 * write calls on cgroupfs. {@link prepareCgroup} is the same as a Promise.
 */
export function createSandboxCgroup(limits: NormalizedLimits, opts: PrepareCgroupOptions = {}): SandboxCgroup {
  const layout = opts.layout ?? currentLayout();
  const candidates = chooseHierarchies(layout, limits, opts.hierarchy ?? 'auto');
  let firstError: unknown;
  for (const which of candidates) {
    try {
      return which === 'v2'
        ? prepareV2(layout, limits, opts.cloneInto ?? true)
        : prepareV1(v1HierarchiesFor(limits, layout.v1), limits);
    } catch (e) {
      firstError ??= e;
      if (!worthAnotherTry(e)) break;
    }
  }
  throw firstError;
}

/**
 * {@link createSandboxCgroup} as a Promise.
 *
 * @example
 * const cg = await prepareCgroup(normalizeLimits({ memory: '64M', pids: 32 }));
 * // spawn with { cgroupFd: cg.cloneIntoFd, cgroupProcs: cg.procsFiles }, then after the exit:
 * const { oom } = await cg.finish(); await cg.destroy();
 */
export async function prepareCgroup(limits: NormalizedLimits, opts: PrepareCgroupOptions = {}): Promise<SandboxCgroup> {
  return createSandboxCgroup(limits, opts);
}

/** mkdir with a fresh name until one is free (another thread of this process may race us). */
function withFreshName<T>(create: (name: string) => T): T {
  for (let i = 0; ; i++) {
    try {
      return create(cgroupName(++counter));
    } catch (e) {
      if (codeOf(e) !== 'EEXIST' || i >= MAX_NAME_TRIES) throw e;
    }
  }
}

function prepareV2(layout: CgroupLayout, limits: NormalizedLimits, cloneInto: boolean): SandboxCgroup {
  const h = layout.v2!;
  const where = planV2(h, layout.kind, process.env[PARENT_ENV], process.pid, realView);
  // Check the controllers before anything moves: where they are missing nothing changes.
  checkV2Controllers(where.parentDir, controllersFor(limits));
  if (where.moveNodeTo !== undefined) moveNodeInto(where.moveNodeTo);
  reclaimStale(where.parentDir);
  const dir = withFreshName((name) => createV2(where.parentDir, name, limits));
  const path = posix.join(where.parentPath, posix.basename(dir));
  let fd: number | undefined;
  if (cloneInto) {
    const r = native().open(dir, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
    if (r < 0) {
      try {
        rmdirSync(dir);
      } catch {
        // empty and new: only a racing reclaim could have removed it
      }
      throw systemError(-r, { step: 'limits: open the sandbox cgroup', syscall: 'open', path: dir });
    }
    fd = r;
  }
  let destroyed: Promise<void> | undefined;
  const cg: SandboxCgroup = {
    version: 2,
    dirs: [dir],
    procCgroupLines: [`:${path}`],
    nsRootPath: path,
    procsFiles: [],
    ...(fd !== undefined ? { cloneIntoFd: fd } : {}),
    closeFd() {
      if (fd !== undefined) native().close(fd);
      fd = undefined;
    },
    finish: () => readV2Usage(dir),
    destroy() {
      cg.closeFd();
      return (destroyed ??= killAndRemove(dir, { cgroupKill: true }));
    },
  };
  return cg;
}

function prepareV1(hierarchies: Hierarchy[], limits: NormalizedLimits): SandboxCgroup {
  for (const h of hierarchies) reclaimStale(h.ownDir);
  const dirs: V1Dir[] = withFreshName((name) => createV1(hierarchies, name, limits));
  const name = posix.basename(dirs[0].dir);
  const lines = hierarchies.map((h) => `${h.controllers.join(',')}:${posix.join(h.ownPath, name)}`);
  let destroyed: Promise<void> | undefined;
  return {
    version: 1,
    dirs: dirs.map((d) => d.dir),
    procCgroupLines: lines,
    nsRootPath: posix.join(hierarchies[0].ownPath, name),
    procsFiles: dirs.map((d) => posix.join(d.dir, 'cgroup.procs')),
    closeFd() {},
    finish: () => readV1Usage(dirs),
    destroy() {
      // Every process of the sandbox is in every directory (or beneath it), so the first
      // teardown kills them all; the others only remove what remains.
      return (destroyed ??= (async () => {
        let first: unknown;
        for (const d of dirs) await killAndRemove(d.dir, { cgroupKill: false }).catch((e) => (first ??= e));
        if (first !== undefined) throw first;
      })());
    },
  };
}
