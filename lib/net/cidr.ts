// Addresses with a prefix length (`10.200.0.2/30`, `fd00::2/64`), parsed to the bytes
// netlink sends. Strict on purpose: what `ip addr add` would guess at (a missing prefix,
// an IPv4 address with leading zeros, an IPv6 zone) is an error here, naming the option.
import { isIPv4, isIPv6 } from 'node:net';
import { invalid } from '../errors.js';

/** A parsed `ADDRESS/PREFIX`. */
export interface Cidr {
  /** 4 or 6. */
  family: 4 | 6;
  /** The address as written (without the prefix). */
  address: string;
  /** Prefix length: 0-32 for IPv4, 0-128 for IPv6. */
  prefix: number;
  /** The address in network byte order: 4 or 16 bytes. */
  bytes: Buffer;
}

/**
 * Parses `ADDRESS/PREFIX`, IPv4 or IPv6.
 *
 * @param option the option it came from, for the error (e.g. `'net.veth.address'`)
 * @example parseCidr('net.veth.address', '10.200.0.2/30') // { family: 4, prefix: 30, ... }
 */
export function parseCidr(option: string, text: unknown): Cidr {
  if (typeof text !== 'string') throw invalid(option, `expected an address like '10.200.0.2/30', not ${typeof text}`);
  const slash = text.indexOf('/');
  if (slash < 0) {
    throw invalid(option, `'${text}' has no prefix length`, `write it as ADDRESS/PREFIX, e.g. '10.200.0.2/30' or 'fd00::2/64'`);
  }
  const address = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  let family: 4 | 6;
  let bytes: Buffer;
  if (isIPv4(address)) {
    family = 4;
    bytes = Buffer.from(address.split('.').map(Number));
  } else if (isIPv6(address) && !address.includes('%')) {
    family = 6;
    bytes = ipv6Bytes(address);
  } else {
    throw invalid(option, `'${address}' in '${text}' is not an IPv4 or IPv6 address`);
  }
  const max = family === 4 ? 32 : 128;
  if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText) || Number(prefixText) > max) {
    throw invalid(option, `prefix length '${prefixText}' in '${text}' must be a number from 0 to ${max}`);
  }
  return { family, address, prefix: Number(prefixText), bytes };
}

/** Whether `b`'s address lies in `a`'s network (a's prefix). */
export function inSubnet(a: Cidr, b: Cidr): boolean {
  if (a.family !== b.family) return false;
  let bits = a.prefix;
  for (let i = 0; i < a.bytes.length && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((a.bytes[i] & mask) !== (b.bytes[i] & mask)) return false;
  }
  return true;
}

// The caller has checked the text with isIPv6, so only the shape needs handling:
// groups of hex, at most one '::', and maybe a dotted IPv4 tail.
function ipv6Bytes(text: string): Buffer {
  const out = Buffer.alloc(16);
  const words = (part: string): number[] => {
    if (part === '') return [];
    const groups = part.split(':');
    const last = groups[groups.length - 1];
    const ws: number[] = [];
    for (const g of groups.slice(0, -1)) ws.push(parseInt(g, 16));
    if (last.includes('.')) {
      const v4 = last.split('.').map(Number);
      ws.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
    } else {
      ws.push(parseInt(last, 16));
    }
    return ws;
  };
  const gap = text.indexOf('::');
  const head = words(gap < 0 ? text : text.slice(0, gap));
  const tail = gap < 0 ? [] : words(text.slice(gap + 2));
  const all = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  all.forEach((w, i) => out.writeUInt16BE(w, i * 2));
  return out;
}
