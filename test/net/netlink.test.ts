// The rtnetlink client and named namespaces against the real kernel, only inside
// network namespaces this test creates (the host's own network is never touched), with
// iproute2 as the oracle.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { native } from '../../lib/binding.js';
import { NsbindError, netns } from '../../lib/index.js';
import { parseCidr } from '../../lib/net/cidr.js';
import { Rtnetlink } from '../../lib/net/netlink.js';
import { openNetnsTarget } from '../../lib/net/target.js';
import { children, hasCommand, inCI, isRoot, openFds, root, rejection } from '../helpers/index.js';

const canRun = isRoot && hasCommand('ip');
const prefix = `nsbt-${process.pid}`;
const made = new Set<string>();

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8' });
}
function ipAdd(name: string): string {
  ip('netns', 'add', name);
  made.add(name);
  return name;
}
function linksOf(ns: string): { ifname: string; link_type: string; flags: string[]; linkinfo?: { info_kind: string } }[] {
  return JSON.parse(ip('-n', ns, '-d', '-j', 'link', 'show'));
}
function mountedAt(path: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[4] === path);
}
async function withSocket<T>(ns: string, fn: (nl: Rtnetlink) => Promise<T>): Promise<T> {
  const t = openNetnsTarget('test', ns, 'test');
  try {
    const nl = await Rtnetlink.open('test', t);
    try {
      return await fn(nl);
    } finally {
      nl.close();
    }
  } finally {
    native().close(t.fd);
  }
}

afterAll(() => {
  for (const name of made) {
    try {
      ip('netns', 'delete', name);
    } catch {
      // deleted by the test itself
    }
  }
});

// CI runs as root with iproute2; elsewhere (a non-root developer) there is nothing to test.
describe.skipIf(!canRun && !inCI)('netns (needs root and iproute2)', () => {
  it('netns.add makes a namespace `ip netns` lists and can exec in; delete leaves nothing', async () => {
    const name = `${prefix}-t1`;
    made.add(name);
    const fdsBefore = openFds().length;
    await netns.add(name);
    expect(await netns.list()).toContain(name);
    expect(ip('netns', 'list')).toMatch(new RegExp(`^${name}( |$)`, 'm'));
    const links = ip('netns', 'exec', name, 'ip', '-o', 'link').trim().split('\n');
    expect(links).toHaveLength(1);
    expect(links[0]).toMatch(/^1: lo: /);
    // A namespace of its own, not the host's.
    expect(ip('netns', 'exec', name, 'readlink', '/proc/self/ns/net').trim()).not.toBe(
      execFileSync('readlink', ['/proc/self/ns/net'], { encoding: 'utf8' }).trim(),
    );
    expect(mountedAt(netns.path(name))).toBe(true);
    // /run/netns is a shared mount, as iproute2 makes it.
    const dirLine = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === '/run/netns');
    expect(dirLine).toMatch(/ shared:\d+/);

    await netns.delete(name);
    expect(existsSync(netns.path(name))).toBe(false);
    expect(mountedAt(netns.path(name))).toBe(false);
    expect(await netns.list()).not.toContain(name);
    expect(ip('netns', 'list')).not.toMatch(new RegExp(`^${name}( |$)`, 'm'));
    expect(openFds().length).toBe(fdsBefore);
    expect(children().filter((c) => c.state === 'Z')).toEqual([]);
  });

  it('netns.add of a taken name is EEXIST and leaves the existing one alone', async () => {
    const name = ipAdd(`${prefix}-dup`);
    const e = await rejection(netns.add(name));
    expect(e.code).toBe('EEXIST');
    expect(e.step).toBe(`netns add ${name}`);
    expect(mountedAt(netns.path(name))).toBe(true);
    expect(ip('netns', 'exec', name, 'true')).toBe('');
  });

  it('netns.delete of a missing name is ENOENT', async () => {
    const e = await rejection(netns.delete(`${prefix}-missing`));
    expect(e.code).toBe('ENOENT');
    expect(e.path).toBe(`/run/netns/${prefix}-missing`);
  });

  it('netns.delete also removes a file with no namespace on it (left by an interrupted add)', async () => {
    const name = `${prefix}-stale`;
    made.add(name);
    writeFileSync(netns.path(name), '');
    expect(await netns.list()).toContain(name);
    await netns.delete(name);
    expect(existsSync(netns.path(name))).toBe(false);
  });

  it('sees namespaces made by `ip netns add`, and deletes them for `ip`', async () => {
    const name = ipAdd(`${prefix}-t2`);
    expect(await netns.list()).toContain(name);
    // Usable: a socket inside it sees its own lo only.
    const links = await withSocket(name, (nl) => nl.list('list'));
    expect(links.map((l) => l.name)).toEqual(['lo']);
    await netns.delete(name);
    expect(ip('netns', 'list')).not.toMatch(new RegExp(`^${name}( |$)`, 'm'));
  });
});

describe.skipIf(!canRun && !inCI)('rtnetlink (needs root and iproute2)', () => {
  it('creates a veth pair, addresses, brings it up and routes, as `ip` then shows', async () => {
    const ns = ipAdd(`${prefix}-v`);
    await withSocket(ns, async (nl) => {
      await nl.vethAdd('add', 'nsb-a', null, 'nsb-b', null);
      const a = (await nl.index('index', 'nsb-a'))!;
      const b = (await nl.index('index', 'nsb-b'))!;
      expect(a).toBeGreaterThan(1);
      expect(b).toBeGreaterThan(1);
      expect(await nl.index('index', 'nsb-none')).toBeUndefined();
      await nl.addrAdd('addr', a, parseCidr('x', '10.200.7.1/30'));
      await nl.addrAdd('addr', a, parseCidr('x', 'fd00:7::1/64'));
      await nl.addrAdd('addr', b, parseCidr('x', '10.200.7.2/30'));
      await nl.setUp('up', 'nsb-a');
      await nl.setUp('up', b);
      await nl.routeAddDefault('route', parseCidr('x', '10.200.7.2/30'), a);
      await nl.routeAddDefault('route', parseCidr('x', 'fd00:7::2/64'));

      const list = await nl.list('list');
      expect(list.filter((l) => l.kind === 'veth').map((l) => l.name).sort()).toEqual(['nsb-a', 'nsb-b']);
      expect(list.find((l) => l.name === 'nsb-a')!.flags & 1 /* IFF_UP */).toBe(1);
    });
    const shown = linksOf(ns);
    expect(shown.find((l) => l.ifname === 'nsb-a')?.linkinfo?.info_kind).toBe('veth');
    expect(shown.find((l) => l.ifname === 'nsb-a')?.flags).toContain('UP');
    const addrs = JSON.parse(ip('-n', ns, '-j', 'addr', 'show', 'dev', 'nsb-a'))[0].addr_info.map(
      (x: { local: string; prefixlen: number }) => `${x.local}/${x.prefixlen}`,
    );
    expect(addrs).toEqual(expect.arrayContaining(['10.200.7.1/30', 'fd00:7::1/64']));
    expect(ip('-n', ns, 'route', 'show', 'default')).toMatch(/^default via 10\.200\.7\.2 dev nsb-a/);
    expect(ip('-n', ns, '-6', 'route', 'show', 'default')).toMatch(/^default via fd00:7::2 dev nsb-a/);
  });

  it('refuses a taken name with EEXIST and creates nothing', async () => {
    const ns = ipAdd(`${prefix}-x`);
    await withSocket(ns, async (nl) => {
      await nl.vethAdd('add', 'nsb-a', null, 'nsb-b', null);
      const e = await rejection(nl.vethAdd('add again', 'nsb-c', null, 'nsb-b', null));
      expect(e.code).toBe('EEXIST');
      expect(e.syscall).toBe('RTM_NEWLINK');
      expect(e.hint).toMatch(/already exists/);
      expect((await nl.list('list')).map((l) => l.name).sort()).toEqual(['lo', 'nsb-a', 'nsb-b']);
      const e2 = await rejection(nl.addrAdd('addr', 999, parseCidr('x', '10.0.0.1/24')));
      expect(e2.code).toBe('ENODEV');
      const e3 = await rejection(nl.setUp('up', 'nsb-none'));
      expect(e3.code).toBe('ENODEV');
      // Deleting one end takes the pair.
      await nl.del('del', 'nsb-a');
      expect((await nl.list('list')).map((l) => l.name)).toEqual(['lo']);
      expect((await rejection(nl.del('del', 'nsb-a'))).code).toBe('ENODEV');
    });
  });

  it('creates the peer end directly in another namespace, by fd and by pid', async () => {
    const a = ipAdd(`${prefix}-pa`);
    const b = ipAdd(`${prefix}-pb`);
    const c = ipAdd(`${prefix}-pc`);
    const target = openNetnsTarget('t', b, 't');
    try {
      await withSocket(a, (nl) => nl.vethAdd('add', 'nsb-in-a', null, 'nsb-in-b', { fd: target.fd }));
    } finally {
      native().close(target.fd);
    }
    expect(linksOf(a).map((l) => l.ifname)).toEqual(['lo', 'nsb-in-a']);
    expect(linksOf(b).map((l) => l.ifname)).toEqual(['lo', 'nsb-in-b']);

    const sleeper = spawn('ip', ['netns', 'exec', c, 'sleep', '30'], { stdio: 'ignore' });
    try {
      await new Promise((r) => sleeper.once('spawn', r));
      // `ip netns exec` enters the namespace before it execs sleep: wait until it has.
      const cNs = statSync(netns.path(c)).ino;
      while (statSync(`/proc/${sleeper.pid}/ns/net`).ino !== cNs) await new Promise((r) => setTimeout(r, 10));
      await withSocket(a, (nl) => nl.vethAdd('add', 'nsb-to-c', null, 'nsb-in-c', { pid: sleeper.pid! }));
      expect(linksOf(c).map((l) => l.ifname)).toEqual(['lo', 'nsb-in-c']);
    } finally {
      sleeper.kill('SIGKILL');
    }
  });

  it('links.move moves an interface into a named namespace, as `ip link set IF netns NS`', async () => {
    const from = ipAdd(`${prefix}-mf`);
    const to = ipAdd(`${prefix}-mt`);
    await withSocket(from, (nl) => nl.vethAdd('add', 'nsb-m0', null, 'nsb-m1', null));
    // links.move acts on the caller's namespace: run it from a Node process inside `from`.
    const script = `require(${JSON.stringify(join(root, 'dist', 'index.js'))}).links.move('nsb-m1', ${JSON.stringify(to)})
      .then(() => process.exit(0), (e) => { console.error(e.code + ' ' + e.message); process.exit(1); })`;
    ip('netns', 'exec', from, process.execPath, '-e', script);
    expect(linksOf(from).map((l) => l.ifname)).toEqual(['lo', 'nsb-m0']);
    expect(linksOf(to).map((l) => l.ifname)).toEqual(['lo', 'nsb-m1']);

    const missing = `require(${JSON.stringify(join(root, 'dist', 'index.js'))}).links.move('nsb-none', ${JSON.stringify(to)})
      .then(() => process.exit(0), (e) => { console.log(e.code); process.exit(0); })`;
    expect(ip('netns', 'exec', from, process.execPath, '-e', missing).trim()).toBe('ENODEV');
    const noNs = `require(${JSON.stringify(join(root, 'dist', 'index.js'))}).links.move('nsb-m0', '${prefix}-nowhere')
      .then(() => process.exit(0), (e) => { console.log(e.code, e.hint); process.exit(0); })`;
    expect(ip('netns', 'exec', from, process.execPath, '-e', noNs)).toMatch(/^ENOENT there is no network namespace named/);
    expect(linksOf(from).map((l) => l.ifname)).toEqual(['lo', 'nsb-m0']);
  });

  it('opening a socket in something that is not a network namespace fails with setns', async () => {
    const fd = native().open('/proc/self/ns/uts');
    try {
      const e = await rejection(Rtnetlink.open('open', { fd, path: '/proc/self/ns/uts' }));
      expect(e.code).toBe('EINVAL');
      expect(e.syscall).toBe('setns');
    } finally {
      native().close(fd);
    }
  });

  it('leaves no descriptor and no child behind', async () => {
    const ns = ipAdd(`${prefix}-leak`);
    const before = openFds().length;
    for (let i = 0; i < 20; i++) {
      await withSocket(ns, async (nl) => {
        await nl.vethAdd('add', 'nsb-l0', null, 'nsb-l1', null);
        await nl.del('del', 'nsb-l0');
      });
    }
    expect(openFds().length).toBe(before);
    expect(children()).toEqual([]);
  });
});
