// The egress decision: may the sandbox reach host:port, and at which address?
//
// Order: a deny pattern refuses; an allow pattern admits; otherwise the spawn's
// `egress` callback decides (default: refuse). An admitted name is then resolved HERE,
// once, and the connection goes to the address that was checked (no second lookup a
// DNS server could answer differently). A name resolving into the host's own network
// (loopback, link-local, private) is refused unless an address pattern names that
// address: an allow-list of names must not become a way into the caller's LAN.
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { EgressViolation } from '../../violations.js';
import { isPrivateAddress, matchesHost, namesAddress, type Pattern } from './patterns.js';

/** What the `egress` callback of spawn/run is asked. */
export interface EgressRequest {
  host: string;
  port: number;
  via: 'http' | 'socks';
}

export type EgressCallback = (request: EgressRequest) => boolean | Promise<boolean>;
export type Lookup = (host: string) => Promise<string[]> | string[];

export interface Policy {
  allow: Pattern[];
  deny: Pattern[];
  lookup?: Lookup;
  ask?: EgressCallback;
}

export type Decision = { ok: true; address: string } | { ok: false; reason: EgressViolation['reason'] };

async function resolve(policy: Policy, host: string): Promise<string[]> {
  if (isIP(host)) return [host];
  if (policy.lookup) return [...(await policy.lookup(host))];
  return (await dnsLookup(host, { all: true, verbatim: true })).map((a) => a.address);
}

export async function decide(policy: Policy, req: EgressRequest): Promise<Decision> {
  const { host, port } = req;
  if (policy.deny.some((p) => matchesHost(p, host, port))) return { ok: false, reason: 'denied' };
  if (!policy.allow.some((p) => matchesHost(p, host, port))) {
    let yes = false;
    try {
      yes = policy.ask ? (await policy.ask({ ...req })) === true : false;
    } catch {
      yes = false; // fail-closed: a throwing callback refuses
    }
    if (!yes) return { ok: false, reason: policy.ask ? 'callback' : 'not-allowed' };
  }
  let addresses: string[];
  try {
    addresses = await resolve(policy, host);
  } catch {
    return { ok: false, reason: 'unresolved' };
  }
  if (addresses.length === 0) return { ok: false, reason: 'unresolved' };
  // A deny pattern on an address also refuses a name that resolves to it.
  for (const a of addresses) {
    if (policy.deny.some((p) => namesAddress(p, a, port))) return { ok: false, reason: 'denied' };
  }
  const usable = addresses.filter((a) => !isPrivateAddress(a) || policy.allow.some((p) => namesAddress(p, a, port)));
  if (usable.length === 0) return { ok: false, reason: 'private-address' };
  return { ok: true, address: usable[0] };
}
