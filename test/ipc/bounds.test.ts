// fork()'s IPC channel holds a bounded amount of what the (untrusted) child sends: reading
// stops while messages nobody listens for pile up, one message may not pass
// maxMessageSize, and replies the child does not read stop the reading too. Shown three
// ways: the codec and the channel on a socket pair (no sandbox), and the real attack, a
// sandboxed child flooding a Node process whose memory the test reads from outside
// (/proc/<pid>/status), next to the same flood with the protection off.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { EventEmitter } from 'node:events';
import { readFileSync, rmSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_MESSAGE_SIZE } from '../../lib/fork.js';
import { NsbindError, sandbox, type ForkedProcess } from '../../lib/index.js';
import { setupChannel } from '../../lib/ipc/channel.js';
import { HOLD_BYTES } from '../../lib/ipc/inflow.js';
import { createCodec } from '../../lib/ipc/serialization.js';
import { isRoot, openFds, root } from '../helpers/index.js';

const MiB = 1024 * 1024;
const FLOOD = join(__dirname, '..', 'fixtures', 'ipc-flood.cjs');
const HOST = join(__dirname, '..', 'fixtures', 'ipc-flood-host.cjs');

/** The error a codec or channel threw or emitted, for matching. */
function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

describe('the codec refuses a message over its limit as soon as it knows', () => {
  it('json: a finished line over the limit, and an unfinished one once it passes it', () => {
    const limit = 100;
    const ok = Buffer.from(`${JSON.stringify('y'.repeat(limit - 2))}\n`); // exactly `limit` bytes + newline
    expect([...createCodec('json', limit).decode(ok)]).toEqual([{ message: 'y'.repeat(limit - 2), bytes: limit + 1 }]);

    const over = Buffer.from(`${JSON.stringify('y'.repeat(limit - 1))}\n`);
    expect(caught(() => [...createCodec('json', limit).decode(over)])).toMatchObject({
      code: 'ERR_NSBIND_IPC_OVERFLOW',
      option: 'fork.maxMessageSize',
    });

    // A line that never ends, fed in small pieces: refused on the piece that passes the limit.
    const codec = createCodec('json', limit);
    let fed = 0;
    const e = caught(() => {
      for (;;) {
        [...codec.decode(Buffer.from('"xxxxxxxxx'))];
        fed += 10;
      }
    });
    expect(e).toBeInstanceOf(NsbindError);
    expect((e as NsbindError).code).toBe('ERR_NSBIND_IPC_OVERFLOW');
    expect(fed).toBe(limit);
  });

  it('json: counts bytes, not characters, and splits at newlines anywhere in a read', () => {
    const codec = createCodec('json', 8);
    const wire = Buffer.from('"é🙂"\n1\n"ab'); // 8 bytes, 2, then the start of a third
    const got: unknown[] = [];
    for (let i = 0; i < wire.length; i++) for (const d of codec.decode(wire.subarray(i, i + 1))) got.push(d);
    expect(got).toEqual([
      { message: 'é🙂', bytes: 9 },
      { message: 1, bytes: 2 },
    ]);
    expect(codec.buffering).toBe(true);
    expect(caught(() => [...createCodec('json', 7).decode(wire)])).toMatchObject({ code: 'ERR_NSBIND_IPC_OVERFLOW' });
  });

  it('advanced: refused at the length prefix, before the body is held', () => {
    const limit = 1000;
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32BE(0xfffffff0);
    expect(caught(() => [...createCodec('advanced', limit).decode(prefix)])).toMatchObject({
      code: 'ERR_NSBIND_IPC_OVERFLOW',
      option: 'fork.maxMessageSize',
    });
    const writer = createCodec('advanced');
    const fits = writer.encode(Buffer.alloc(limit - 100)) as Buffer;
    expect(fits.length - 4).toBeLessThanOrEqual(limit);
    const [d] = [...createCodec('advanced', limit).decode(fits)];
    expect(d.bytes).toBe(fits.length);
    expect(Buffer.isBuffer(d.message)).toBe(true);
  });

  it('without a limit, reads what it is given (the old behaviour, now opt-in)', () => {
    const codec = createCodec('json');
    for (let i = 0; i < 64; i++) [...codec.decode(Buffer.alloc(64 * 1024, 'x'))];
    expect(codec.buffering).toBe(true);
  });
});

/** A connected pair of Unix sockets: `ours` for the channel, `peer` playing the child. */
async function socketPair(): Promise<{ ours: Socket; peer: Socket; close: () => void }> {
  const path = join(tmpdir(), `nsbind-ipc-${process.pid}-${Math.random().toString(36).slice(2)}.sock`);
  const server = createServer();
  server.listen(path);
  await once(server, 'listening');
  const peer = connect(path);
  const [ours] = (await once(server, 'connection')) as [Socket];
  await once(peer, 'connect');
  server.close();
  rmSync(path, { force: true });
  return {
    ours,
    peer,
    close: () => {
      ours.destroy();
      peer.destroy();
    },
  };
}

/** Writes `line` onto `peer` until the kernel takes no more; the bytes it took. */
async function fill(peer: Socket, line: string, max: number): Promise<number> {
  let written = 0;
  while (written < max) {
    const more = peer.write(line);
    written += line.length;
    if (!more) {
      // wait for a drain that may never come: the reader stopped
      const drained = await Promise.race([once(peer, 'drain').then(() => true), new Promise((r) => setTimeout(r, 300, false))]);
      if (!drained) break;
    }
  }
  return written;
}

describe('the channel stops reading while it holds too much for the child', () => {
  const line = `${JSON.stringify({ body: 'z'.repeat(16 * 1024) })}\n`;

  it('messages nobody listens for: reading stops past HOLD_BYTES; a listener gets every one, in order', async () => {
    const { ours, peer, close } = await socketPair();
    try {
      const t = new EventEmitter();
      setupChannel(t, ours, 'json', { maxMessageSize: DEFAULT_MAX_MESSAGE_SIZE });
      const offered = await fill(peer, line, 32 * MiB);
      // the peer could not hand over everything: Node stopped reading
      expect(offered).toBeLessThan(32 * MiB);
      expect(ours.isPaused()).toBe(true);
      // what Node took: what it holds for nobody, one read beyond, the stream's buffer
      expect(ours.bytesRead).toBeLessThan(HOLD_BYTES + 4 * line.length + ours.readableHighWaterMark + 64 * 1024);

      let got = 0;
      t.on('message', (m: { body: string }) => {
        expect(m.body.length).toBe(16 * 1024);
        got++;
      });
      peer.end();
      await new Promise<void>((resolve) => t.on('disconnect', resolve));
      expect(got * line.length).toBe(peer.bytesWritten);
    } finally {
      close();
    }
  });

  it('with no hold (as child_process does it) the same peer hands over everything', async () => {
    const { ours, peer, close } = await socketPair();
    try {
      setupChannel(new EventEmitter(), ours, 'json', { maxMessageSize: DEFAULT_MAX_MESSAGE_SIZE, holdBytes: Infinity });
      const offered = await fill(peer, line, 16 * MiB);
      expect(offered).toBeGreaterThanOrEqual(16 * MiB);
      while (ours.bytesRead < offered) await new Promise((r) => setTimeout(r, 20));
      expect(ours.isPaused()).toBe(false);
    } finally {
      close();
    }
  });

  it('a sandbox that ends while reading is held closes the channel (reading on would let a leftover process fill Node)', async () => {
    const { ours, peer, close } = await socketPair();
    try {
      const t = new EventEmitter();
      const { ended } = setupChannel(t, ours, 'json', { maxMessageSize: DEFAULT_MAX_MESSAGE_SIZE });
      await fill(peer, line, 32 * MiB);
      expect(ours.isPaused()).toBe(true);
      const disconnected = once(t, 'disconnect');
      ended();
      await disconnected;
      expect((t as EventEmitter & { connected: boolean }).connected).toBe(false);
      await once(ours, 'close');
    } finally {
      close();
    }
  });

  for (const holdBytes of [undefined, Infinity]) {
    it(`replies the child does not read: ${holdBytes ? 'with no hold they pile up in Node' : 'reading stops once they pass HOLD_BYTES'}`, async () => {
      const { ours, peer, close } = await socketPair();
      try {
        setupChannel(new EventEmitter(), ours, 'json', { maxMessageSize: DEFAULT_MAX_MESSAGE_SIZE, holdBytes });
        // Each NODE_HANDLE (a handle the child says it sent) gets a NODE_HANDLE_NACK
        // back; this peer never reads them.
        peer.pause();
        const handle = `${JSON.stringify({ cmd: 'NODE_HANDLE', type: 'net.Socket', msg: {} })}\n`;
        await fill(peer, handle.repeat(256), 8 * MiB);
        if (holdBytes === undefined) {
          expect(ours.isPaused()).toBe(true);
          expect(ours.writableLength).toBeLessThan(HOLD_BYTES + 256 * 32);
        } else {
          expect(ours.writableLength).toBeGreaterThan(3 * HOLD_BYTES);
        }
      } finally {
        close();
      }
    });
  }
});

/** What the watched host process reported, and how much its memory grew. */
interface Flood {
  /** Lines the host printed. */
  events: string[];
  /** Peak RSS (VmHWM) minus the RSS when the child had started, in MiB. */
  growth: number;
  /** The same after a listener drained the channel (`drain`). */
  drainedGrowth?: number;
}

const status = (pid: number, key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);

/**
 * Runs ipc-flood-host.cjs (as `uid`) until a line matches `until`, reading its memory
 * from here; with `drain`, then attaches its listener and waits for everything.
 */
async function flood(o: { impl: 'nsbind' | 'child_process'; mode: 'messages' | 'line'; mib: number; max?: number; until: RegExp; drain?: boolean; uid?: number }): Promise<Flood> {
  const args = [HOST, join(root, 'dist'), o.impl, o.mode, String(o.mib), ...(o.max !== undefined ? [String(o.max)] : [])];
  const host = spawn(process.execPath, args, {
    stdio: ['pipe', 'pipe', 'inherit'],
    ...(o.uid !== undefined ? { uid: o.uid, gid: o.uid, cwd: '/', env: { PATH: process.env.PATH, HOME: '/nonexistent' } } : {}),
  });
  const exited = once(host, 'exit');
  const lines = createInterface({ input: host.stdout! })[Symbol.asyncIterator]();
  const events: string[] = [];
  const nextMatching = async (re: RegExp) => {
    for (;;) {
      const { value, done } = await lines.next();
      if (done) throw new Error(`host ended before ${re}: ${events.join(' | ')}`);
      events.push(value);
      if (re.test(value)) return value;
    }
  };
  try {
    await nextMatching(/^ready$/);
    const base = status(host.pid!, 'VmRSS');
    host.stdin!.write('go\n');
    await nextMatching(o.until);
    const growth = (status(host.pid!, 'VmHWM') - base) / 1024;
    let drainedGrowth: number | undefined;
    if (o.drain) {
      host.stdin!.write('listen\n');
      await nextMatching(/^received /);
      drainedGrowth = (status(host.pid!, 'VmHWM') - base) / 1024;
    }
    return { events, growth, drainedGrowth };
  } finally {
    host.stdin!.end();
    await exited;
  }
}

const TOTAL_MIB = 64;
/** Far more than the protected host needs (3–8 MiB measured), well under what the flood sends. */
const BOUND_MIB = 24;
const creators = [
  { name: 'root', uid: undefined },
  ...(isRoot ? [{ name: 'uid 65534', uid: 65534 }] : []),
];

describe(`a sandboxed child flooding fork()'s channel (${TOTAL_MIB} MiB), Node's memory read from outside${isRoot ? '' : ' (the uid 65534 half skipped: switching needs root)'}`, () => {
  it(`the attack works on an unbounded channel: child_process.fork's parent grows by more than ${2 * BOUND_MIB} MiB`, async () => {
    const r = await flood({ impl: 'child_process', mode: 'messages', mib: TOTAL_MIB, until: /^done$/ });
    expect(r.growth).toBeGreaterThan(2 * BOUND_MIB);
  }, 120_000);

  for (const { name, uid } of creators) {
    it(`as ${name}: messages nobody listens for stall the child; Node grows by less than ${BOUND_MIB} MiB, and a late listener gets them all in order`, async () => {
      const r = await flood({ impl: 'nsbind', mode: 'messages', mib: TOTAL_MIB, until: /^(stalled|done)/, drain: true, uid });
      expect(r.events).toContainEqual(expect.stringMatching(/^stalled /));
      expect(r.growth).toBeLessThan(BOUND_MIB);
      expect(r.events).toContain(`received ${(TOTAL_MIB * MiB) / (64 * 1024)} true`);
      expect(r.drainedGrowth).toBeLessThan(BOUND_MIB);
    }, 120_000);

    it(`as ${name}: a message that never ends is cut at maxMessageSize (ERR_NSBIND_IPC_OVERFLOW); with maxMessageSize: Infinity it grows Node by more than ${2 * BOUND_MIB} MiB`, async () => {
      const cut = await flood({ impl: 'nsbind', mode: 'line', mib: TOTAL_MIB, until: /^(error|done|closed)/, uid });
      expect(cut.events).toContain('error ERR_NSBIND_IPC_OVERFLOW');
      expect(cut.growth).toBeLessThan(BOUND_MIB);
      const open = await flood({ impl: 'nsbind', mode: 'line', mib: TOTAL_MIB, max: Infinity, until: /^(error|done|closed)/, uid });
      expect(open.events).toContain('done');
      expect(open.growth).toBeGreaterThan(2 * BOUND_MIB);
    }, 120_000);
  }
});

/** The next 'error' of a forked child, or its end. */
function channelEnd(child: ForkedProcess): Promise<{ error?: NsbindError; disconnected: boolean }> {
  return new Promise((resolve) => {
    let error: NsbindError | undefined;
    child.on('error', (e) => (error = e as NsbindError));
    child.once('disconnect', () => setImmediate(() => resolve({ error, disconnected: true })));
  });
}

describe('fork: maxMessageSize', () => {
  const isolated = () => sandbox().user().pid();

  for (const serialization of ['json', 'advanced'] as const) {
    it(`a message of maxMessageSize arrives; one byte more ends the channel, and the child sees the disconnect (${serialization})`, async () => {
      const max = 64 * 1024;
      // The child sends a string sized so that its wire form is exactly max + extra bytes.
      const wire = (s: string) => (createCodec(serialization).encode(s) as string | Buffer).length - (serialization === 'json' ? 1 : 4);
      const sized = (extra: number) => {
        let n = max + extra - wire('');
        while (wire('x'.repeat(n)) > max + extra) n--; // 'advanced' writes the length as a varint
        expect(wire('x'.repeat(n))).toBe(max + extra);
        return n;
      };
      const script = join(__dirname, '..', 'fixtures', 'fork-child.cjs');
      const child = isolated().fork(script, [], { serialization, maxMessageSize: max });
      const echoed = new Promise((resolve) => child.once('message', resolve));
      child.send('x'.repeat(sized(0))); // fork-child echoes what it does not know
      expect(((await echoed) as string).length).toBe(sized(0));

      const end = channelEnd(child);
      child.send('x'.repeat(sized(1)));
      const { error } = await end;
      expect(error).toBeInstanceOf(NsbindError);
      expect(error).toMatchObject({ code: 'ERR_NSBIND_IPC_OVERFLOW', option: 'fork.maxMessageSize' });
      expect(error!.message).toMatch(/more than maxMessageSize \(65536 bytes\)/);
      expect(child.connected).toBe(false);
      // fork-child has nothing to keep it alive once its channel is gone
      expect(await child.exited).toMatchObject({ code: 0, reason: 'exit' });
    });
  }

  it('defaults to 1 MiB', () => {
    expect(DEFAULT_MAX_MESSAGE_SIZE).toBe(MiB);
  });

  it('a sandbox killed while its messages wait for a listener leaves no descriptor and ends the channel', async () => {
    // Whether or not reading was already held when the kill comes (the unit test above
    // holds it for sure), the channel must end and its descriptor go.
    const before = openFds().length;
    const child = isolated().fork(FLOOD, ['messages', '8'], { silent: true });
    const disconnected = once(child, 'disconnect');
    const progress = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    expect((await progress.next()).value).toMatch(/^sent /);
    child.kill('SIGKILL');
    await child.exited;
    await disconnected;
    expect(child.connected).toBe(false);
    await new Promise((r) => setTimeout(r, 50));
    expect(openFds().length).toBe(before);
  });

  it('is validated before anything runs', () => {
    const script = join(__dirname, '..', 'fixtures', 'fork-child.cjs');
    for (const bad of [0, -1, 1.5, NaN, '1M', null]) {
      const e = caught(() => isolated().fork(script, [], { maxMessageSize: bad as number }));
      expect(e, String(bad)).toMatchObject({ code: 'ERR_NSBIND_INVALID', option: 'fork.maxMessageSize' });
    }
  });
});
