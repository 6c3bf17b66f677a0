// Linux capabilities by name (linux/capability.h), the `.capabilities()` option, and the
// bit masks the sandbox child applies.
//
// The names and numbers are part of the kernel ABI and never change; new capabilities
// only get appended. CAP_CHECKPOINT_RESTORE (40, Linux 5.9) is the last one today.
import { readFileSync } from 'node:fs';
import { invalid } from '../errors.js';

/** Every capability the kernel defines, by its `CAP_*` name, with its number. */
export const CAPABILITIES: Readonly<Record<string, number>> = Object.freeze({
  CAP_CHOWN: 0,
  CAP_DAC_OVERRIDE: 1,
  CAP_DAC_READ_SEARCH: 2,
  CAP_FOWNER: 3,
  CAP_FSETID: 4,
  CAP_KILL: 5,
  CAP_SETGID: 6,
  CAP_SETUID: 7,
  CAP_SETPCAP: 8,
  CAP_LINUX_IMMUTABLE: 9,
  CAP_NET_BIND_SERVICE: 10,
  CAP_NET_BROADCAST: 11,
  CAP_NET_ADMIN: 12,
  CAP_NET_RAW: 13,
  CAP_IPC_LOCK: 14,
  CAP_IPC_OWNER: 15,
  CAP_SYS_MODULE: 16,
  CAP_SYS_RAWIO: 17,
  CAP_SYS_CHROOT: 18,
  CAP_SYS_PTRACE: 19,
  CAP_SYS_PACCT: 20,
  CAP_SYS_ADMIN: 21,
  CAP_SYS_BOOT: 22,
  CAP_SYS_NICE: 23,
  CAP_SYS_RESOURCE: 24,
  CAP_SYS_TIME: 25,
  CAP_SYS_TTY_CONFIG: 26,
  CAP_MKNOD: 27,
  CAP_LEASE: 28,
  CAP_AUDIT_WRITE: 29,
  CAP_AUDIT_CONTROL: 30,
  CAP_SETFCAP: 31,
  CAP_MAC_OVERRIDE: 32,
  CAP_MAC_ADMIN: 33,
  CAP_SYSLOG: 34,
  CAP_WAKE_ALARM: 35,
  CAP_BLOCK_SUSPEND: 36,
  CAP_AUDIT_READ: 37,
  CAP_PERFMON: 38,
  CAP_BPF: 39,
  CAP_CHECKPOINT_RESTORE: 40,
});

/** The highest capability number nsbind knows by name. */
export const CAP_LAST_KNOWN = 40;

/** A capability name as the kernel spells it, e.g. `'CAP_NET_BIND_SERVICE'`. */
export type CapabilityName = string;

/**
 * What `.capabilities()` accepts: `'none'` (the default), `'all'`, or the list of
 * capabilities to keep. Names may omit the `CAP_` prefix and are case-insensitive
 * (`'net_admin'` is `CAP_NET_ADMIN`), as Docker's `--cap-add` accepts them.
 *
 * @default 'none'
 * @example sandbox().capabilities(['CAP_NET_BIND_SERVICE'])
 */
export type CapabilitiesOption = 'none' | 'all' | readonly CapabilityName[];

/** The normalised form kept in `sb.options`: `'none'`, `'all'` or sorted canonical names. */
export type Capabilities = 'none' | 'all' | CapabilityName[];

/** `'net_admin'` -> `'CAP_NET_ADMIN'`; undefined for an unknown name. */
export function capabilityName(name: string): CapabilityName | undefined {
  const upper = name.trim().toUpperCase();
  const full = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  return Object.prototype.hasOwnProperty.call(CAPABILITIES, full) ? full : undefined;
}

/**
 * Validates and normalises the `.capabilities()` argument.
 *
 * @throws NsbindError `ERR_NSBIND_INVALID` with option `'capabilities'` for anything else
 * @example normalizeCapabilities(['net_bind_service']) // ['CAP_NET_BIND_SERVICE']
 */
export function normalizeCapabilities(keep: unknown): Capabilities {
  if (keep === 'none' || keep === 'all') return keep;
  if (typeof keep === 'string') {
    // A single name is an easy slip; say what the shape is.
    throw invalid('capabilities', `expected 'none', 'all' or an array of names, got the string '${keep}'`, `write ['${keep}']`);
  }
  if (!Array.isArray(keep)) {
    throw invalid('capabilities', `expected 'none', 'all' or an array of capability names, got ${describe(keep)}`);
  }
  const names = new Set<CapabilityName>();
  for (const entry of keep) {
    if (typeof entry !== 'string') {
      throw invalid('capabilities', `expected capability names, got ${describe(entry)}`);
    }
    const name = capabilityName(entry);
    if (!name) {
      throw invalid(
        'capabilities',
        `unknown capability '${entry}'`,
        'names are those of capabilities(7), e.g. CAP_NET_BIND_SERVICE, CAP_SYS_ADMIN',
      );
    }
    names.add(name);
  }
  if (names.size === 0) return 'none';
  return [...names].sort((a, b) => CAPABILITIES[a] - CAPABILITIES[b]);
}

/**
 * The set of capability numbers to keep, as a 64-bit mask (bit N = capability N).
 * `'all'` keeps every bit: the child then keeps whatever it holds, including
 * capabilities newer than this list.
 *
 * @example capabilityMask(['CAP_KILL']) // 0x20n
 */
export function capabilityMask(caps: Capabilities): bigint {
  if (caps === 'none') return 0n;
  if (caps === 'all') return 0xffff_ffff_ffff_ffffn;
  let mask = 0n;
  for (const name of caps) mask |= 1n << BigInt(CAPABILITIES[name]);
  return mask;
}

/**
 * The mask split as `capset(2)` wants it with `_LINUX_CAPABILITY_VERSION_3`: two 32-bit
 * words, low capabilities (0-31) first.
 */
export function capabilityWords(mask: bigint): [number, number] {
  return [Number(mask & 0xffff_ffffn), Number((mask >> 32n) & 0xffff_ffffn)];
}

/** `'CAP_KILL'`, … for the bits of a mask (the inverse of {@link capabilityMask}). */
export function capabilityNames(mask: bigint): CapabilityName[] {
  return Object.keys(CAPABILITIES).filter((n) => (mask >> BigInt(CAPABILITIES[n])) & 1n);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'string' ? `'${v}'` : typeof v;
}

let lastCap: number | undefined;
/** The kernel's highest capability number (newer kernels may know more than nsbind). */
export function capLastCap(): number {
  if (lastCap === undefined) {
    try {
      lastCap = Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim());
    } catch {
      lastCap = CAP_LAST_KNOWN;
    }
    if (!Number.isInteger(lastCap) || lastCap < 0 || lastCap > 63) lastCap = CAP_LAST_KNOWN;
  }
  return lastCap;
}
