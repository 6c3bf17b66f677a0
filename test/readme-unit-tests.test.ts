// The examples of README.md's "Isolated children in unit tests", one test each,
// written as the doc writes them (imports from the package become ../lib/index.js).
// Examples that need a feature this build lacks skip, saying which one and from where.
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { hostname, uptime } from 'node:os';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as nsbind from '../lib/index.js';
import { sandbox } from '../lib/index.js';
import { isRoot, skipUnless } from './helpers/index.js';
import { lab } from '../lib/vitest.js';

const fixture = (name: string) => join(__dirname, 'fixtures', 'readme', name);
const methods = nsbind.Sandbox.prototype as unknown as Record<string, unknown>;

function hasVeth(): boolean {
  try {
    sandbox().net({ veth: { peer: 'nsbprobe0' } });
    return true;
  } catch {
    return false;
  }
}
const hasEnter = typeof (nsbind as Record<string, unknown>).enter === 'function';
const hasFilesystem = typeof methods.tmpfs === 'function' && typeof methods.roBind === 'function';
const hasLimits = typeof methods.limits === 'function';
// Steps the example uses that this build's types do not know yet.
type Later = any; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('Isolated children in unit tests (README.md)', () => {
  it.skipIf(!isRoot)(
    `a server on port 80 in its own network namespace, reached through a veth${isRoot ? '' : ' (skipped: the host end of a veth needs root)'}`,
    async () => {
      // The client side lives in a network namespace of its own too, so the host's
      // network is never touched.
      const lab = sandbox().user().net().spawn('sleep', ['infinity']);
      await once(lab, 'spawn');
      const server = (sandbox() as Later)
        .user()
        .net({ veth: { name: 'eth0', address: '10.77.0.2/24', peer: 'lab0', peerAddress: '10.77.0.1/24', peerNetns: lab.pid } })
        .capabilities(['CAP_NET_BIND_SERVICE'])
        .fork(fixture('http-server.mjs'));
      try {
        const [ready] = await once(server, 'message');
        expect(ready).toBe('listening');
        const client = await (nsbind as Later)
          .enter(lab, ['user', 'net'])
          .run(process.execPath, ['-e', 'fetch("http://10.77.0.2/").then((r) => r.text()).then((t) => process.stdout.write(t))']);
        expect(client.stdout).toBe('hello from 10.77.0.2');
      } finally {
        server.disconnect();
        await server.exited;
        lab.kill('SIGKILL');
        await lab.exited;
      }
    },
  );

  it('a client reaches the server over a link (lab())', async (ctx) => {
    await skipUnless(ctx, 'userns', 'namespaces.net', 'namespaces.uts');
    const net = await lab({ nodes: ['server', 'client'] });
    try {
      const server = net.node('server').sandbox
        .capabilities(['CAP_NET_BIND_SERVICE']) // port 80; programs hold no capability by default
        .fork(fixture('http-server.mjs'));
      const [ready] = await once(server, 'message');
      expect(ready).toBe('listening');
      const address = net.node('server').address; // '10.77.1.2'
      expect(address).toBe('10.77.1.2');
      const client = await net.node('client').sandbox.run(process.execPath, [
        '-e',
        `fetch('http://${address}/').then((r) => r.text()).then((t) => process.stdout.write(t))`,
      ]);
      expect(client.stdout).toBe(`hello from ${address}`);
      server.disconnect();
      await server.exited;
    } finally {
      await net.close();
    }
  });

  it(
    'a private /tmp and a read-only project',
    async () => {
      const project = join(__dirname, '..');
      const name = `nsbind-readme-${process.pid}.txt`;
      const ours = mkdtempSync('/tmp/nsbind-readme-'); // in the host's /tmp
      try {
        const child = (sandbox() as Later).user().mount().tmpfs('/tmp').roBind(project).fork(fixture('fs-probe.mjs'));
        child.send({ project, name });
        const [report] = await once(child, 'message');
        expect(report).toMatchObject({ tmp: 'ok', project: 'EROFS' });
        expect(report.tmpBefore).not.toContain(basename(ours)); // a /tmp of its own...
        expect(existsSync(join('/tmp', name))).toBe(false); // ...that it wrote to, not ours
        expect(existsSync(join(project, name))).toBe(false);
        expect(await child.exited).toMatchObject({ code: 0 });
      } finally {
        rmSync(ours, { recursive: true, force: true });
      }
    },
  );

  it('behaviour under 32 pids', async (ctx) => {
    await skipUnless(ctx, 'cgroup');
    const child = (sandbox() as Later).user().pid().limits({ pids: 32 }).fork(fixture('pids-probe.mjs'));
    const [report] = await once(child, 'message');
    expect(report.error).toBe('EAGAIN'); // fork() refused: the limit, not a crash
    expect(report.started).toBeLessThan(32); // node's own threads count too
    expect(await child.exited).toMatchObject({ code: 0 });
  });

  it('behaviour under 64 MiB', async (ctx) => {
    await skipUnless(ctx, 'cgroup');
    const child = (sandbox() as Later).user().pid().limits({ memory: '64M', memorySwap: '64M' }).fork(fixture('memory-hog.mjs'));
    let most = 0;
    child.on('message', (m: { mib: number }) => (most = m.mib));
    const result = await child.exited;
    expect(result.reason).toBe('oom');
    expect(most).toBeLessThan(64);
  });

  it('a different hostname and clock', async () => {
    const YEAR = 365 * 24 * 3600;
    const uptimeBefore = uptime();
    const monotonicBefore = process.hrtime.bigint();
    const child = sandbox()
      .user()
      .uts({ hostname: 'test-box' })
      .time({ monotonic: YEAR, boottime: YEAR })
      .fork(fixture('clock-probe.mjs'));
    const [view] = await once(child, 'message');
    expect(view.hostname).toBe('test-box');
    expect(hostname()).not.toBe('test-box'); // ours is unchanged
    // The sandbox's clocks are a year ahead of ours (read before it started).
    expect(view.uptime).toBeGreaterThanOrEqual(uptimeBefore + YEAR);
    expect(BigInt(view.monotonicNs)).toBeGreaterThanOrEqual(monotonicBefore + BigInt(YEAR) * 1_000_000_000n);
    expect(await child.exited).toMatchObject({ code: 0 });
  });
});
