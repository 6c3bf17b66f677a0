// A sandbox cgroup on the unified hierarchy (cgroup v2), per the kernel's
// Documentation/admin-guide/cgroup-v2.rst: controllers are given to children through the
// parent's cgroup.subtree_control, limits are single files (memory.max, memory.swap.max,
// pids.max, cpu.max, cpu.weight), and the outcome is read from memory.events (oom_kill),
// memory.peak and pids.peak.
import { existsSync, mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nsbindError, systemError } from '../errors.js';
import { codeOf, errnoOf, parseKeyed, readCgroupFile, readCgroupFileSync, readNumber, readPidsSync, writeCgroupFileSync } from './files.js';
import { delegationHint, missingControllerHint, noInternalProcessesHint } from './hints.js';
import { controllersFor, type NormalizedLimits } from './limits.js';
import type { CgroupUsage } from './usage.js';

/** One file write that applies a limit. */
export interface CgroupSetting {
  file: string;
  value: string;
  /** False for a setting nsbind adds on its own and may skip when the kernel lacks it. */
  required: boolean;
}

/**
 * The v2 files for `limits`, in the order to write them. memory.swap.max holds swap
 * alone, so it is memorySwap - memory; `cpu.max` is "$MAX $PERIOD" in microseconds.
 * @example v2Settings({ memory: 64 << 20, memorySwap: 64 << 20 }) // memory.max 67108864, memory.swap.max 0
 */
export function v2Settings(l: NormalizedLimits): CgroupSetting[] {
  const s: CgroupSetting[] = [];
  if (l.memory !== undefined) {
    s.push({ file: 'memory.max', value: String(l.memory), required: true });
    const swap = (l.memorySwap ?? l.memory) - l.memory;
    s.push({ file: 'memory.swap.max', value: String(swap), required: l.memorySwapExplicit === true });
  }
  if (l.pids !== undefined) s.push({ file: 'pids.max', value: String(l.pids), required: true });
  if (l.cpuQuotaUs !== undefined) {
    s.push({ file: 'cpu.max', value: `${l.cpuQuotaUs} ${l.cpuPeriodUs}`, required: true });
  }
  if (l.cpuWeight !== undefined) s.push({ file: 'cpu.weight', value: String(l.cpuWeight), required: true });
  return s;
}

/** Throws the typed error when `parentDir` cannot offer `controllers` to its children. */
export function checkV2Controllers(parentDir: string, controllers: string[]): void {
  const available = (readCgroupFileSync(join(parentDir, 'cgroup.controllers')) ?? '').split(/\s+/);
  const missing = controllers.filter((c) => !available.includes(c));
  if (missing.length > 0) {
    throw nsbindError('ERR_NSBIND_CGROUP', `limits: cgroup v2 controller ${missing.join(', ')} not available in ${parentDir}`, {
      step: 'limits',
      path: parentDir,
      hint: missingControllerHint(parentDir, missing, 2),
    });
  }
}

/**
 * Gives `controllers` to the children of `parentDir` (its cgroup.subtree_control) — never
 * while it holds a process (the real root excepted): memory would fail with EBUSY, and
 * pids or cpu would turn it into a thread root for good (lib/cgroup/placement.ts).
 */
export function enableV2Controllers(parentDir: string, controllers: string[]): void {
  if (controllers.length === 0) return;
  checkV2Controllers(parentDir, controllers);
  const enabled = (readCgroupFileSync(join(parentDir, 'cgroup.subtree_control')) ?? '').split(/\s+/);
  const toEnable = controllers.filter((c) => !enabled.includes(c));
  if (toEnable.length === 0) return;
  const file = join(parentDir, 'cgroup.subtree_control');
  if (existsSync(join(parentDir, 'cgroup.type')) && readPidsSync(join(parentDir, 'cgroup.procs')).length > 0) {
    throw systemError(16 /* EBUSY */, { step: 'limits: enable controllers', syscall: 'write', path: file, hint: noInternalProcessesHint(parentDir, toEnable) });
  }
  try {
    writeFileSync(file, toEnable.map((c) => `+${c}`).join(' '), { flag: 'r+' });
  } catch (e) {
    const code = codeOf(e);
    const hint =
      code === 'EBUSY'
        ? noInternalProcessesHint(parentDir, toEnable)
        : code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
          ? delegationHint(parentDir)
          : undefined;
    throw systemError(errnoOf(e), { step: 'limits: enable controllers', syscall: 'write', path: file, ...(hint ? { hint } : {}) });
  }
}

/**
 * Creates `parentDir/name` with the limits written. EEXIST is thrown as is (the caller
 * picks another name); on any other failure nothing is left behind.
 */
export function createV2(parentDir: string, name: string, l: NormalizedLimits): string {
  enableV2Controllers(parentDir, controllersFor(l));
  const dir = join(parentDir, name);
  try {
    mkdirSync(dir);
  } catch (e) {
    if (codeOf(e) === 'EEXIST') throw e;
    const code = codeOf(e);
    const hint = code === 'EACCES' || code === 'EPERM' || code === 'EROFS' ? delegationHint(parentDir) : undefined;
    throw systemError(errnoOf(e), { step: 'limits: create the sandbox cgroup', syscall: 'mkdir', path: dir, ...(hint ? { hint } : {}) });
  }
  try {
    for (const s of v2Settings(l)) {
      const path = join(dir, s.file);
      if (!s.required && readCgroupFileSync(path) === undefined) continue; // e.g. no swap accounting
      writeCgroupFileSync(path, s.value, `limits: write ${s.file}`, s.file === 'memory.swap.max' ? SWAP_HINT : undefined);
    }
  } catch (e) {
    try {
      rmdirSync(dir);
    } catch {
      // nothing else can be done; reclaim will retry
    }
    throw e;
  }
  return dir;
}

const SWAP_HINT =
  'memory.swap.max exists only with swap accounting (CONFIG_MEMCG_SWAP, and no swapaccount=0 on the kernel command line); omit memorySwap to run without it';

/** What the kernel counted for the cgroup `dir`. */
export async function readV2Usage(dir: string): Promise<CgroupUsage> {
  const events = await readCgroupFile(join(dir, 'memory.events'));
  const oomKills = events === undefined ? 0 : (parseKeyed(events).get('oom_kill') ?? 0);
  const usage: CgroupUsage = { oom: oomKills > 0, oomKills };
  const memoryPeak = await readNumber(join(dir, 'memory.peak'));
  if (memoryPeak !== undefined) usage.memoryPeakBytes = memoryPeak;
  const pidsPeak = await readNumber(join(dir, 'pids.peak'));
  if (pidsPeak !== undefined) usage.pidsPeak = pidsPeak;
  // cpu.stat's usage_usec is kept by the core even without the cpu controller.
  const cpu = await readCgroupFile(join(dir, 'cpu.stat'));
  if (cpu !== undefined) {
    const m = parseKeyed(cpu);
    if (m.has('usage_usec')) usage.cpuUsageUs = m.get('usage_usec');
    if (m.has('nr_periods')) usage.cpuPeriods = m.get('nr_periods');
  }
  return usage;
}
