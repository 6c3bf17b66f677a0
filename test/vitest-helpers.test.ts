// nsbind/vitest: the per-test isolated sandbox and the doctor()-based skip reason.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { children, isRoot, ownNs, root, runAsNobody, runNode, distModule } from './helpers/index.js';
import { namespaces } from '../lib/index.js';
import { isolated, lab, unavailable } from '../lib/vitest.js';

describe('nsbind/vitest', () => {
  // In an ES module, `it.skipIf(await unavailable(...))` reads best; this file is CommonJS.
  it('isolated(): own netns with only lo, own /tmp, own hostname, own pids', async (ctx) => {
    const why = await unavailable('userns', 'namespaces.net');
    if (why) ctx.skip(why);
    const r = await isolated({ hostname: 'unit' }).run('sh', [
      '-c',
      'hostname; tail -n +3 /proc/self/net/dev | cut -d: -f1 | tr -d " \\n"; echo; ls -A /tmp | wc -l; echo $$; readlink /proc/self/ns/net',
    ]);
    const [host, links, tmpCount, pid, net] = r.stdout.trim().split('\n');
    expect(host).toBe('unit');
    expect(links.trim()).toBe('lo');
    expect(tmpCount).toBe('0');
    expect(pid).toBe('2'); // the init is 1
    expect(net).not.toBe(ownNs('net'));
  });

  it('unavailable(): false for what the machine has; a reason with the fix for what it lacks', async () => {
    expect(await unavailable()).toBe(false);
    expect(await unavailable('root')).toBe(process.geteuid?.() === 0 ? false : 'needs root');
    // A check doctor() fails here (or none): its reason is what the skip says.
    const { doctor } = await import('../lib/index.js');
    const r = await doctor();
    if (!r.subuid.ok) expect(await unavailable('subuid')).toContain(r.subuid.reason);
    else expect(await unavailable('subuid')).toBe(false);
  });
});

// A server in one node, clients in the others: the script runs as this process's user
// here and, below, as an unprivileged user (the two build the lab differently).
const LAB_SCRIPT = `
  const { lab } = require(${JSON.stringify(join(root, 'dist', 'vitest.js'))});
  const fs = require('node:fs');
  const net = await lab({ nodes: ['server', 'client', 'third'] });
  const out = { addresses: net.nodes.map((n) => n.address) };
  const server = net.node('server').sandbox.capabilities(['CAP_NET_BIND_SERVICE']).spawn(process.execPath, ['-e',
    'require("http").createServer((q, s) => s.end(require("os").hostname() + " to " + q.socket.remoteAddress)).listen(80, () => console.log("up"))'],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((r) => server.stdout.once('data', r));
  out.replies = [];
  for (const c of ['client', 'third']) {
    const r = await net.node(c).sandbox.tmpfs('/tmp').run(process.execPath, ['-e',
      'fetch("http://' + net.node('server').address + '/").then((r) => r.text()).then((t) => console.log(t + " " + require("os").hostname()))']);
    out.replies.push(r.stdout.trim() + r.stderr);
  }
  const look = await net.node('third').sandbox.run('sh', ['-c', 'id -u; hostname; tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " " | sort | tr "\\\\n" " "; echo; readlink /proc/self/ns/net']);
  out.look = look.stdout.trim().split('\\n');
  out.hostNet = fs.readlinkSync('/proc/self/ns/net');
  server.kill('SIGKILL'); await server.exited;
  await net.close();
  await net.close(); // twice is fine
  out.unknown = (() => { try { net.node('nope'); } catch (e) { return e.option; } })();
  console.log(JSON.stringify(out));
`;

function checkLab(stdout: string) {
  const out = JSON.parse(stdout);
  expect(out.addresses).toEqual(['10.77.1.2', '10.77.2.2', '10.77.3.2']);
  // Each client reached the server by its address, through the hub, from its own.
  expect(out.replies).toEqual(['server to ::ffff:10.77.2.2 client', 'server to ::ffff:10.77.3.2 third']);
  const [uid, host, links, netns] = out.look;
  expect(uid).toBe('0');
  expect(host).toBe('third');
  expect(links.trim()).toBe('eth0 lo');
  expect(netns).not.toBe(out.hostNet);
  expect(out.unknown).toBe('lab.node');
}

describe('nsbind/vitest lab()', () => {
  // The caller as it is (root in CI), then unprivileged: a rootless lab is built from inside the hub.
  for (const c of [
    { title: 'nodes joined through a hub: each its own network and hostname, root inside, reaching each other by address', run: runNode, skip: '' },
    {
      title: 'as an unprivileged caller (built from inside the hub), the same',
      run: runAsNobody,
      skip: isRoot ? '' : 'needs root to run a child as nobody (this run is unprivileged: the test above is this case)',
    },
  ]) {
    it(c.title, async (ctx) => {
      if (c.skip) ctx.skip(c.skip);
      const why = await unavailable('userns', 'namespaces.net', 'namespaces.uts');
      if (why) ctx.skip(why);
      distModule('vitest');
      const r = c.run(LAB_SCRIPT);
      expect(r.stderr).toBe('');
      checkLab(r.stdout);
    });
  }

  it('close() leaves no process, namespace or link behind', async (ctx) => {
    distModule('lab-hub'); // an unprivileged caller's hub runs the compiled module
    const why = await unavailable('userns', 'namespaces.net', 'namespaces.uts');
    if (why) ctx.skip(why);
    const before = children().length;
    const net = await lab();
    const inodes = net.nodes.map((n) => namespaces.of(n.sandbox.options.namespaces!.net!.join as number).net.inode);
    expect(new Set(inodes).size).toBe(2);
    expect(children().length).toBeGreaterThan(before);
    await net.close();
    expect(children().length).toBe(before);
    const left = (await namespaces.list({ type: 'net' })).filter((e) => inodes.includes(e.inode));
    expect(left).toEqual([]);
  });

  it('refuses bad input before anything runs, naming the option', async () => {
    const before = children().length;
    for (const [o, option] of [
      [{ nodes: ['one'] }, 'lab.nodes'],
      [{ nodes: ['a', 'a'] }, 'lab.nodes'],
      [{ nodes: ['a', 'b c'] }, 'lab.nodes'],
      [{ nodes: 'ab' }, 'lab.nodes'],
      [null, 'lab.options'],
    ] as const) {
      await expect(lab(o as never)).rejects.toMatchObject({ code: 'ERR_NSBIND_INVALID', option });
    }
    expect(children().length).toBe(before);
  });
});
