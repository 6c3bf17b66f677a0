// Sandboxes wired with veth pairs, end to end: real servers inside, real clients outside.
// Traffic goes only to namespaces this test made (the sandboxes', or `ip netns add`
// ones); host ends of pairs live on the host only while their sandbox runs, on private
// /30s, and the test checks they are gone.
import { execFileSync } from 'node:child_process';
import { unlinkSync } from 'node:fs';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NsbindError, netns, sandbox, type SandboxProcess } from '../../lib/index.js';
import { children, hasCommand, inCI, isRoot, openFds, runAsNobody, rejection } from '../helpers/index.js';

const canRun = isRoot && hasCommand('ip') && hasCommand('nsenter');
// Distinct per test file run, so parallel runs on one machine do not collide.
const tag = (process.pid % 10000).toString(36);
/** 10.<subnet>.x.0/30 and fd00:<subnet>::/64: a block the host does not route yet. */
const subnet = (() => {
  if (!canRun) return 200;
  const routes = execFileSync('ip', ['-o', 'route', 'show', 'table', 'all'], { encoding: 'utf8' }) +
    execFileSync('ip', ['-o', '-6', 'route', 'show', 'table', 'all'], { encoding: 'utf8' });
  for (let i = 0; i < 50; i++) {
    const n = 200 + ((process.pid + i) % 50);
    if (!routes.includes(`10.${n}.`) && !routes.includes(`fd00:${n}:`)) return n;
  }
  throw new Error('no free 10.2xx.0.0/16 block to test with');
})();
const made = new Set<string>();

function hostLinks(): string[] {
  return execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(': ')[1].split('@')[0]);
}

/** A TCP port nothing listens on at the host's loopback right now. */
async function freePort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

function serverScript(port: number, text: string): string {
  return `require('http').createServer((q, s) => s.end(${JSON.stringify(text)})).listen(${port}, '0.0.0.0', () => console.log('ready'))`;
}

/** Resolves once the sandboxed program prints 'ready'. */
function ready(p: SandboxProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    p.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('ready')) resolve();
    });
    p.exited.then(() => reject(new Error(`exited before ready: ${out}`)), reject);
  });
}


afterAll(() => {
  for (const name of made) {
    try {
      execFileSync('ip', ['netns', 'delete', name]);
    } catch {
      // already gone
    }
  }
});

describe.skipIf(!canRun && !inCI)('veth (needs root and iproute2)', () => {
  it('a server in a sandbox answers fetch from the host at the sandbox address, not on the host loopback', async () => {
    const port = await freePort();
    const peer = `nsbh${tag}a`;
    const p = sandbox()
      .net({ veth: { peer, address: `10.${subnet}.1.2/30`, peerAddress: `10.${subnet}.1.1/30` } })
      .spawn(process.execPath, ['-e', serverScript(port, 'hello from the box')], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await ready(p);
      expect(hostLinks()).toContain(peer);
      const r = await fetch(`http://10.${subnet}.1.2:${port}/`);
      expect(await r.text()).toBe('hello from the box');
      // The server is in the sandbox's namespace only.
      const e = await fetch(`http://127.0.0.1:${port}/`).then(
        () => undefined,
        (x: Error) => x,
      );
      expect((e?.cause as NodeJS.ErrnoException | undefined)?.code).toBe('ECONNREFUSED');
    } finally {
      p.kill('SIGKILL');
      await p.exited;
    }
    expect(hostLinks()).not.toContain(peer);
  });

  it('configures the sandbox end: named, up, addressed, default route via the peer (IPv4 and IPv6)', async () => {
    const r = await sandbox()
      .net({ veth: { name: 'uplink0', peer: `nsbh${tag}b`, address: `10.${subnet}.2.2/30`, peerAddress: `10.${subnet}.2.1/30` } })
      .run('sh', ['-c', 'ip -o -4 addr show dev uplink0; ip route show default; ip -o link show uplink0']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`inet 10.${subnet}.2.2/30`);
    expect(r.stdout).toMatch(new RegExp(`default via 10\\.${subnet}\\.2\\.1 dev uplink0`));
    expect(r.stdout).toMatch(/uplink0@\S+: <[^>]*\bUP\b/);

    const r6 = await sandbox()
      .net({ veth: { peer: `nsbh${tag}c`, address: `fd00:${subnet}::2/64`, peerAddress: `fd00:${subnet}::1/64` } })
      .run('sh', ['-c', 'ip -o -6 addr show dev eth0 scope global; ip -6 route show default']);
    expect(r6.stdout).toContain(`inet6 fd00:${subnet}::2/64`);
    expect(r6.stdout).not.toContain('tentative');
    expect(r6.stdout).toMatch(new RegExp(`default via fd00:${subnet}::1 dev eth0`));
  });

  it('two sandboxes joined by a veth pair between their namespaces talk to each other', async () => {
    const port = await freePort();
    const server = sandbox()
      .net()
      .spawn(process.execPath, ['-e', serverScript(port, 'hello neighbour')], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await ready(server);
      const client = await sandbox()
        .net({
          veth: { peer: 'to-client', peerNetns: server, address: `10.${subnet}.3.2/30`, peerAddress: `10.${subnet}.3.1/30` },
        })
        .run(process.execPath, [
          '-e',
          `fetch('http://10.${subnet}.3.1:${port}/').then((r) => r.text()).then((t) => console.log(t))`,
        ]);
      expect(client.stderr).toBe('');
      expect(client.stdout).toBe('hello neighbour\n');
      // The server's end went with the client: its namespace has only lo again.
      const inServer = () =>
        execFileSync('nsenter', [`--net=/proc/${server.pid}/ns/net`, 'ip', '-o', 'link'], { encoding: 'utf8' });
      expect(inServer()).not.toContain('to-client');
      expect(inServer().trim().split('\n')).toHaveLength(1);
    } finally {
      server.kill('SIGKILL');
      await server.exited;
    }
  });

  it('puts the peer end in a namespace made by `ip netns add`', async () => {
    const ns = `nsbt-${process.pid}-t2`;
    execFileSync('ip', ['netns', 'add', ns]);
    made.add(ns);
    const p = sandbox()
      .net({ veth: { peer: 'in-t2', peerNetns: ns, address: `10.${subnet}.4.2/30`, peerAddress: `10.${subnet}.4.1/30` } })
      .spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      await new Promise((res) => p.once('spawn', res));
      const shown = execFileSync('ip', ['-n', ns, '-o', '-4', 'addr', 'show', 'dev', 'in-t2'], { encoding: 'utf8' });
      expect(shown).toContain(`inet 10.${subnet}.4.1/30`);
    } finally {
      p.kill('SIGKILL');
      await p.exited;
    }
    expect(execFileSync('ip', ['-n', ns, '-o', 'link'], { encoding: 'utf8' })).not.toContain('in-t2');
  });

  it('a peer name already on the host is EEXIST, and nothing is created', async () => {
    const before = hostLinks();
    const e = await rejection(sandbox().net({ veth: { peer: 'lo', address: `10.${subnet}.5.2/30` } }).run('true'));
    expect(e.code).toBe('EEXIST');
    expect(e.step).toBe('veth: create the pair');
    expect(e.syscall).toBe('RTM_NEWLINK');
    expect(e.hint).toMatch(/already exists on the host/);
    expect(hostLinks()).toEqual(before);
  });

  it('a setup failure after the pair was made removes it', async () => {
    const peer = `nsbh${tag}f`;
    const e = await rejection(
      sandbox().net({ veth: { peer, address: `10.${subnet}.6.2/30` } }).run('/nonexistent/program'),
    );
    expect(e.code).toBe('ENOENT');
    expect(hostLinks()).not.toContain(peer);
  });

  it('a failure configuring the peer end names the step and removes the pair', async () => {
    const ns = `nsbt-${process.pid}-no6`;
    execFileSync('ip', ['netns', 'add', ns]);
    made.add(ns);
    // IPv6 off for new interfaces there: the peer end's IPv6 address is refused.
    execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.default.disable_ipv6=1']);
    const e = await rejection(
      sandbox()
        .net({ veth: { peer: 'no6', peerNetns: ns, address: `fd00:${subnet}:7::2/64`, peerAddress: `fd00:${subnet}:7::1/64` } })
        .run('true'),
    );
    expect(e.step).toBe('veth: configure the peer end');
    expect(e.syscall).toBe('RTM_NEWADDR');
    expect(execFileSync('ip', ['-n', ns, '-o', 'link'], { encoding: 'utf8' })).not.toContain('no6');
  });

  it('a peerNetns that is not a network namespace fails at setup without hanging, and leaves nothing', async () => {
    const fifo = join(tmpdir(), `nsbt-${process.pid}-fifo`);
    execFileSync('mkfifo', [fifo]);
    try {
      const e = await rejection(sandbox().net({ veth: { peer: `nsbh${tag}q`, peerNetns: fifo } }).run('true'));
      expect(e.step).toBe('veth: create the pair');
      expect(e.code).toBe('EINVAL');
      expect(e.syscall).toBe('setns');
      const e2 = await rejection(sandbox().net({ veth: { peer: `nsbh${tag}q`, peerNetns: '/proc/self/ns/uts' } }).run('true'));
      expect(e2.code).toBe('EINVAL');
      expect(hostLinks()).not.toContain(`nsbh${tag}q`);
    } finally {
      unlinkSync(fifo);
    }
  });

  it('a missing peerNetns is a setup error of spawn (exited rejects), before anything runs', async () => {
    const p = sandbox().net({ veth: { peer: 'x0', peerNetns: `nsbt-${process.pid}-nowhere` } }).spawn('true');
    const err = await p.exited.catch((e) => e);
    expect(err).toBeInstanceOf(NsbindError);
    expect((err as NsbindError).code).toBe('ENOENT');
    expect((err as NsbindError).option).toBe('net.veth.peerNetns');
    expect((err as NsbindError).hint).toMatch(/no network namespace named/);
    expect(p.pid).toBeUndefined();
  });

  it('200 sandboxes with veth pairs leave no link and no netns file behind', async () => {
    const netnsBefore = await netns.list();
    const linksBefore = hostLinks();
    const fdsBefore = openFds().length;
    const prefix = `nsb${tag}-`;
    for (let batch = 0; batch < 20; batch++) {
      await Promise.all(
        Array.from({ length: 10 }, async (_, k) => {
          const i = batch * 10 + k;
          const r = await sandbox()
            .net({ veth: { peer: `${prefix}${i}`, address: `10.${subnet}.100.2/30`, peerAddress: `10.${subnet}.100.1/30` } })
            .run('true');
          expect(r.code).toBe(0);
        }),
      );
    }
    expect(hostLinks().filter((l) => l.startsWith(prefix))).toEqual([]);
    // Other test files run at the same time and make links and namespaces of their own
    // (named nsbt-<their pid>-...): compare what is not theirs.
    const notOthers = (names: string[]) => names.filter((n) => !/^nsbt-\d+-/.test(n) || n.startsWith(`nsbt-${process.pid}-`));
    expect(notOthers(hostLinks())).toEqual(notOthers(linksBefore));
    expect(notOthers(await netns.list())).toEqual(notOthers(netnsBefore));
    expect(children()).toEqual([]);
    expect(openFds().length).toBe(fdsBefore);
  }, 120_000);
});

// (A sandbox with its own netns needs no privilege: this runs for every caller.)
describe('network isolation', () => {
  it('a host abstract unix socket is unreachable from a sandbox with its own netns', async () => {
    const name = `\0nsbind-test-${process.pid}`;
    const server = createNetServer((s) => s.end('hi'));
    await new Promise<void>((r) => server.listen(name, r));
    const client = `require('net').connect(${JSON.stringify(name)}).on('data', (d) => console.log('got ' + d)).on('error', (e) => console.log(e.code))`;
    try {
      // Control: without a netns of its own the sandbox reaches it (abstract sockets
      // belong to the network namespace, not to the filesystem).
      const shared = await sandbox().uts().run(process.execPath, ['-e', client]);
      expect(shared.stdout.trim()).toBe('got hi');
      const own = await sandbox().net().run(process.execPath, ['-e', client]);
      expect(own.stdout.trim()).toBe('ECONNREFUSED');
    } finally {
      server.close();
    }
  });
});

describe.skipIf(!canRun && !inCI)(`without privileges${canRun ? '' : ' (skipped: needs root to run a child as uid 65534, and iproute2)'}`, () => {
  it('a veth to the host and netns.add are refused with a hint, and leave nothing', () => {
    const before = hostLinks();
    const r = runAsNobody(`
      const out = {};
      try { await nsbind.sandbox().net({ veth: { peer: 'nsbnobody0' } }).run('true'); out.veth = 'ran'; }
      catch (e) { out.veth = [e.code, e.step, e.hint]; }
      try { await nsbind.netns.add('nsbt-nobody-${process.pid}'); out.netns = 'added'; }
      catch (e) { out.netns = [e.code, e.hint]; }
      console.log(JSON.stringify(out));
    `);
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout);
    expect(out.veth[0]).toBe('EPERM');
    expect(out.veth[1]).toBe('veth: create the pair');
    expect(out.veth[2]).toMatch(/CAP_NET_ADMIN/);
    expect(['EACCES', 'EPERM']).toContain(out.netns[0]);
    expect(out.netns[1]).toMatch(/need root/);
    expect(hostLinks()).toEqual(before);
  });
});
