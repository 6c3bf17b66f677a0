// A sandbox cgroup on v1 hierarchies (v1-only and hybrid hosts): one directory per
// hierarchy used, each named the same, per Documentation/admin-guide/cgroup-v1/. The
// sandbox joins them all (the parent writes its pid into each cgroup.procs while it waits).
import { mkdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { nsbindError, systemError } from '../errors.js';
import { codeOf, errnoOf, parseKeyed, readCgroupFile, readCgroupFileSync, readNumber, writeCgroupFileSync } from './files.js';
import { delegationHint, missingControllerHint } from './hints.js';
import type { Hierarchy } from './layout.js';
import { controllersFor, weightToShares, type NormalizedLimits } from './limits.js';
import type { CgroupUsage } from './usage.js';
import type { CgroupSetting } from './v2.js';

/**
 * The v1 files for `limits` by controller, in the order to write them. The memsw limit
 * (memory plus swap) can never be below the memory limit, so memory goes first; the
 * period goes before the quota that is expressed against it.
 */
export function v1Settings(l: NormalizedLimits): Map<string, CgroupSetting[]> {
  const m = new Map<string, CgroupSetting[]>();
  if (l.memory !== undefined) {
    m.set('memory', [
      { file: 'memory.limit_in_bytes', value: String(l.memory), required: true },
      {
        file: 'memory.memsw.limit_in_bytes',
        value: String(l.memorySwap ?? l.memory),
        required: l.memorySwapExplicit === true,
      },
    ]);
  }
  if (l.pids !== undefined) m.set('pids', [{ file: 'pids.max', value: String(l.pids), required: true }]);
  const cpu: CgroupSetting[] = [];
  if (l.cpuQuotaUs !== undefined) {
    cpu.push({ file: 'cpu.cfs_period_us', value: String(l.cpuPeriodUs), required: true });
    cpu.push({ file: 'cpu.cfs_quota_us', value: String(l.cpuQuotaUs), required: true });
  }
  if (l.cpuWeight !== undefined) cpu.push({ file: 'cpu.shares', value: String(weightToShares(l.cpuWeight)), required: true });
  if (cpu.length) m.set('cpu', cpu);
  return m;
}

/** One directory of a v1 sandbox cgroup. */
export interface V1Dir {
  dir: string;
  /** The controllers of its hierarchy (`['cpu', 'cpuacct']` when co-mounted). */
  controllers: string[];
}

/**
 * The hierarchies to use: those the limits need, plus pids (so every process of the
 * sandbox can be found and killed, and pids.peak read) and, with a cpu limit, cpuacct (so
 * the sandbox's CPU time can be read) when they are mounted. Co-mounted controllers share
 * one directory.
 */
export function v1HierarchiesFor(l: NormalizedLimits, v1: Map<string, Hierarchy>): Hierarchy[] {
  const needed: string[] = controllersFor(l);
  const missing = needed.filter((c) => !v1.has(c));
  if (missing.length > 0) {
    throw nsbindError('ERR_NSBIND_CGROUP', `limits: no cgroup v1 hierarchy for ${missing.join(', ')}`, {
      step: 'limits',
      hint: missingControllerHint('', missing, 1),
    });
  }
  const wanted = [...needed, 'pids'];
  if (needed.includes('cpu')) wanted.push('cpuacct');
  const out: Hierarchy[] = [];
  for (const c of wanted) {
    const h = v1.get(c);
    if (h && !out.includes(h)) out.push(h);
  }
  return out;
}

/**
 * Creates `name` in each hierarchy with the limits written. EEXIST is thrown as is (the
 * caller picks another name); on any other failure nothing is left behind.
 */
export function createV1(hierarchies: Hierarchy[], name: string, l: NormalizedLimits): V1Dir[] {
  const settings = v1Settings(l);
  const made: V1Dir[] = [];
  try {
    for (const h of hierarchies) {
      const dir = join(h.ownDir, name);
      try {
        mkdirSync(dir);
      } catch (e) {
        if (codeOf(e) === 'EEXIST') throw e;
        const code = codeOf(e);
        const hint = code === 'EACCES' || code === 'EPERM' || code === 'EROFS' ? delegationHint(h.ownDir) : undefined;
        throw systemError(errnoOf(e), { step: 'limits: create the sandbox cgroup', syscall: 'mkdir', path: dir, ...(hint ? { hint } : {}) });
      }
      made.push({ dir, controllers: h.controllers });
      for (const c of h.controllers) {
        for (const s of settings.get(c) ?? []) {
          const path = join(dir, s.file);
          if (!s.required && readCgroupFileSync(path) === undefined) continue;
          writeCgroupFileSync(path, s.value, `limits: write ${s.file}`, s.file.includes('memsw') ? MEMSW_HINT : undefined);
        }
      }
    }
  } catch (e) {
    for (const m of made.reverse()) {
      try {
        rmdirSync(m.dir);
      } catch {
        // nothing else can be done; reclaim will retry
      }
    }
    throw e;
  }
  return made;
}

const MEMSW_HINT =
  'memory.memsw.limit_in_bytes exists only with swap accounting: boot with swapaccount=1, or omit memorySwap';

/** What the kernel counted in the directories of a v1 sandbox cgroup. */
export async function readV1Usage(dirs: V1Dir[]): Promise<CgroupUsage> {
  const usage: CgroupUsage = { oom: false, oomKills: 0 };
  const dirOf = (c: string) => dirs.find((d) => d.controllers.includes(c))?.dir;
  const mem = dirOf('memory');
  if (mem) {
    const oc = await readCgroupFile(join(mem, 'memory.oom_control'));
    usage.oomKills = oc === undefined ? 0 : (parseKeyed(oc).get('oom_kill') ?? 0);
    usage.oom = usage.oomKills > 0;
    const peak = await readNumber(join(mem, 'memory.max_usage_in_bytes'));
    if (peak !== undefined) usage.memoryPeakBytes = peak;
  }
  const pids = dirOf('pids');
  if (pids) {
    const peak = await readNumber(join(pids, 'pids.peak'));
    if (peak !== undefined) usage.pidsPeak = peak;
  }
  const acct = dirOf('cpuacct');
  if (acct) {
    const ns = await readNumber(join(acct, 'cpuacct.usage'));
    if (ns !== undefined) usage.cpuUsageUs = Math.round(ns / 1000);
  }
  const cpu = dirOf('cpu');
  if (cpu) {
    const stat = await readCgroupFile(join(cpu, 'cpu.stat'));
    const periods = stat === undefined ? undefined : parseKeyed(stat).get('nr_periods');
    if (periods !== undefined) usage.cpuPeriods = periods;
  }
  return usage;
}
