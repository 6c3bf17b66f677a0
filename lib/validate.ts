// Input checks shared by the builder, `sandbox(options)` and the CLI. Each throws
// `ERR_NSBIND_INVALID` naming the option, before anything is spawned.
import { constants as osConstants } from 'node:os';
import { invalid } from './errors.js';
import { NAMESPACE_TYPES, type IdMapEntry, type NamespaceType } from './options.js';

const MAX_ID = 0xfffffffe; // (uid_t)-1 means "no change" to the kernel

export function plainObject(value: unknown, option: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalid(option, `expected an options object, got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

/** Rejects keys the method does not know: a typo must not silently do nothing. */
export function knownKeys(obj: Record<string, unknown>, keys: readonly string[], method: string): void {
  for (const k of Object.keys(obj)) {
    if (!keys.includes(k)) throw invalid(`${method}.${k}`, `unknown option (known: ${keys.join(', ')})`);
  }
}

export function id(value: unknown, option: string): number {
  if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > MAX_ID) {
    throw invalid(option, `expected an id from 0 to ${MAX_ID}, got ${describe(value)}`);
  }
  return value as number;
}

export function bool(value: unknown, option: string): boolean {
  if (typeof value !== 'boolean') throw invalid(option, `expected true or false, got ${describe(value)}`);
  return value;
}

export function oneOf<T extends string>(value: unknown, choices: readonly T[], option: string): T {
  if (!choices.includes(value as T)) {
    throw invalid(option, `expected one of ${choices.map((c) => `'${c}'`).join(', ')}, got ${describe(value)}`);
  }
  return value as T;
}

/** A string for the kernel: no NUL byte, optionally non-empty and at most `maxBytes`. */
export function cString(value: unknown, option: string, opts: { empty?: boolean; maxBytes?: number } = {}): string {
  if (typeof value !== 'string') throw invalid(option, `expected a string, got ${describe(value)}`);
  if (value.includes('\0')) throw invalid(option, 'contains a NUL byte');
  if (!opts.empty && value === '') throw invalid(option, 'must not be empty');
  if (opts.maxBytes !== undefined && Buffer.byteLength(value) > opts.maxBytes) {
    throw invalid(option, `is ${Buffer.byteLength(value)} bytes; at most ${opts.maxBytes} are allowed`);
  }
  return value;
}

/** An absolute path without `..` components. */
export function absolutePath(value: unknown, option: string): string {
  const p = cString(value, option, { maxBytes: 4095 });
  if (!p.startsWith('/')) throw invalid(option, `must be an absolute path, got '${p}'`);
  if (p.split('/').includes('..')) throw invalid(option, `must not contain '..', got '${p}'`);
  return p;
}

export function idMap(value: unknown, option: string): IdMapEntry[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw invalid(option, 'expected a non-empty array of { inside, outside, count }');
  }
  if (value.length > 340) throw invalid(option, 'the kernel allows at most 340 lines');
  const out = value.map((e, i) => {
    const o = plainObject(e, `${option}[${i}]`);
    knownKeys(o, ['inside', 'outside', 'count'], `${option}[${i}]`);
    const entry = {
      inside: id(o.inside, `${option}[${i}].inside`),
      outside: id(o.outside, `${option}[${i}].outside`),
      count: id(o.count, `${option}[${i}].count`),
    };
    if (entry.count < 1) throw invalid(`${option}[${i}].count`, 'must be at least 1');
    if (entry.inside + entry.count - 1 > MAX_ID || entry.outside + entry.count - 1 > MAX_ID) {
      throw invalid(`${option}[${i}]`, 'the range runs past the largest id');
    }
    return entry;
  });
  for (const side of ['inside', 'outside'] as const) {
    const sorted = [...out].sort((a, b) => a[side] - b[side]);
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i - 1][side] + sorted[i - 1].count > sorted[i][side]) {
        throw invalid(option, `ranges overlap on the ${side} side (at ${sorted[i][side]})`);
      }
    }
  }
  return out;
}

/** A whole number of seconds for a clock offset. */
export function clockOffset(value: unknown, option: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw invalid(option, `expected a whole number of seconds, got ${describe(value)}`);
  }
  // The kernel keeps offsets within half of KTIME_SEC_MAX (about 146 years).
  if (Math.abs(value) > 4_611_686_018) throw invalid(option, 'offset out of the kernel\'s range');
  return value;
}

export function namespaceType(value: unknown, option: string): NamespaceType {
  // Accept the method name for the mount namespace too, as users write `.mount()`.
  if (value === 'mount') return 'mnt';
  return oneOf(value, NAMESPACE_TYPES, option);
}

export function signal(value: unknown, option: string): { name: string; number: number } {
  const signals = osConstants.signals as Record<string, number>;
  if (typeof value === 'number' && Number.isInteger(value)) {
    const name = Object.keys(signals).find((k) => signals[k] === value);
    if (name) return { name, number: value };
  } else if (typeof value === 'string' && signals[value] !== undefined) {
    return { name: value, number: signals[value] };
  }
  throw invalid(option, `unknown signal ${describe(value)}`);
}

export function nonNegativeInteger(value: unknown, option: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    throw invalid(option, `expected a non-negative integer, got ${describe(value)}`);
  }
  return value as number;
}

export function mode(value: unknown, option: string, max = 0o7777): number {
  if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > max) {
    throw invalid(option, `expected a mode from 0 to 0o${max.toString(8)}, got ${describe(value)}`);
  }
  return value as number;
}

export function describe(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'bigint') return `${value}n`;
  if (value === null || typeof value !== 'object') return String(value);
  if (Array.isArray(value)) return 'an array';
  return 'an object';
}
