// The life of a sandbox's veth pair, around the spawn: the request for the parent's
// side (native/veth.h), and the removal of the pair when the sandbox ends.
//
// Why remove it ourselves: the kernel deletes a veth pair when either end's namespace
// is freed, but that happens later from a workqueue, and not at all while something
// else holds the sandbox's namespace (a process that entered it, a bind mount). "Both
// ends are removed with the sandbox" has to hold when `exited` resolves.
import { native, type NativeVeth } from '../binding.js';
import { systemError } from '../errors.js';
import { type SandboxOptions } from '../options.js';
import type { SpawnPreparer } from '../spawn-types.js';
import { parseCidr } from './cidr.js';
import { Rtnetlink } from './netlink.js';
import { netnsTargetPath, openNetnsTarget } from './target.js';

const ENODEV = 19;
const ENOENT = 2;

/** The spawn preparer for a sandbox with `net({ veth })` (lib/spawn.ts). */
export const vethPreparer: SpawnPreparer = (options: SandboxOptions, request) => {
  const net = options.namespaces?.net;
  const veth = net?.veth;
  if (!veth || net.join !== undefined) return;
  const address = veth.address === undefined ? undefined : parseCidr('net.veth.address', veth.address);
  const peerAddress = veth.peerAddress === undefined ? undefined : parseCidr('net.veth.peerAddress', veth.peerAddress);
  const req: NativeVeth = {
    name: veth.name ?? 'eth0',
    peer: veth.peer,
    family: address?.family ?? peerAddress?.family ?? 4,
    route: address !== undefined && peerAddress !== undefined,
  };
  if (address) Object.assign(req, { address: address.bytes, prefix: address.prefix });
  if (peerAddress) Object.assign(req, { peerAddress: peerAddress.bytes, peerPrefix: peerAddress.prefix });
  const step = `veth ${req.name} <-> ${req.peer}`;
  if (veth.peerNetns !== undefined) {
    // Opened once now, so that a missing namespace throws from spawn() with a hint,
    // before anything runs; the parent opens the same file again at setup.
    const t = openNetnsTarget('net.veth.peerNetns', veth.peerNetns, step);
    native().close(t.fd);
    req.peerNetns = netnsTargetPath('net.veth.peerNetns', veth.peerNetns);
  }
  request.veth = req;

  let index: number | undefined;
  return {
    spawned: (r) => {
      index = r.vethIndex;
    },
    finish: async (result) => {
      if (index !== undefined) await removePair(req.peerNetns, index, `${step}: remove`);
      return result;
    },
  };
};

/** Deletes the pair by its other end's index (deleting one end deletes both). */
async function removePair(peerNetns: string | undefined, index: number, step: string): Promise<void> {
  let ns: { fd: number; path: string } | undefined;
  if (peerNetns !== undefined) {
    const fd = native().open(peerNetns);
    // That namespace is gone, and the pair with it.
    if (fd === -ENOENT) return;
    if (fd < 0) throw systemError(-fd, { step, syscall: 'open', path: peerNetns });
    ns = { fd, path: peerNetns };
  }
  try {
    const nl = await Rtnetlink.open(step, ns);
    try {
      await nl.del(step, index);
    } catch (e) {
      if ((e as { errno?: number }).errno !== ENODEV) throw e;
    } finally {
      nl.close();
    }
  } finally {
    if (ns) native().close(ns.fd);
  }
}
