// sb.fork(): a Node child in a sandbox with child_process's IPC channel. The child is a
// plain Node script (fixtures/fork-child.cjs) using process.send / process.on('message');
// what it reports is its own view from inside the sandbox.
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { NsbindError, Sandbox, sandbox, type ForkedProcess } from '../../lib/index.js';
import { runtimeFiles } from '../../lib/node-files.js';
import { createCodec } from '../../lib/ipc/serialization.js';
import { isRoot, openFds, runAsNobody, skipUnless } from '../helpers/index.js';

const CHILD = join(__dirname, '..', 'fixtures', 'fork-child.cjs');
const PRELOAD = join(__dirname, '..', 'fixtures', 'fork-preload.cjs');
const makeMessages = createRequire(__filename)('../fixtures/ipc-messages.cjs') as (mode: string) => unknown[];
const isolated = () => sandbox().user().net().pid().mount();

/** The next message that satisfies `pred`. */
function next<T = any>(child: ForkedProcess, pred: (m: any) => boolean = () => true): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: any) => {
      if (!pred(m)) return;
      child.off('message', onMessage);
      resolve(m);
    };
    child.on('message', onMessage);
    child.exited.then(() => reject(new Error('child ended before the message')), reject);
  });
}

async function ask(child: ForkedProcess, message: object): Promise<any> {
  const reply = next(child, (m) => m?.cmd === (message as { cmd: string }).cmd);
  child.send(message);
  return reply;
}

async function end(child: ForkedProcess) {
  if (child.connected) child.disconnect();
  return child.exited;
}

describe('fork: messages', () => {
  for (const serialization of ['json', 'advanced'] as const) {
    it(`exchanges 10,000 messages each way in order (${serialization})`, async () => {
      const child = isolated().fork(CHILD, [], { serialization });
      const N = 10_000;
      const make = (i: number) =>
        serialization === 'advanced'
          ? { i, buf: Buffer.from([i & 255, i >> 8, 7]), map: new Map<unknown, unknown>([[i, `v${i}`], ['b', Buffer.from('x')]]) }
          : { i, text: `m${i}\n"quoted"`, nested: [i, { u: 'é🙂' }] };
      const got: any[] = [];
      const all = new Promise<void>((resolve) => {
        child.on('message', (m) => {
          got.push(m);
          if (got.length === N) resolve();
        });
      });
      // Parent -> child -> parent: the child echoes every message.
      for (let i = 0; i < N; i++) child.send(make(i));
      await all;
      expect(got.map((m) => m.i)).toEqual(Array.from({ length: N }, (_, i) => i));
      if (serialization === 'advanced') {
        expect(Buffer.isBuffer(got[300].buf)).toBe(true);
        expect([...got[300].buf]).toEqual([300 & 255, 1, 7]);
        expect(got[300].map).toBeInstanceOf(Map);
        expect(got[300].map.get(300)).toBe('v300');
        expect(Buffer.isBuffer(got[300].map.get('b'))).toBe(true);
      } else {
        expect(got[42]).toEqual(make(42));
      }

      // Child -> parent, as fast as the child can send.
      const flood: any[] = [];
      const flooded = new Promise<void>((resolve) => {
        child.removeAllListeners('message');
        child.on('message', (m) => {
          flood.push(m);
          if (flood.length === N) resolve();
        });
      });
      child.send({ cmd: 'flood', n: N, advanced: serialization === 'advanced' });
      await flooded;
      expect(flood[N - 1].i).toBe(N - 1);
      if (serialization === 'advanced') expect(flood[N - 1].map.get(N - 1)).toBe(`v${N - 1}`);
      expect(await end(child)).toMatchObject({ code: 0, reason: 'exit' });
    });
  }

  it('holds messages until the first listener, as child_process does (module given as a file: URL)', async () => {
    const child = isolated().fork(pathToFileURL(CHILD));
    child.send('early');
    const r = await new Promise((resolve) => setTimeout(resolve, 300)).then(() => next(child));
    expect(r).toBe('early');
    await end(child);
  });

  it('advanced: typed arrays, Sets, Dates and BigInts round trip', async () => {
    const child = isolated().fork(CHILD, { serialization: 'advanced' });
    const message = {
      u16: new Uint16Array([1, 65535]),
      f64: new Float64Array([1.5, -0]),
      view: new DataView(new Uint8Array([1, 2, 3, 4]).buffer, 1, 2),
      sub: Buffer.from('0123456789').subarray(2, 5),
      set: new Set(['a']),
      date: new Date(86_400_000),
      big: 2n ** 70n,
    };
    child.send(message);
    const back = await next(child);
    expect(back.u16).toBeInstanceOf(Uint16Array);
    expect([...back.u16]).toEqual([1, 65535]);
    expect([...back.f64]).toEqual([1.5, -0]);
    expect(back.view).toBeInstanceOf(DataView);
    expect([back.view.getUint8(0), back.view.getUint8(1)]).toEqual([2, 3]);
    expect(back.sub.toString()).toBe('234');
    expect(back.set).toEqual(new Set(['a']));
    expect(back.date.getTime()).toBe(86_400_000);
    expect(back.big).toBe(2n ** 70n);
    await end(child);
  });

  it('writes the same bytes as Node itself, and reads what Node writes (both modes)', async () => {
    for (const mode of ['advanced', 'json'] as const) {
      // A real Node child, told that fd 3 is its IPC channel, sends the messages.
      const messages: unknown[] = makeMessages(mode);
      const node = spawn(process.execPath, [join(__dirname, '..', 'fixtures', 'fork-raw-send.cjs'), mode], {
        stdio: ['ignore', 'inherit', 'inherit', 'pipe'],
        env: { ...process.env, NODE_CHANNEL_FD: '3', NODE_CHANNEL_SERIALIZATION_MODE: mode },
      });
      const chunks: Buffer[] = [];
      node.stdio[3]!.on('data', (c: Buffer) => chunks.push(c));
      await new Promise((resolve) => node.on('close', resolve));
      const nodeBytes = Buffer.concat(chunks);
      const codec = createCodec(mode);
      const ours = Buffer.concat(messages.map((m) => Buffer.from(codec.encode(m))));
      expect(ours.equals(nodeBytes)).toBe(true);
      // Decoding Node's bytes, split at every position a read could split them.
      const decoded: unknown[] = [];
      const reader = createCodec(mode);
      for (let i = 0; i < nodeBytes.length; i += 5) {
        for (const d of reader.decode(nodeBytes.subarray(i, i + 5))) decoded.push(d.message);
      }
      expect(decoded).toEqual(mode === 'advanced' ? messages : messages.map((m) => JSON.parse(JSON.stringify(m))));
      expect(reader.buffering).toBe(false);
    }
  });
});

describe('fork: the child inside .user().net().pid().mount()', () => {
  it('sees only lo, has the init as its parent (PID 1), and can listen on port 80 with the capability kept', async () => {
    // Programs hold no capability by default; keep the one that port 80 needs.
    const child = isolated().capabilities(['CAP_NET_BIND_SERVICE']).fork(CHILD, ['a', 'b']);
    const view = await ask(child, { cmd: 'view' });
    expect(view.interfaces).toEqual(['lo']);
    // /proc still shows the host's pid namespace without a new procfs; ppid does not.
    expect(view.ppid).toBe(1);
    expect(view.pid).toBe(2);
    expect(view.argv).toEqual(['a', 'b']);
    expect(view.channelFd).toBeNull(); // Node removes it from the env once it has the channel
    const listened = await ask(child, { cmd: 'listen', port: 80 });
    expect(listened).toEqual({ cmd: 'listen', port: 80, data: 'hello from port 80' });
    expect(child.isolation).toEqual(expect.arrayContaining(['user', 'pid', 'mnt', 'net']));
    expect(await end(child)).toMatchObject({ code: 0 });
    const without = isolated().fork(CHILD);
    expect(await ask(without, { cmd: 'listen', port: 80 })).toEqual({ cmd: 'listen', error: 'EACCES' });
    await end(without);
  });

  it('without a user namespace an unprivileged child cannot listen on port 80', () => {
    // The contrast to the test above: the capability comes from the user namespace.
    const r = runAsNobody(`
      const child = nsbind.sandbox().fork(${JSON.stringify(CHILD)});
      child.on('message', (m) => { console.log(JSON.stringify(m)); child.disconnect(); });
      child.send({ cmd: 'listen', port: 80 });
      await child.exited;
    `);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ cmd: 'listen', error: 'EACCES' });
  });
});

describe('fork: channel lifecycle', () => {
  it("a setup that fails before the spawn reports its own error on 'error' and exited, with the channel closed (no throw)", async () => {
    const fdsBefore = openFds().length;
    // A missing peer namespace fails in the preparation, as a cgroup the caller may not create does.
    const child = isolated().net({ veth: { peer: 'nsbt-fork0', peerNetns: 'nsbind-test-no-such-netns' } }).fork(CHILD);
    const error = new Promise<any>((resolve) => child.once('error', resolve));
    expect(child.connected).toBe(false);
    const viaCallback = await new Promise<any>((resolve) => child.send('early', resolve));
    expect(viaCallback?.code).toBe('ERR_IPC_CHANNEL_CLOSED');
    const e = await child.exited.then(() => undefined, (x) => x);
    expect(e).toBeInstanceOf(NsbindError);
    expect(e).toMatchObject({ code: 'ENOENT', step: 'veth eth0 <-> nsbt-fork0' });
    expect(await error).toBe(e);
    expect(openFds().length).toBe(fdsBefore);
  });

  it('a send after the child exited fails with ERR_IPC_CHANNEL_CLOSED, as child_process', async () => {
    const child = isolated().fork(CHILD);
    child.send({ cmd: 'exit', code: 3 });
    const disconnected = new Promise((resolve) => child.once('disconnect', resolve));
    expect(await child.exited).toMatchObject({ code: 3, reason: 'exit' });
    await disconnected;
    expect(child.connected).toBe(false);
    expect(child.channel).toBeNull();

    const viaCallback = await new Promise<any>((resolve) => expect(child.send('late', resolve)).toBe(false));
    expect(viaCallback).toBeInstanceOf(Error);
    expect(viaCallback.code).toBe('ERR_IPC_CHANNEL_CLOSED');
    expect(viaCallback.message).toBe('Channel closed');

    const viaEvent = new Promise<any>((resolve) => child.once('error', resolve));
    child.send('late');
    expect((await viaEvent).code).toBe('ERR_IPC_CHANNEL_CLOSED');
  });

  it('disconnect() ends the channel both ways; the child can then exit on its own', async () => {
    const child = isolated().fork(CHILD);
    expect(await ask(child, { cmd: 'view' })).toMatchObject({ cmd: 'view' });
    const events: string[] = [];
    child.on('disconnect', () => events.push('disconnect'));
    child.disconnect();
    expect(child.connected).toBe(false);
    // Nothing else keeps the child alive: it exits once it saw the disconnect.
    expect(await child.exited).toMatchObject({ code: 0, reason: 'exit' });
    expect(events).toEqual(['disconnect']);
    const again = new Promise<any>((resolve) => child.once('error', resolve));
    child.disconnect();
    expect((await again).code).toBe('ERR_IPC_DISCONNECTED');
  });

  it('the child disconnecting emits disconnect in the parent', async () => {
    const child = isolated().fork(CHILD);
    const disconnected = new Promise((resolve) => child.once('disconnect', resolve));
    child.send({ cmd: 'disconnect' });
    await disconnected;
    expect(child.connected).toBe(false);
    expect(await child.exited).toMatchObject({ code: 0 });
  });

  it('bytes that are not IPC messages end the channel with ERR_NSBIND_IPC, not a crash', async () => {
    const child = isolated().fork(CHILD);
    const error = new Promise<any>((resolve) => child.once('error', resolve));
    child.send({ cmd: 'garbage' });
    const e = await error;
    expect(e).toBeInstanceOf(NsbindError);
    expect(e.code).toBe('ERR_NSBIND_IPC');
    expect(child.connected).toBe(false);
    await child.exited;
  });

  it('leaves no descriptor behind', async () => {
    const before = openFds().length;
    for (let i = 0; i < 3; i++) {
      const child = isolated().fork(CHILD, { silent: true });
      await ask(child, { cmd: 'view' });
      await end(child);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(openFds().length).toBe(before);
  });
});

describe('fork: options', () => {
  it('passes execArgv (default: the parent\'s own) before the module', async () => {
    const child = isolated().fork(CHILD);
    const view = await ask(child, { cmd: 'view' });
    expect(view.execArgv).toEqual(process.execArgv);
    await end(child);

    const preloaded = isolated().fork(CHILD, [], { execArgv: ['--require', PRELOAD] });
    const v2 = await ask(preloaded, { cmd: 'view' });
    expect(v2.preloaded).toBe('yes');
    expect(v2.execArgv).toEqual(['--require', PRELOAD]);
    await end(preloaded);
  });

  it('silent: true gives pipes for the child\'s stdio', async () => {
    const child = isolated().fork(CHILD, { silent: true });
    let out = '';
    child.stdout!.on('data', (c) => (out += c));
    expect(child.stdio[3]).toBeNull(); // the channel is child.channel, not a stdio stream
    await ask(child, { cmd: 'log', text: 'to the pipe' });
    await end(child);
    expect(out).toBe('to the pipe\n');
  });

  it('a module that does not exist or cannot be read throws before anything starts, naming the path', () => {
    const missing = join(tmpdir(), 'nsbind-no-such-module.js');
    const e = (() => {
      try {
        isolated().fork(missing);
      } catch (err) {
        return err as NsbindError;
      }
    })();
    expect(e).toBeInstanceOf(NsbindError);
    expect(e).toMatchObject({ code: 'ERR_NSBIND_INVALID', option: 'fork.modulePath', path: missing });
    expect(e!.message).toContain(missing);
    expect(() => isolated().fork(__dirname)).toThrow(/fork\.modulePath: .* is not a file/);
    expect(() => isolated().fork(new URL('https://example.com/x.js'))).toThrow(/fork\.modulePath: expected a file: URL/);
  });

  // The module must belong to another user than the caller: root writes it, nobody forks.
  it('an unreadable module is refused (as an unprivileged caller)', async (ctx) => {
    await skipUnless(ctx, 'root');
    const dir = mkdtempSync(join(tmpdir(), 'nsbind-fork-'));
    try {
      const file = join(dir, 'secret.cjs');
      writeFileSync(file, 'process.send(1)');
      chmodSync(file, 0o600);
      chmodSync(dir, 0o755);
      const r = runAsNobody(`
        try { nsbind.sandbox().fork(${JSON.stringify(file)}); console.log('started'); }
        catch (e) { console.log(JSON.stringify({ code: e.code, option: e.option, path: e.path })); }
      `);
      expect(JSON.parse(r.stdout)).toEqual({ code: 'ERR_NSBIND_INVALID', option: 'fork.modulePath', path: file });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects stdio without an ipc slot, bad serialization and handles', async () => {
    expect(() => isolated().fork(CHILD, { stdio: ['pipe', 'pipe', 'pipe'] })).toThrow(/fork\.stdio: .*'ipc'/);
    expect(() => isolated().fork(CHILD, { serialization: 'xml' as 'json' })).toThrow(/fork\.serialization/);
    expect(() => isolated().fork(CHILD, { execArgv: 'x' as unknown as string[] })).toThrow(/fork\.execArgv/);
    const child = isolated().fork(CHILD);
    expect(() => child.send('x', {} as unknown as undefined)).toThrow(/send\.sendHandle|handles/);
    expect(() => child.send(undefined)).toThrow(/message/);
    await end(child);
  });

  it.skipIf((process.features as { typescript?: unknown }).typescript)(
    'a .ts module without a loader is refused with a hint (skipped where node strips types itself)',
    () => {
      expect(() => isolated().fork(join(__dirname, '..', 'fixtures', 'fork-typescript.ts'), { execArgv: [] })).toThrow(
        /fork\.execArgv: .*TypeScript[\s\S]*--import', 'tsx'/,
      );
    },
  );
});

describe('fork: node stays visible when the filesystem steps hide it', () => {
  const proto = Sandbox.prototype as unknown as { roBind?: (src: string, dst?: string) => Sandbox };
  const hasFilesystemSteps = typeof proto.roBind === 'function';

  it('runs in a fresh empty root: node, its libraries and the module are bound in', async () => {
    const sb = (isolated() as unknown as { root(): Sandbox }).root();
    const child = sb.fork(CHILD);
    const view = await ask(child, { cmd: 'view' });
    expect(view.ppid).toBe(1);
    expect(await end(child)).toMatchObject({ code: 0 });
  });

});
