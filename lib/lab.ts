// lab(): two or more network namespaces joined by veth pairs, for a test that needs a
// server and a client on a network of their own ("start this server and reach it over a
// real link"), rootless. Exported by nsbind/vitest.
//
// Shape: a hub namespace in the middle and one veth pair per node. Node i (from 1) is
// 10.77.i.2/24 on its `eth0`, the hub's end 10.77.i.1 is its default route, and the hub
// forwards, so every node reaches every other by address. A hub, not a chain of pairs: any
// number of nodes, one hop each way, and no node has to route for another.
//
// Two ways to build it, the same result:
// - root: the hub is a small process in its own user and network namespaces; each node is
//   an ordinary sandbox with its own user namespace whose veth's other end goes into the
//   hub (`peerNetns`), as the README's veth example does.
// - unprivileged: the caller holds CAP_NET_ADMIN over no namespace from outside, so the
//   nodes are made from inside the hub (lib/lab-hub.ts says why that works).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { enter } from './enter.js';
import { invalid, NsbindError } from './errors.js';
import type { ForkedProcess } from './fork.js';
import type { HubNode, HubReply, HubRequest } from './lab-hub.js';
import type { SandboxProcess } from './process.js';
import { sandbox, type Sandbox } from './sandbox.js';

export interface LabOptions {
  /**
   * The nodes' names, at least two: each is a node's hostname and the key of `lab.node()`.
   * @default ['a', 'b']
   */
  nodes?: readonly string[];
}

/** One namespace of a lab. */
export interface LabNode {
  /** Its name, which is also its hostname. */
  readonly name: string;
  /** Its address on its `eth0`, e.g. `'10.77.1.2'`: how the other nodes reach it. */
  readonly address: string;
  /**
   * A sandbox that runs in this node: its network, hostname and user namespace (root
   * inside). Extend it like any sandbox (`.tmpfs('/tmp')`, `.env()`, `.capabilities()`); a
   * new pid namespace is not available in a joined user namespace.
   */
  readonly sandbox: Sandbox;
}

export interface Lab {
  /** The nodes, in the order given. */
  readonly nodes: readonly LabNode[];
  /** The node named `name`; an unknown name throws (`option` `'lab.node'`). */
  node(name: string): LabNode;
  /** Ends every node and the hub; resolves when they are gone. Sandboxes the test started in a node are the test's to end. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const HOSTNAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
// The nodes' holders: they keep each node's namespaces alive until close().
const HOLDER = ['sleep', '2147483647'];

function nodeNames(o: LabOptions): string[] {
  if (o === null || typeof o !== 'object') throw invalid('lab.options', 'expected an object like { nodes: [\'server\', \'client\'] }');
  const names = o.nodes ?? ['a', 'b'];
  if (!Array.isArray(names) || names.length < 2 || names.length > 254) {
    throw invalid('lab.nodes', `expected an array of 2 to 254 names, got ${Array.isArray(names) ? `${names.length}` : typeof names}`);
  }
  const seen = new Set<string>();
  for (const n of names) {
    if (typeof n !== 'string' || !HOSTNAME.test(n)) throw invalid('lab.nodes', `${JSON.stringify(n)} is not a hostname (letters, digits and '-', at most 63)`);
    if (seen.has(n)) throw invalid('lab.nodes', `'${n}' is named twice`);
    seen.add(n);
  }
  return names as string[];
}

/**
 * Starts a lab: a network of its own with two or more nodes (network namespaces joined
 * by veth pairs through a hub), each with its own hostname; rootless. Run servers and
 * clients in the nodes with `lab.node(name).sandbox`; `close()` (or `await using`) ends it.
 * Needs what `unavailable('userns', 'namespaces.net', 'namespaces.uts')` checks.
 * @example
 * await using net = await lab({ nodes: ['server', 'client'] });
 * const server = net.node('server').sandbox.capabilities(['CAP_NET_BIND_SERVICE']).spawn('python3', ['-m', 'http.server', '80']);
 * const r = await net.node('client').sandbox.run('curl', ['-s', `http://${net.node('server').address}/`]);
 */
export async function lab(o: LabOptions = {}): Promise<Lab> {
  const names = nodeNames(o);
  const wanted: HubNode[] = names.map((name, i) => ({
    name,
    peer: `lab${i + 1}`,
    address: `10.77.${i + 1}.2/24`,
    peerAddress: `10.77.${i + 1}.1/24`,
  }));
  const built = process.geteuid?.() === 0 ? await asRoot(wanted) : await rootless(wanted);
  const nodes = wanted.map((w, i): LabNode => ({
    name: w.name,
    address: w.address.split('/')[0],
    // enter() keeps the caller's own ids; root of the node's user namespace is what a
    // node's program expects (a root caller's host 0 is not mapped there at all).
    sandbox: enter(built.pids[i], ['user', 'net', 'uts']).as({ uid: 0, gid: 0 }),
  }));
  let closed: Promise<void> | undefined;
  const close = () => (closed ??= built.close());
  return {
    nodes,
    node(name: string): LabNode {
      const n = nodes.find((x) => x.name === name);
      if (!n) throw invalid('lab.node', `no node '${String(name)}' in this lab (it has ${names.join(', ')})`);
      return n;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

type Built = { pids: number[]; close: () => Promise<void> };

/** Waits for `p` to run; a setup failure rejects with its NsbindError. */
function started(p: SandboxProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    p.once('spawn', () => resolve());
    p.once('error', reject);
  });
}

async function asRoot(wanted: HubNode[]): Promise<Built> {
  const procs: SandboxProcess[] = [];
  const close = async () => {
    for (const p of procs) p.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exited.catch(() => undefined)));
  };
  try {
    // CAP_NET_ADMIN: root of a user namespace may write its network's sysctls only with it.
    const hub = sandbox()
      .user()
      .net()
      .capabilities(['CAP_NET_ADMIN'])
      .spawn('/bin/sh', ['-c', `echo 1 > /proc/sys/net/ipv4/ip_forward && exec ${HOLDER.join(' ')}`], { stdio: 'ignore' });
    procs.push(hub);
    await started(hub);
    const pids: number[] = [];
    for (const n of wanted) {
      const p = sandbox()
        .user()
        .net({ veth: { name: 'eth0', peer: n.peer, address: n.address, peerAddress: n.peerAddress, peerNetns: hub } })
        .uts({ hostname: n.name })
        .spawn(HOLDER[0], HOLDER.slice(1), { stdio: 'ignore' });
      procs.push(p);
      await started(p);
      pids.push(p.pid!);
    }
    return { pids, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** The compiled hub beside this file; from the TypeScript sources (nsbind's own tests), dist's. */
function hubModule(): string {
  const beside = join(__dirname, 'lab-hub.js');
  return existsSync(beside) ? beside : join(__dirname, '..', 'dist', 'lab-hub.js');
}

async function rootless(wanted: HubNode[]): Promise<Built> {
  // 'all': the hub makes network and UTS namespaces and veth pairs, and drops capabilities
  // from its nodes; all of it within its own user namespace.
  const hub: ForkedProcess = sandbox()
    .user()
    .net()
    .capabilities('all')
    .fork(hubModule(), [], { execArgv: [], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  // Its stderr only matters when it ends before answering (a crash): kept for that error.
  let stderr = '';
  hub.stderr?.on('data', (c: Buffer) => {
    if (stderr.length < 4096) stderr += c.toString();
  });
  const close = async () => {
    if (hub.connected) hub.disconnect();
    await hub.exited.catch(() => undefined);
  };
  try {
    const reply = await new Promise<HubReply>((resolve, reject) => {
      hub.once('message', (m: HubReply) => resolve(m));
      hub.once('error', reject);
      hub.exited.then(() => reject(new NsbindError(`nsbind: lab: the hub ended before it made the nodes${stderr ? `: ${stderr.trim()}` : ''}`, { code: 'ERR_NSBIND_LAB' })), reject);
      hub.send({ nodes: wanted, holder: HOLDER } satisfies HubRequest);
    });
    if ('error' in reply) {
      const { message, code, step, hint } = reply.error;
      throw new NsbindError(message, { code: code ?? 'ERR_NSBIND_LAB', ...(step ? { step } : {}), ...(hint ? { hint } : {}) });
    }
    return { pids: reply.pids, close };
  } catch (e) {
    await close();
    throw e;
  }
}
