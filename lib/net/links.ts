// Moving network interfaces between namespaces, as `ip link set IF netns NS`.
import { native } from '../binding.js';
import { validateIfname } from './names.js';
import { Rtnetlink } from './netlink.js';
import { openNetnsTarget, type NetnsTarget } from './target.js';

/**
 * Moves the interface `ifname` of the caller's network namespace into `target`'s
 * (`ip link set IFNAME netns TARGET`). The interface keeps its name, and loses its
 * addresses and routes, and its up state, as with `ip`. The kernel refuses some
 * interfaces (`lo`, bridges); a name taken in the target is `EEXIST`.
 *
 * @param ifname an interface of the caller's namespace, e.g. `'veth1'`
 * @param target an `ip netns` name, a pid, a `SandboxProcess`, or a namespace file path
 * @example
 * await netns.add('lab')
 * await links.move('veth1', 'lab')
 */
export async function linksMove(ifname: string, target: NetnsTarget): Promise<void> {
  validateIfname('links.move.ifname', ifname);
  const step = `links.move ${ifname} -> ${typeof target === 'object' && target ? `pid ${target.pid}` : String(target)}`;
  const ns = openNetnsTarget('links.move.target', target, step);
  let nl: Rtnetlink | undefined;
  try {
    nl = await Rtnetlink.open(step);
    await nl.setNetns(step, ifname, { fd: ns.fd });
  } finally {
    nl?.close();
    native().close(ns.fd);
  }
}

/**
 * Network interfaces and namespaces.
 *
 * @example await links.move('veth1', 'lab')
 */
export const links = {
  move: linksMove,
} as const;
