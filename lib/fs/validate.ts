// Argument checks of the filesystem methods: each throws ERR_NSBIND_INVALID naming the
// option (`tmpfs.size`, `bind.dst`) before anything runs.
import { resolve } from 'node:path';
import { invalid } from '../errors.js';
import * as v from '../validate.js';

/** PATH_MAX counts the NUL: a path may have 4095 bytes. */
const PATH_MAX_BYTES = 4095;

/**
 * A destination inside the sandbox: absolute, no `..`, no NUL, at most PATH_MAX;
 * returned normalised (no `//`, `.` or trailing `/`) so steps compare by prefix.
 */
export function destination(value: unknown, option: string): string {
  const p = v.absolutePath(value, option);
  const parts = p.split('/').filter((c) => c !== '' && c !== '.');
  return '/' + parts.join('/');
}

/** A host path as the caller sees it; a relative one is taken from the current directory now. */
export function source(value: unknown, option: string): string {
  const p = v.cString(value, option, { maxBytes: PATH_MAX_BYTES });
  const abs = resolve(p);
  if (Buffer.byteLength(abs) > PATH_MAX_BYTES) throw invalid(option, `is longer than PATH_MAX once made absolute`);
  return abs;
}

const SUFFIX: Record<string, bigint> = {
  '': 1n,
  k: 1n << 10n,
  m: 1n << 20n,
  g: 1n << 30n,
  t: 1n << 40n,
  p: 1n << 50n,
  e: 1n << 60n,
};
const MAX_SIZE = (1n << 63n) - 1n;

/**
 * A size in bytes: a positive safe integer, or a string like `'64M'`, `'512k'`, `'1GiB'`
 * (binary units). 0, negative sizes and sizes of 2^63 bytes or more are refused.
 */
export function size(value: unknown, option: string): bigint {
  let bytes: bigint;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw invalid(option, `expected a whole number of bytes, got ${v.describe(value)}`, "write large sizes as a string, e.g. '64G'");
    bytes = BigInt(value);
  } else if (typeof value === 'string') {
    const m = /^\s*(\d+)\s*([kmgtpe]?)(?:i?b)?\s*$/i.exec(value);
    if (!m) throw invalid(option, `expected bytes or a size like '64M', got ${v.describe(value)}`);
    bytes = BigInt(m[1]) * SUFFIX[m[2].toLowerCase()];
  } else {
    throw invalid(option, `expected bytes or a size like '64M', got ${v.describe(value)}`);
  }
  if (bytes <= 0n) throw invalid(option, 'must be more than 0 bytes');
  if (bytes > MAX_SIZE) throw invalid(option, 'must be less than 2^63 bytes');
  return bytes;
}
