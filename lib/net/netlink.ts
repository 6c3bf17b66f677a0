// A typed handle on one rtnetlink socket (native/netlink.h), turning -errno into
// NsbindErrors that name the step. Internal: the public API is netns, links and
// sandbox().net({ veth }).
//
// One socket serves one sequence of requests (the native side does not multiplex
// replies), so every caller opens its own and closes it when done.
import { native, type NativeHelperFailure, type NativeLink, type NativeNsRef } from '../binding.js';
import { errnoName, systemError, type NsbindError } from '../errors.js';
import { syscallNames } from '../plan/layout.js';
import type { Cidr } from './cidr.js';

/** The error for a helper child's failure (native/helper.h). */
export function helperError(
  f: NativeHelperFailure,
  fields: { step: string; path?: string; hint?: string },
): NsbindError {
  return systemError(f.errno, { ...fields, syscall: syscallNames[f.sys] || `syscall ${f.sys}` });
}

/** IFA_F_NODAD: an IPv6 address usable at once, without duplicate address detection. */
export const IFA_F_NODAD = 0x02;

export type LinkRef = number | string;

export class Rtnetlink {
  private constructor(private fd: number) {}

  /**
   * A socket in the caller's network namespace, or (given an nsfs descriptor) in that
   * namespace: the native side creates it from a short-lived child, never by switching
   * the Node process's own namespace.
   */
  static async open(step: string, ns?: { fd: number; path: string }): Promise<Rtnetlink> {
    const r = await native().nlOpen(ns ? ns.fd : -1);
    if (typeof r === 'number' && r >= 0) return new Rtnetlink(r);
    if (typeof r === 'number') throw systemError(-r, { step, syscall: 'socket' });
    throw helperError(r, {
      step,
      ...(ns ? { path: ns.path } : {}),
      ...(syscallNames[r.sys] === 'setns' && r.errno === 22 ? { hint: `${ns?.path} is not a network namespace file` } : {}),
    });
  }

  close(): void {
    if (this.fd >= 0) native().close(this.fd);
    this.fd = -1;
  }

  async vethAdd(step: string, name: string, nameNs: NativeNsRef | null, peer: string, peerNs: NativeNsRef | null): Promise<void> {
    check(await native().vethAdd(this.fd, name, nameNs, peer, peerNs), step, 'RTM_NEWLINK', {
      EEXIST: `an interface called '${name}' or '${peer}' already exists there: pick other names, or delete it first`,
      EOPNOTSUPP: 'the kernel has no veth driver (CONFIG_VETH)',
    });
  }

  async setNetns(step: string, link: LinkRef, to: NativeNsRef): Promise<void> {
    check(await native().linkSetNetns(this.fd, link, to), step, 'RTM_SETLINK', {
      ENODEV: `there is no interface ${describe(link)} in this network namespace`,
      EINVAL: 'the target is not a network namespace, or the interface is one the kernel keeps in its namespace (lo, bridges, VRFs)',
    });
  }

  async setUp(step: string, link: LinkRef, up = true): Promise<void> {
    check(await native().linkSetUp(this.fd, link, up), step, 'RTM_SETLINK', {
      ENODEV: `there is no interface ${describe(link)} in this network namespace`,
    });
  }

  async del(step: string, link: LinkRef): Promise<void> {
    check(await native().linkDel(this.fd, link), step, 'RTM_DELLINK', {
      ENODEV: `there is no interface ${describe(link)} in this network namespace`,
    });
  }

  /** The index of `name`, or undefined when there is no such link. */
  async index(step: string, name: string): Promise<number | undefined> {
    const r = await native().linkIndex(this.fd, name);
    if (r === -19 /* ENODEV */) return undefined;
    check(r, step, 'RTM_GETLINK');
    return r;
  }

  async list(step: string): Promise<NativeLink[]> {
    const r = await native().linkList(this.fd);
    if (typeof r === 'number') throw systemError(-r, { step, syscall: 'RTM_GETLINK' });
    return r;
  }

  async addrAdd(step: string, index: number, cidr: Cidr, flags = cidr.family === 6 ? IFA_F_NODAD : 0): Promise<void> {
    check(await native().addrAdd(this.fd, index, cidr.family, cidr.bytes, cidr.prefix, flags), step, 'RTM_NEWADDR', {
      EEXIST: `${cidr.address}/${cidr.prefix} is already assigned there`,
    });
  }

  async routeAddDefault(step: string, gateway: Cidr, oif = 0): Promise<void> {
    check(await native().routeAddDefault(this.fd, gateway.family, gateway.bytes, oif), step, 'RTM_NEWROUTE', {
      EEXIST: 'there is already a default route there',
      ENETUNREACH: `${gateway.address} is not in a subnet of an interface that is up`,
    });
  }
}

function describe(link: LinkRef): string {
  return typeof link === 'number' ? `with index ${link}` : `named '${link}'`;
}

// The kernel's answer, with a hint for the errors whose cause is known here.
function check(r: number, step: string, syscall: string, hints: Record<string, string> = {}): void {
  if (r >= 0) return;
  const hint = hints[errnoName(-r)];
  throw systemError(-r, { step, syscall, ...(hint ? { hint } : {}) });
}
