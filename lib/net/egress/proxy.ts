// nsbind's egress proxy: one listening socket inside the sandbox's netns (made by the
// setup, see native/egress_child.h), served here in the Node process. The first byte
// tells the protocol: 0x05 is a SOCKS5 greeting, anything else an HTTP request (CONNECT
// or an absolute URI). Written on node:net directly: the protocols' parts we need are a
// few dozen lines each, and the relay is socket.pipe() both ways, whose backpressure
// (pause the reader when the writer's buffer is full) is what a download needs.
import { connect, type Server, type Socket } from 'node:net';
import type { EgressViolation } from '../../violations.js';
import { decide, type Decision, type EgressRequest, type Policy } from './policy.js';
import { relay, type Relays } from './relay.js';

const MAX_HEAD = 64 * 1024;

export interface ProxyHooks {
  policy: Policy;
  violation: (v: EgressViolation) => void;
  /** Every socket of ours, to destroy when the sandbox ends. */
  track: (s: Socket) => void;
  relays: Relays;
}

export function serveProxy(server: Server, hooks: ProxyHooks): void {
  server.on('connection', (client) => {
    hooks.track(client);
    client.setNoDelay(true);
    client.on('error', () => {});
    client.once('data', (first: Buffer) => {
      if (first[0] === 0x05) void socks(client, first, hooks);
      else void http(client, first, hooks);
    });
  });
}

async function check(hooks: ProxyHooks, req: EgressRequest): Promise<Decision> {
  const d = await decide(hooks.policy, req);
  if (!d.ok) hooks.violation({ kind: 'egress', host: req.host, port: req.port, via: req.via, reason: d.reason });
  return d;
}

/** Connects to the checked address; resolves with the socket, or null on failure. */
function open(address: string, port: number, hooks: ProxyHooks): Promise<Socket | null> {
  return new Promise((resolve) => {
    const up = connect({ host: address, port, noDelay: true, allowHalfOpen: true });
    hooks.track(up);
    up.once('connect', () => resolve(up));
    up.once('error', () => resolve(null));
  });
}

/** Reads until the blank line that ends an HTTP head. */
function readHead(client: Socket, first: Buffer): Promise<{ head: string; rest: Buffer } | null> {
  return new Promise((resolve) => {
    let buf = first;
    const tryParse = () => {
      const end = buf.indexOf('\r\n\r\n');
      if (end >= 0) {
        client.off('data', onData);
        client.pause();
        resolve({ head: buf.subarray(0, end).toString('latin1'), rest: buf.subarray(end + 4) });
        return true;
      }
      if (buf.length > MAX_HEAD) {
        client.off('data', onData);
        resolve(null);
        return true;
      }
      return false;
    };
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      tryParse();
    };
    if (!tryParse()) client.on('data', onData);
  });
}

function splitHostPort(text: string, defaultPort: number): { host: string; port: number } | null {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(text) ?? /^([^:]+)(?::(\d+))?$/.exec(text);
  if (!m) return null;
  const port = m[2] === undefined ? defaultPort : Number(m[2]);
  if (!(port >= 1 && port <= 65535)) return null;
  return { host: m[1], port };
}

function refuse(client: Socket, status: string, why: string): void {
  client.end(`HTTP/1.1 ${status}\r\nContent-Type: text/plain\r\nConnection: close\r\nX-Nsbind-Egress: refused\r\nContent-Length: ${why.length + 1}\r\n\r\n${why}\n`);
}

async function http(client: Socket, first: Buffer, hooks: ProxyHooks): Promise<void> {
  const got = await readHead(client, first);
  if (!got) return void refuse(client, '431 Request Header Fields Too Large', 'nsbind: request head too large');
  const [requestLine, ...headers] = got.head.split('\r\n');
  const [method, target, version] = requestLine.split(' ');
  let host: string, port: number, head: string | undefined;
  if (method === 'CONNECT') {
    const hp = splitHostPort(target ?? '', 443);
    if (!hp) return void refuse(client, '400 Bad Request', 'nsbind: bad CONNECT target');
    ({ host, port } = hp);
  } else {
    let url: URL;
    try {
      url = new URL(target ?? '');
    } catch {
      return void refuse(client, '400 Bad Request', 'nsbind: this is a proxy; send absolute URIs or CONNECT');
    }
    if (url.protocol !== 'http:') return void refuse(client, '400 Bad Request', 'nsbind: only http:// URIs (use CONNECT for https)');
    host = url.hostname.replace(/^\[|\]$/g, '');
    port = url.port ? Number(url.port) : 80;
    // Origin form for the server; hop-by-hop and proxy headers dropped; one request per
    // connection, so that every request is checked (a kept-alive connection could not
    // be re-aimed at another host anyway, but Connection: close keeps clients simple).
    const kept = headers.filter((h) => !/^(proxy-[a-z-]*|connection|keep-alive)\s*:/i.test(h));
    head = [`${method} ${url.pathname}${url.search} ${version ?? 'HTTP/1.1'}`, ...kept, 'Connection: close', '', ''].join('\r\n');
  }
  const d = await check(hooks, { host, port, via: 'http' });
  if (!d.ok) return void refuse(client, '403 Forbidden', `nsbind: egress to ${host}:${port} refused (${d.reason})`);
  const up = await open(d.address, port, hooks);
  if (!up) return void refuse(client, '502 Bad Gateway', `nsbind: cannot connect to ${host}:${port}`);
  // The head goes ahead of what the client sent after it, through the relay.
  if (head === undefined) client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
  relay(client, up, hooks.relays, head === undefined ? got.rest : Buffer.concat([Buffer.from(head, 'latin1'), got.rest]));
}

/** Reads exactly n more bytes (after what is buffered). */
function reader(client: Socket, first: Buffer) {
  let buf = first;
  let want = 0;
  let wake: (() => void) | undefined;
  const onData = (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    if (buf.length >= want) wake?.();
  };
  client.on('data', onData);
  client.once('close', () => wake?.());
  return {
    async take(n: number): Promise<Buffer | null> {
      want = n;
      while (buf.length < n) {
        if (client.destroyed) return null;
        await new Promise<void>((r) => (wake = r));
      }
      const out = buf.subarray(0, n);
      buf = buf.subarray(n);
      return out;
    },
    done(): Buffer {
      client.off('data', onData);
      client.pause();
      return buf;
    },
  };
}

async function socks(client: Socket, first: Buffer, hooks: ProxyHooks): Promise<void> {
  const r = reader(client, first);
  const greet = await r.take(2);
  if (!greet) return;
  const methods = await r.take(greet[1]);
  if (!methods) return;
  if (!methods.includes(0x00)) return void client.end(Buffer.from([5, 0xff]));
  client.write(Buffer.from([5, 0]));
  const req = await r.take(4);
  if (!req) return;
  const reply = (code: number) => Buffer.from([5, code, 0, 1, 0, 0, 0, 0, 0, 0]);
  if (req[0] !== 5 || req[1] !== 1) return void client.end(reply(7)); // CONNECT only
  let host: string;
  if (req[3] === 1) host = [...((await r.take(4)) ?? [])].join('.');
  else if (req[3] === 3) {
    const len = await r.take(1);
    host = len ? ((await r.take(len[0])) ?? Buffer.alloc(0)).toString('latin1') : '';
  } else if (req[3] === 4) {
    const b = await r.take(16);
    host = b ? (b.toString('hex').match(/.{4}/g) ?? []).join(':') : '';
  } else return void client.end(reply(8));
  const p = await r.take(2);
  if (!p || !host) return void client.destroy();
  const port = p.readUInt16BE(0);
  const d = await check(hooks, { host, port, via: 'socks' });
  if (!d.ok) return void client.end(reply(2)); // connection not allowed by ruleset
  const up = await open(d.address, port, hooks);
  if (!up) return void client.end(reply(5));
  client.write(reply(0));
  relay(client, up, hooks.relays, r.done());
}
