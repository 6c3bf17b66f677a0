// `.limits({...})`: what the user may ask for, checked and turned into the numbers the
// kernel's files take. Nothing here touches the kernel; errors are ERR_NSBIND_INVALID
// naming the option (e.g. 'limits.memory') so they surface before anything runs.
import { invalid } from '../errors.js';

/** Resource limits of a sandbox, applied through a cgroup of its own (SPEC section 4). */
export interface Limits {
  /**
   * Memory the sandbox may use, in bytes or as a string with a binary suffix
   * (`'512K'`, `'256M'`, `'1.5G'`, `'1T'`; `'256MiB'` and `'256MB'` mean the same).
   * Beyond it the kernel reclaims, then its OOM killer ends a process of the sandbox
   * (`ExitResult.reason === 'oom'`).
   * @default unlimited
   * @example sandbox().limits({ memory: '256M' })
   */
  memory?: number | string;
  /**
   * Memory plus swap (as `docker --memory-swap`); at least `memory`, and needs `memory`.
   * @default equal to `memory`: the sandbox gets no swap
   * @example sandbox().limits({ memory: '256M', memorySwap: '1G' })
   */
  memorySwap?: number | string;
  /**
   * How many processes and threads the sandbox may have at once (`pids.max`).
   * @default unlimited
   * @example sandbox().limits({ pids: 64 })
   */
  pids?: number;
  /**
   * CPU bandwidth in cores: `0.5` is half of one core, `2` two cores. At least 0.01
   * (the kernel's minimum quota is 1 ms per 100 ms period).
   * @default unlimited
   * @example sandbox().limits({ cpu: 0.25 })
   */
  cpu?: number;
  /**
   * Relative CPU share when CPUs are contended, on cgroup v2's scale 1..10000 (100 is
   * the kernel's default). On v1 it becomes `cpu.shares` as runc maps it (100 -> 1024).
   * @default the kernel's (100)
   * @example sandbox().limits({ cpuWeight: 50 })
   */
  cpuWeight?: number;
}

/** {@link Limits} checked and in kernel units. */
export interface NormalizedLimits {
  /** Bytes. */
  memory?: number;
  /** Memory plus swap, bytes; set whenever `memory` is (equal to it by default). */
  memorySwap?: number;
  /** True when the user asked for `memorySwap` (then it must be enforced, not skipped). */
  memorySwapExplicit?: boolean;
  pids?: number;
  /** CFS bandwidth: `cpuQuotaUs` of CPU time per `cpuPeriodUs`. */
  cpuQuotaUs?: number;
  cpuPeriodUs?: number;
  /** v2 scale, 1..10000. */
  cpuWeight?: number;
}

/** The CFS period nsbind uses (the kernel's default): 100 ms. */
export const CPU_PERIOD_US = 100_000;
/** The kernel refuses a quota below 1 ms (`cpu.max`, `cpu.cfs_quota_us`). */
export const MIN_CPU_QUOTA_US = 1_000;
/** The kernel's cap on a quota (`max_cfs_runtime`: 2^44 - 1 microseconds). */
export const MAX_CPU_QUOTA_US = 2 ** 44 - 1;
/** pids.max cannot exceed PID_MAX_LIMIT (4M on 64-bit kernels). */
export const MAX_PIDS = 4_194_304;
/** A memory limit below one page is rounded to 0 by the kernel: nothing could run. */
export const MIN_MEMORY = 4096;

const SUFFIX: Record<string, number> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/**
 * Bytes from a number or a string such as `'256M'` (binary multiples; `K M G T`, case
 * insensitive, optionally followed by `B` or `iB`). Throws ERR_NSBIND_INVALID naming `option`.
 * @example parseBytes('limits.memory', '1.5G') // 1610612736
 */
export function parseBytes(option: string, value: unknown): number {
  let bytes: number;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) {
      throw invalid(option, `must be a whole number of bytes or a string like '256M', got ${String(value)}`);
    }
    bytes = value;
  } else if (typeof value === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(value);
    if (!m) {
      throw invalid(option, `${JSON.stringify(value)} is not a size: use bytes or a number with K, M, G or T (e.g. '256M')`);
    }
    bytes = Math.floor(Number(m[1]) * SUFFIX[m[2].toUpperCase()]);
    if (!Number.isSafeInteger(bytes)) throw invalid(option, `${JSON.stringify(value)} is too large`);
  } else {
    throw invalid(option, `must be a number of bytes or a string like '256M', got ${describe(value)}`);
  }
  if (bytes <= 0) throw invalid(option, `must be positive, got ${String(value)}`);
  return bytes;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}

const KEYS = new Set(['memory', 'memorySwap', 'pids', 'cpu', 'cpuWeight']);

/**
 * Checks `.limits()` input and returns it in kernel units. `method` prefixes option names
 * in errors (`'limits.memory'`).
 * @example normalizeLimits({ memory: '64M', cpu: 0.5 }) // { memory: 67108864, memorySwap: 67108864, cpuQuotaUs: 50000, cpuPeriodUs: 100000 }
 */
export function normalizeLimits(input: unknown, method = 'limits'): NormalizedLimits {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw invalid(method, `must be an object like { memory: '256M', pids: 64 }, got ${describe(input)}`);
  }
  const l = input as Record<string, unknown>;
  for (const k of Object.keys(l)) {
    if (!KEYS.has(k)) {
      throw invalid(`${method}.${k}`, `unknown limit; the limits are ${[...KEYS].join(', ')}`);
    }
  }
  const out: NormalizedLimits = {};

  if (l.memory !== undefined) {
    out.memory = parseBytes(`${method}.memory`, l.memory);
    if (out.memory < MIN_MEMORY) {
      throw invalid(`${method}.memory`, `must be at least one page (${MIN_MEMORY} bytes), got ${out.memory}`);
    }
    out.memorySwap = out.memory;
  }
  if (l.memorySwap !== undefined) {
    const swap = parseBytes(`${method}.memorySwap`, l.memorySwap);
    if (out.memory === undefined) {
      throw invalid(`${method}.memorySwap`, 'needs memory: memorySwap is memory plus swap, as docker --memory-swap');
    }
    if (swap < out.memory) {
      throw invalid(`${method}.memorySwap`, `is memory plus swap, so it cannot be below memory (${out.memory} bytes), got ${swap}`);
    }
    out.memorySwap = swap;
    out.memorySwapExplicit = true;
  }

  if (l.pids !== undefined) {
    const p = l.pids;
    if (typeof p !== 'number' || !Number.isSafeInteger(p) || p < 1) {
      throw invalid(`${method}.pids`, `must be a positive whole number, got ${describe(p)}`);
    }
    if (p > MAX_PIDS) throw invalid(`${method}.pids`, `cannot exceed the kernel's PID_MAX_LIMIT ${MAX_PIDS}, got ${p}`);
    out.pids = p;
  }

  if (l.cpu !== undefined) {
    const c = l.cpu;
    if (typeof c !== 'number' || !Number.isFinite(c) || c <= 0) {
      throw invalid(`${method}.cpu`, `must be a positive number of cores (0.5 = half a core), got ${describe(c)}`);
    }
    const quota = Math.round(c * CPU_PERIOD_US);
    if (quota < MIN_CPU_QUOTA_US) {
      throw invalid(
        `${method}.cpu`,
        `${c} cores is below the kernel's minimum quota of ${MIN_CPU_QUOTA_US}us per ${CPU_PERIOD_US}us period (at least ${MIN_CPU_QUOTA_US / CPU_PERIOD_US})`,
      );
    }
    if (quota > MAX_CPU_QUOTA_US) throw invalid(`${method}.cpu`, `${c} cores is beyond the kernel's maximum quota`);
    out.cpuQuotaUs = quota;
    out.cpuPeriodUs = CPU_PERIOD_US;
  }

  if (l.cpuWeight !== undefined) {
    const w = l.cpuWeight;
    if (typeof w !== 'number' || !Number.isInteger(w) || w < 1 || w > 10_000) {
      throw invalid(`${method}.cpuWeight`, `must be a whole number from 1 to 10000 (cgroup v2's scale, 100 is the default), got ${describe(w)}`);
    }
    out.cpuWeight = w;
  }
  return out;
}

/**
 * v2 `cpu.weight` (1..10000) -> v1 `cpu.shares` (2..262144), the inverse of runc's
 * shares-to-weight conversion. runc maps on a log scale so that the defaults meet
 * (1024 shares <-> weight 100) and the ends meet (2 <-> 1, 262144 <-> 10000): with
 * l = log2(shares), log10(weight) = (l^2 + 125 l) / 612 - 7/34. Solving for l gives the
 * formula below.
 * @example weightToShares(100) // 1024
 */
export function weightToShares(weight: number): number {
  const rhs = 612 * (Math.log10(weight) + 7 / 34);
  const l = (-125 + Math.sqrt(125 * 125 + 4 * rhs)) / 2;
  return Math.min(262_144, Math.max(2, Math.round(2 ** l)));
}

/** Which controllers the limits need. */
export function controllersFor(l: NormalizedLimits): Array<'memory' | 'pids' | 'cpu'> {
  const c: Array<'memory' | 'pids' | 'cpu'> = [];
  if (l.memory !== undefined) c.push('memory');
  if (l.pids !== undefined) c.push('pids');
  if (l.cpuQuotaUs !== undefined || l.cpuWeight !== undefined) c.push('cpu');
  return c;
}
