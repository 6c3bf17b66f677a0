// Resource limits (setrlimit(2)) by name, the `.rlimits()` option, and the NOFILE soft
// limit Node took away from its children.
import { readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { invalid } from '../errors.js';

/** Every `RLIMIT_*` by its lowercase name, with the resource number (the same on x86-64 and arm64). */
export const RLIMITS: Readonly<Record<string, number>> = Object.freeze({
  cpu: 0, // seconds of CPU time
  fsize: 1, // bytes: largest file the process may create
  data: 2, // bytes: data segment + heap
  stack: 3, // bytes
  core: 4, // bytes of core dump
  rss: 5, // bytes (ignored by Linux since 2.6, kept for completeness)
  nproc: 6, // processes of the real uid
  nofile: 7, // one more than the highest fd number
  memlock: 8, // bytes locked into RAM
  as: 9, // bytes of address space
  locks: 10, // file locks (ignored by Linux)
  sigpending: 11, // queued signals
  msgqueue: 12, // bytes in POSIX message queues
  nice: 13, // ceiling of the nice value, as 20 - nice
  rtprio: 14, // real-time priority ceiling
  rttime: 15, // microseconds of real-time CPU without a blocking call
});

/** A resource name: `'nofile'`, `'nproc'`, `'as'`, … */
export type RlimitName =
  | 'as' | 'core' | 'cpu' | 'data' | 'fsize' | 'locks' | 'memlock' | 'msgqueue'
  | 'nice' | 'nofile' | 'nproc' | 'rss' | 'rtprio' | 'rttime' | 'sigpending' | 'stack';

/** One limit value: a non-negative integer, or no limit (`'unlimited'` or `Infinity`). */
export type RlimitValue = number | 'unlimited';

/**
 * What `.rlimits()` accepts: each resource's limit as one value (soft = hard) or
 * `[soft, hard]`. Units are the kernel's: bytes, seconds (`cpu`), microseconds (`rttime`)
 * or counts. Raising a hard limit above the caller's needs root (CAP_SYS_RESOURCE in the
 * host's user namespace) and otherwise fails at spawn with `EPERM`.
 *
 * @default { nofile: [the system's soft limit, the hard limit] } — Node raises its own
 * NOFILE soft limit at start-up; children of nsbind get the usual one back.
 * @example sandbox().rlimits({ nofile: 256, nproc: [64, 128], core: 0, as: 'unlimited' })
 */
export type RlimitsOption = Partial<Record<RlimitName, RlimitValue | readonly [RlimitValue, RlimitValue]>>;

/** The normalised form in `sb.options`: always `[soft, hard]`, `'unlimited'` spelled out. */
export type Rlimits = Partial<Record<RlimitName, [RlimitValue, RlimitValue]>>;

/** `RLIM_INFINITY` as a 64-bit value (~0). */
export const RLIM_INFINITY = 0xffff_ffff_ffff_ffffn;

/**
 * Validates and normalises the `.rlimits()` argument.
 *
 * @throws NsbindError `ERR_NSBIND_INVALID` with option `'rlimits.<name>'` (or `'rlimits'`)
 * @example normalizeRlimits({ nofile: 64 }) // { nofile: [64, 64] }
 */
export function normalizeRlimits(limits: unknown): Rlimits {
  if (typeof limits !== 'object' || limits === null || Array.isArray(limits)) {
    throw invalid('rlimits', `expected an object like { nofile: 1024 }, got ${Array.isArray(limits) ? 'an array' : String(limits)}`);
  }
  const out: Rlimits = {};
  for (const [key, raw] of Object.entries(limits)) {
    const option = `rlimits.${key}`;
    if (!Object.prototype.hasOwnProperty.call(RLIMITS, key)) {
      throw invalid(option, `unknown resource '${key}'`, `known: ${Object.keys(RLIMITS).sort().join(', ')}`);
    }
    if (raw === undefined) continue;
    let pair: [unknown, unknown];
    if (Array.isArray(raw)) {
      if (raw.length !== 2) throw invalid(option, `expected a number or [soft, hard], got an array of ${raw.length}`);
      pair = [raw[0], raw[1]];
    } else {
      pair = [raw, raw];
    }
    const soft = limitValue(option, pair[0]);
    const hard = limitValue(option, pair[1]);
    if (compare(soft, hard) > 0) {
      throw invalid(option, `the soft limit ${soft} is above the hard limit ${hard}`);
    }
    out[key as RlimitName] = [soft, hard];
  }
  return out;
}

function limitValue(option: string, v: unknown): RlimitValue {
  if (v === 'unlimited' || v === Infinity) return 'unlimited';
  if (typeof v !== 'number' || Number.isNaN(v)) {
    throw invalid(option, `expected a non-negative integer or 'unlimited', got ${typeof v === 'string' ? `'${v}'` : String(v)}`);
  }
  if (v < 0) throw invalid(option, `must not be negative, got ${v}`);
  if (!Number.isSafeInteger(v)) throw invalid(option, `must be an integer, got ${v}`);
  return v;
}

function compare(a: RlimitValue, b: RlimitValue): number {
  if (a === b) return 0;
  if (a === 'unlimited') return 1;
  if (b === 'unlimited') return -1;
  return a - b;
}

/** A limit value as the kernel's 64-bit `rlim_t`. */
export function rlimitValue(v: RlimitValue): bigint {
  return v === 'unlimited' ? RLIM_INFINITY : BigInt(v);
}

/** The kernel's default NOFILE soft limit (INR_OPEN_CUR), also systemd's. */
export const DEFAULT_NOFILE_SOFT = 1024;

let originalSoft: number | 'unlimited' | undefined;

/**
 * The RLIMIT_NOFILE soft limit Node started with, before it raised its own to the hard
 * limit (node.cc does so at start-up, so every child of `child_process` inherits the
 * raised one; nsbind gives its children the usual limit back, as programs that use
 * select(2) need fds below 1024).
 *
 * Node keeps no record of the old value, so it is read from the nearest ancestor process
 * that is not itself Node (an npm or vitest parent has raised its own limit too): its
 * `/proc/PID/limits`, from which this process inherited. When there is none to read (an
 * ancestor in another pid namespace, or one that is gone and reparented us to init), or
 * its value is above this process's hard limit, the kernel's default 1024 (capped at
 * the hard limit) is used. Reading `/proc/1/limits` instead would be wrong: PID 1 is
 * rarely who started Node, and in a container it is often Node itself.
 */
export function originalNofileSoft(): number | 'unlimited' {
  if (originalSoft !== undefined) return originalSoft;
  const own = readNofile('self');
  const hard = own?.[1] ?? 'unlimited';
  let found: number | 'unlimited' | undefined;
  try {
    const self = realpathSync(process.execPath);
    let pid = process.ppid;
    for (let depth = 0; depth < 32 && pid > 1; depth++) {
      let exe: string | undefined;
      try {
        exe = readlinkSync(`/proc/${pid}/exe`);
      } catch {
        // Another user's process: its exe is hidden, but it is not our Node.
      }
      if (exe !== self) {
        found = readNofile(String(pid))?.[0];
        break;
      }
      pid = parentOf(pid);
    }
  } catch {
    found = undefined;
  }
  if (found === undefined || compare(found, hard) > 0) {
    found = compare(DEFAULT_NOFILE_SOFT, hard) > 0 ? hard : DEFAULT_NOFILE_SOFT;
  }
  originalSoft = found;
  return found;
}

/** `[soft, hard]` of RLIMIT_NOFILE from /proc/PID/limits. */
export function readNofile(pid: string): [RlimitValue, RlimitValue] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/limits`, 'utf8');
    const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(text);
    if (!m) return undefined;
    const parse = (s: string): RlimitValue => (s === 'unlimited' ? 'unlimited' : Number(s));
    return [parse(m[1]), parse(m[2])];
  } catch {
    return undefined;
  }
}

function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may contain spaces and parentheses: fields start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[1]);
}

/**
 * NOFILE as the child gets it when the caller does not set it: the system's soft limit
 * (hard limit unchanged), or null when this process's limits cannot be read. Read once:
 * Node has no API to change its own limits, and this is on every spawn (resolve reads it).
 */
export function defaultNofile(): [RlimitValue, RlimitValue] | null {
  ownNofile ??= readNofile('self') ?? null;
  return ownNofile ? [originalNofileSoft(), ownNofile[1]] : null;
}
let ownNofile: [RlimitValue, RlimitValue] | null | undefined;

/** The limits the child gets: the caller's, plus NOFILE restored (`nofile`) when not set. */
export function effectiveRlimits(limits: Rlimits | undefined, nofile: [RlimitValue, RlimitValue] | null = defaultNofile()): Rlimits {
  const out: Rlimits = { ...(limits ?? {}) };
  if (!out.nofile && nofile) out.nofile = nofile;
  return out;
}
