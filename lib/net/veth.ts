// .net({ veth }): the options, checked when the builder method is called. The pair
// itself is made by the parent while the child waits (native/veth.h); veth-spawn.ts
// hands it the request and removes the pair when the sandbox ends.
import { invalid } from '../errors.js';
import type { VethOptions } from '../options.js';
import * as v from '../validate.js';
import { inSubnet, parseCidr } from './cidr.js';
import { validateIfname } from './names.js';
import { netnsTargetPath } from './target.js';

const KEYS = ['name', 'peer', 'address', 'peerAddress', 'peerNetns'] as const;

/**
 * Checks `.net({ veth })` and returns it normalised (plain JSON: a `SandboxProcess` as
 * `peerNetns` is kept as its pid).
 */
export function validateVeth(raw: unknown): VethOptions {
  const o = v.plainObject(raw, 'net.veth');
  v.knownKeys(o, KEYS, 'net.veth');
  const name = validateIfname('net.veth.name', o.name ?? 'eth0');
  if (name === 'lo') throw invalid('net.veth.name', "'lo' is the sandbox's loopback interface; pick another name");
  if (o.peer === undefined) {
    throw invalid('net.veth.peer', 'the other end needs a name', "e.g. .net({ veth: { peer: 'veth-box1', ... } })");
  }
  const peer = validateIfname('net.veth.peer', o.peer);
  const out: VethOptions = { name, peer };
  const address = o.address === undefined ? undefined : parseCidr('net.veth.address', o.address);
  const peerAddress = o.peerAddress === undefined ? undefined : parseCidr('net.veth.peerAddress', o.peerAddress);
  if (address && peerAddress) {
    if (address.family !== peerAddress.family) {
      throw invalid('net.veth.peerAddress', `'${o.peerAddress}' is IPv${peerAddress.family} but net.veth.address is IPv${address.family}`);
    }
    // The sandbox's default route goes via the peer: it has to be on the link.
    if (!inSubnet(address, peerAddress)) {
      throw invalid(
        'net.veth.peerAddress',
        `${peerAddress.address} is not in ${o.address as string}'s subnet, so the sandbox could not route through it`,
        `give both ends addresses in one subnet, e.g. address '10.200.0.2/30' and peerAddress '10.200.0.1/30'`,
      );
    }
    if (address.bytes.equals(peerAddress.bytes)) {
      throw invalid('net.veth.peerAddress', 'the two ends need different addresses');
    }
  }
  if (address) out.address = o.address as string;
  if (peerAddress) out.peerAddress = o.peerAddress as string;
  if (o.peerNetns !== undefined) {
    netnsTargetPath('net.veth.peerNetns', o.peerNetns);
    const t = o.peerNetns;
    out.peerNetns = typeof t === 'object' && t !== null ? (t as { pid: number }).pid : (t as string | number);
  }
  return out;
}
