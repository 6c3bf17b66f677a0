// The hub of an unprivileged caller's lab() (lib/lab.ts), run by sb.fork() inside the
// hub's own user and network namespaces. Not an entry point of the package.
//
// Why a process inside the hub: a veth can join two network namespaces only for a process
// that holds CAP_NET_ADMIN over both. An unprivileged caller holds it over neither from
// outside (nsbind's parent side works from the caller's user namespace), but root of the
// hub's user namespace holds it over the hub's network and over every network namespace
// it creates there: so the hub makes each node, with the node's end of the pair in the
// node and the other end in the hub, and the nodes belong to the hub's user namespace,
// which the caller may enter.
import { writeFileSync } from 'node:fs';
import { sandbox } from './index.js';
import type { SandboxProcess } from './process.js';

/** One node as lib/lab.ts asks for it. */
export interface HubNode {
  name: string;
  /** The hub's end of the pair, in the hub. */
  peer: string;
  /** CIDR of the node's end (`eth0`). */
  address: string;
  /** CIDR of the hub's end, the node's default route. */
  peerAddress: string;
}

export type HubRequest = { nodes: HubNode[]; holder: string[] };
export type HubReply = { pids: number[] } | { error: { message: string; code?: string; step?: string; hint?: string } };

const nodes: SandboxProcess[] = [];

async function make(req: HubRequest): Promise<number[]> {
  // Node to node goes through the hub: each node has its own subnet and its default route here.
  writeFileSync('/proc/sys/net/ipv4/ip_forward', '1');
  for (const n of req.nodes) {
    // No user namespace of its own: the node's network namespace must belong to the
    // hub's user namespace (see above), and default seccomp refuses nested ones anyway.
    const p = sandbox()
      .user(false)
      .net({ veth: { name: 'eth0', peer: n.peer, address: n.address, peerAddress: n.peerAddress } })
      .uts({ hostname: n.name })
      .spawn(req.holder[0], req.holder.slice(1), { stdio: 'ignore' });
    nodes.push(p);
    await new Promise<void>((resolve, reject) => {
      p.once('spawn', () => resolve());
      p.once('error', reject);
    });
  }
  return nodes.map((p) => p.pid!);
}

async function end(): Promise<void> {
  for (const p of nodes) p.kill('SIGKILL');
  await Promise.all(nodes.map((p) => p.exited.catch(() => undefined)));
}

process.once('message', (req: HubRequest) => {
  make(req).then(
    (pids) => process.send!({ pids } satisfies HubReply),
    async (e: { message: string; code?: string; step?: string; hint?: string }) => {
      await end();
      process.send!({ error: { message: e.message, code: e.code, step: e.step, hint: e.hint } } satisfies HubReply, () => process.exit(1));
    },
  );
});
// The caller's close(): the nodes go first, so that when the hub has exited, so have they.
process.once('disconnect', () => {
  void end().then(() => process.exit(0));
});
