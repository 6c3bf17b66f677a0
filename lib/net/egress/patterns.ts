// Egress patterns (SPEC 5.1): `example.com`, `*.example.com`, `name:port`, an IPv4/IPv6
// address or CIDR (`[::1]:port` for an IPv6 address with a port), `*`. Parsed once, when
// the sandbox is built, so a typo fails there with the option named.
import { BlockList, isIP } from 'node:net';
import { invalid } from '../../errors.js';

export interface Pattern {
  text: string;
  kind: 'any' | 'name' | 'suffix' | 'address';
  /** Lowercase name (kind 'name'), or the parent domain of `*.x` (kind 'suffix'). */
  name?: string;
  /** Kind 'address': the address or CIDR. */
  block?: BlockList;
  port?: number;
}

const LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;

function parsePort(text: string, option: string, whole: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 65535) throw invalid(option, `'${whole}': port must be 1-65535`);
  return n;
}

/** One pattern; `option` names it in errors (`net.egress.allow[2]`). */
export function parsePattern(raw: unknown, option: string): Pattern {
  if (typeof raw !== 'string' || raw === '') throw invalid(option, 'expected a pattern like "registry.npmjs.org", "*.example.com:443", "10.0.0.0/8" or "*"');
  const text = raw.trim().toLowerCase();
  if (text === '*') return { text, kind: 'any' };
  let host = text;
  let port: number | undefined;
  const bracket = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (bracket) {
    host = bracket[1];
    if (bracket[2] !== undefined) port = parsePort(bracket[2], option, raw);
  } else if (text.split(':').length === 2) {
    const i = text.lastIndexOf(':');
    host = text.slice(0, i);
    port = parsePort(text.slice(i + 1), option, raw);
  }
  const [addr, prefixText] = host.split('/');
  const family = isIP(addr);
  if (family) {
    const block = new BlockList();
    const type = family === 6 ? 'ipv6' : 'ipv4';
    if (prefixText === undefined) block.addAddress(addr, type);
    else {
      const prefix = Number(prefixText);
      if (!/^\d+$/.test(prefixText) || prefix > (family === 6 ? 128 : 32)) throw invalid(option, `'${raw}': bad prefix length`);
      block.addSubnet(addr, prefix, type);
    }
    return { text, kind: 'address', block, port };
  }
  if (host === '*') return { text, kind: 'any', port };
  const suffix = host.startsWith('*.');
  const name = suffix ? host.slice(2) : host;
  if (!name.split('.').every((l) => LABEL.test(l))) throw invalid(option, `'${raw}' is not a host name, address, CIDR or '*'`);
  return { text, kind: suffix ? 'suffix' : 'name', name, port };
}

function contains(block: BlockList, address: string): boolean {
  const family = isIP(address);
  return family !== 0 && block.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

/** Does `p` cover `host` (a name or address literal, as asked) at `port`? */
export function matchesHost(p: Pattern, host: string, port: number): boolean {
  if (p.port !== undefined && p.port !== port) return false;
  const h = host.toLowerCase().replace(/\.$/, '');
  switch (p.kind) {
    case 'any':
      return true;
    case 'name':
      return h === p.name;
    case 'suffix':
      return h.endsWith(`.${p.name}`);
    case 'address':
      return contains(p.block!, h);
  }
}

/** Does an address pattern (not `*`, not a name) cover this resolved address? */
export function namesAddress(p: Pattern, address: string, port: number): boolean {
  return p.kind === 'address' && (p.port === undefined || p.port === port) && contains(p.block!, address);
}

const privateSpace = new BlockList();
for (const [a, n] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4]] as const) {
  privateSpace.addSubnet(a, n, 'ipv4');
}
for (const [a, n] of [['::', 127], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['::ffff:0:0', 96], ['64:ff9b::', 96]] as const) {
  privateSpace.addSubnet(a, n, 'ipv6');
}

/** Loopback, link-local, private, CGNAT, multicast or unspecified: the host's own network. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 6 && address.toLowerCase().startsWith('::ffff:')) {
    const v4 = address.slice(7);
    if (isIP(v4) === 4) return privateSpace.check(v4, 'ipv4');
  }
  return family !== 0 && privateSpace.check(address, family === 6 ? 'ipv6' : 'ipv4');
}
