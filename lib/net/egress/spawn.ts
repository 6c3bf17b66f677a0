// The life of a sandbox's egress proxy and forwarded ports, around the spawn.
//
//   plan:    the setup listens on 127.0.0.1:PORT inside the new netns (the proxy, each
//            `expose`d port) and sends each socket over a socketpair (NSB_OP_NET_LISTEN),
//            before the program runs: its first connect finds the port ready.
//   spawned: Node takes those sockets and serves them; `forward` listeners on the
//            caller's 127.0.0.1 open a socket inside the sandbox's netns per connection
//            (egressSocketIn: a helper joins the sandbox's user namespace, so this works
//            unprivileged) and connect it to 127.0.0.1:sandbox.
//   finish:  every server and socket of ours is closed before `exited` resolves.
import { createServer, Socket, type Server } from 'node:net';
import { native } from '../../binding.js';
import { nsbindError, systemError } from '../../errors.js';
import type { SandboxOptions } from '../../options.js';
import { createdNamespaces } from '../../namespaces/created.js';
import type { PlanContext } from '../../plan/context.js';
import { Op, syscallNames } from '../../plan/layout.js';
import type { SpawnPreparer } from '../../spawn-types.js';
import { MAX_VIOLATIONS, type Violation } from '../../violations.js';
import { DEFAULT_PROXY_PORT } from './options.js';
import { parsePattern } from './patterns.js';
import { serveProxy } from './proxy.js';
import { relay, Relays } from './relay.js';

const BACKLOG = 511;

interface Channel {
  parentFd: number;
  /** What each socket the setup sends is for, in order. */
  listeners: ({ kind: 'proxy'; port: number } | { kind: 'expose'; port: number; host: number })[];
}

// Keyed by the request's extraFds array: spawn() copies the request object shallowly,
// the array is shared.
const channels = new WeakMap<object, Channel>();

function wanted(options: SandboxOptions) {
  const net = options.namespaces?.net;
  if (!net || net.join !== undefined) return undefined;
  if (!net.egress && !net.forward?.length && !net.expose?.length) return undefined;
  return net;
}

/** Compile phase (lib/plan.ts, with the filesystem steps): the setup's listening sockets. */
export function egressListeners(ctx: PlanContext): void {
  const net = wanted(ctx.options);
  if (!net || !ctx.created.has('net')) return;
  const listeners: Channel['listeners'] = [];
  if (net.egress) listeners.push({ kind: 'proxy', port: net.egress.port ?? DEFAULT_PROXY_PORT });
  for (const e of net.expose ?? []) listeners.push({ kind: 'expose', port: e.sandbox, host: e.host });
  if (listeners.length === 0) return;
  const pair = native().egressSocketpair();
  if (typeof pair === 'number') throw systemError(-pair, { step: 'egress: socketpair', syscall: 'socketpair' });
  ctx.transientFds.push(pair[1]);
  ctx.request.extraFds ??= [];
  const slot = ctx.request.extraFds.push(pair[1]) - 1;
  for (const l of listeners) {
    const what = l.kind === 'proxy' ? 'egress proxy' : 'expose';
    ctx.writer.op(Op.NET_LISTEN, `${what}: listen on 127.0.0.1:${l.port}`, { n: [l.port, slot, BACKLOG] });
  }
  channels.set(ctx.request.extraFds, { parentFd: pair[0], listeners });
}

/** The spawn preparer (lib/spawn.ts): serves those sockets, the proxy and the forwarded ports. */
export const egressPreparer: SpawnPreparer = (options, request, spawn) => {
  const net = wanted(options);
  if (!net) return;
  const channel = request.extraFds ? channels.get(request.extraFds) : undefined;
  const violations: Violation[] = [];
  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  const nsFds: number[] = [];
  const relays = new Relays();
  let ended = false;
  const track = (s: Socket) => {
    if (ended) return void s.destroy();
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  };
  const policy = net.egress && {
    allow: net.egress.allow.map((p, i) => parsePattern(p, `net.egress.allow[${i}]`)),
    deny: (net.egress.deny ?? []).map((p, i) => parsePattern(p, `net.egress.deny[${i}]`)),
    lookup: spawn.spawnOptions.egressLookup,
    ask: spawn.spawnOptions.egress,
  };
  const violation = (v: Violation) => {
    if (violations.length < MAX_VIOLATIONS) violations.push(v);
    spawn.process?.emit('violation', v);
  };
  const fail = (e: unknown) => {
    const p = spawn.process;
    if (p && p.listenerCount('error') > 0) p.emit('error', e);
    p?.kill('SIGKILL');
  };

  // Forwarded host ports listen from now on; a connection waits for the namespaces.
  let ready!: (fds: { user: number; net: number } | null) => void;
  const nsReady = new Promise<{ user: number; net: number } | null>((r) => (ready = r));
  (net.forward ?? []).forEach((f, i) => {
    const server = createServer({ pauseOnConnect: true, noDelay: true, allowHalfOpen: true }, (client) => {
      track(client);
      client.on('error', () => {});
      void nsReady.then((ns) => {
        if (!ns || ended) return void client.destroy();
        const fd = native().egressSocketIn(ns.user, ns.net);
        if (typeof fd !== 'number') return void client.destroy();
        const inside = new Socket({ fd, manualStart: true, allowHalfOpen: true } as ConstructorParameters<typeof Socket>[0]);
        track(inside);
        inside.on('error', () => client.destroy());
        inside.connect(f.sandbox, '127.0.0.1', () => relay(client, inside, relays));
      });
    });
    server.on('error', (e) => fail(nsbindError('ERR_NSBIND_FORWARD', `net.forward[${i}]: cannot listen on 127.0.0.1:${f.host}: ${(e as Error).message}`, { option: `net.forward[${i}].host`, cause: e })));
    server.listen(f.host, '127.0.0.1');
    servers.push(server);
  });

  const cleanup = async () => {
    if (ended) return;
    ended = true;
    ready(null);
    if (channel && channel.parentFd >= 0) native().close(channel.parentFd);
    if (channel) channel.parentFd = -1;
    for (const fd of nsFds) native().close(fd);
    nsFds.length = 0;
    await relays.closeAll();
    for (const s of sockets) s.destroy();
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  };

  return {
    spawned: (r) => {
      if (channel) {
        const fds = native().egressReceive(channel.parentFd, channel.listeners.length);
        native().close(channel.parentFd);
        channel.parentFd = -1;
        if (typeof fds === 'number' || fds.length !== channel.listeners.length) {
          const errno = typeof fds === 'number' ? -fds : 71; // EPROTO: fewer sockets than asked
          for (const fd of typeof fds === 'number' ? [] : fds) native().close(fd);
          return fail(systemError(errno, { step: 'egress: take the listening sockets', syscall: syscallNames[71] }));
        }
        channel.listeners.forEach((l, i) => {
          // Half-open connections stay open: a client that has sent all (shutdown(SHUT_WR))
          // still reads the answer.
          const server = createServer({ noDelay: true, allowHalfOpen: true });
          servers.push(server);
          server.listen({ fd: fds[i] });
          if (l.kind === 'proxy') {
            if (spawn.process) spawn.process.egress = { http: l.port, socks: l.port };
            serveProxy(server, { policy: policy!, violation, track, relays });
          } else {
            server.on('connection', (inside) => {
              track(inside);
              inside.pause();
              inside.on('error', () => {});
              const host = new Socket({ allowHalfOpen: true });
              track(host);
              host.on('error', () => inside.destroy());
              host.connect(l.host, '127.0.0.1', () => relay(inside, host, relays));
            });
          }
        });
      }
      if (net.forward?.length) {
        const user = createdNamespaces(options).has('user') ? native().openNamespace(r.pid, 'user') : -1;
        const netFd = native().openNamespace(r.pid, 'net');
        if (user >= 0) nsFds.push(user);
        if (netFd >= 0) nsFds.push(netFd);
        ready(netFd >= 0 && (user >= 0 || !createdNamespaces(options).has('user')) ? { user, net: netFd } : null);
      }
    },
    finish: async (result) => {
      await cleanup();
      return policy ? { ...result, violations } : result;
    },
    abandon: cleanup,
  };
};
