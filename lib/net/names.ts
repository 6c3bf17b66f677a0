// What the kernel and iproute2 accept as names, checked before anything runs so that a
// typo is an ERR_NSBIND_INVALID naming the option, not an EINVAL from a netlink reply.
import { invalid } from '../errors.js';

/** The kernel's IFNAMSIZ is 16 bytes, NUL included. */
export const IFNAME_MAX_BYTES = 15;

/**
 * Checks a network interface name as the kernel's `dev_valid_name()` does: 1 to 15
 * bytes, no `/`, `:` or whitespace, no NUL, and not `.` or `..`.
 *
 * @param option the option it came from, for the error (e.g. `'net.veth.name'`)
 */
export function validateIfname(option: string, name: unknown): string {
  if (typeof name !== 'string') throw invalid(option, `an interface name must be a string, not ${typeof name}`);
  if (name.length === 0) throw invalid(option, 'an interface name must not be empty');
  const bytes = Buffer.byteLength(name);
  if (bytes > IFNAME_MAX_BYTES) {
    throw invalid(option, `interface name '${name}' is ${bytes} bytes; the kernel allows at most ${IFNAME_MAX_BYTES}`);
  }
  if (name.includes('\0')) throw invalid(option, 'an interface name must not contain NUL');
  if (name.includes('/')) throw invalid(option, `interface name '${name}' must not contain '/'`);
  // ':' would read as an old-style alias (eth0:1), which the kernel refuses to create.
  if (name.includes(':')) throw invalid(option, `interface name '${name}' must not contain ':'`);
  if (/\s/.test(name)) throw invalid(option, `interface name ${JSON.stringify(name)} must not contain whitespace`);
  if (name === '.' || name === '..') throw invalid(option, `'${name}' is not a valid interface name`);
  return name;
}

/**
 * Checks a named network namespace's name as `ip netns` does: not empty, no `/`, not
 * `.` or `..`, no NUL, at most 255 bytes (a file name), so that `/run/netns/NAME` is
 * always a file directly in `/run/netns`.
 *
 * @param option the option it came from, for the error (e.g. `'netns.add.name'`)
 */
export function validateNetnsName(option: string, name: unknown): string {
  if (typeof name !== 'string') throw invalid(option, `a namespace name must be a string, not ${typeof name}`);
  if (name.length === 0) throw invalid(option, 'a namespace name must not be empty');
  if (name.includes('\0')) throw invalid(option, 'a namespace name must not contain NUL');
  if (name.includes('/')) throw invalid(option, `namespace name '${name}' must not contain '/'`);
  if (name === '.' || name === '..') throw invalid(option, `'${name}' is not a valid namespace name`);
  if (Buffer.byteLength(name) > 255) throw invalid(option, 'a namespace name must be at most 255 bytes (a file name)');
  return name;
}
