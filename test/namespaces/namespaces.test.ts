import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { namespaces, namespaceTypes, type NamespaceEntry } from '../../lib/namespaces/index.js';
import { resolveTarget } from '../../lib/namespaces/target.js';
import { NsbindError } from '../../lib/errors.js';
import { distModule, isRoot, skipUnless } from '../helpers/index.js';

/** lsns as the oracle: one flat list, every column. */
interface LsnsRow {
  ns: number;
  type: string;
  path: string;
  nprocs: number;
  pid: number;
  ppid: number;
  command: string;
  uid: number;
  user: string;
  pns: number;
  ons: number;
}
function lsns(): Map<number, LsnsRow> {
  const out = execFileSync('lsns', ['--json', '--list', '--output-all', '--notruncate'], { encoding: 'utf8' });
  return new Map((JSON.parse(out).namespaces as LsnsRow[]).map((r) => [r.ns, r]));
}

/** Wait until `pid` has left our namespace of `type` (unshare has exec'd its program). */
async function inOwnNamespace(pid: number, type: string): Promise<void> {
  const mine = readlinkSync(`/proc/self/ns/${type}`);
  for (;;) {
    let theirs: string;
    try {
      theirs = readlinkSync(`/proc/${pid}/ns/${type}`);
    } catch {
      throw new Error(`process ${pid} ended early`);
    }
    if (theirs !== mine) return;
    await new Promise((r) => setTimeout(r, 5));
  }
}

function exited(p: ChildProcess): Promise<void> {
  return p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : new Promise((r) => p.once('exit', () => r()));
}

function expectError(f: () => unknown, code: string, pattern?: RegExp): NsbindError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(NsbindError);
    expect((e as NsbindError).code).toBe(code);
    if (pattern) expect((e as Error).message).toMatch(pattern);
    return e as NsbindError;
  }
  throw new Error('expected an NsbindError');
}

// Processes of our own in new namespaces (unshare is an oracle tool here), so that the
// comparison with lsns covers more than the host's initial namespaces, owner and parent
// relations included.
const children: ChildProcess[] = [];
let isolated: ChildProcess;
beforeAll(async () => {
  isolated = spawn('unshare', ['--user', '--map-root-user', '--net', '--uts', '--ipc', 'sleep', '1000'], { stdio: 'ignore' });
  children.push(isolated);
  await inOwnNamespace(isolated.pid!, 'user');
});
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await Promise.all(children.map(exited));
});

describe('namespaces.of', () => {
  it('equals readlink /proc/self/ns/*', () => {
    const ns = namespaces.of();
    for (const t of namespaceTypes) {
      expect(`${t}:[${ns[t].inode}]`).toBe(readlinkSync(`/proc/self/ns/${t}`));
      expect(ns[t].type).toBe(t);
    }
  });

  it('reads another process, given its pid or an object with .pid', () => {
    const pid = isolated.pid!;
    for (const ns of [namespaces.of(pid), namespaces.of({ pid })]) {
      for (const t of namespaceTypes) expect(`${t}:[${ns[t].inode}]`).toBe(readlinkSync(`/proc/${pid}/ns/${t}`));
    }
    expect(namespaces.of(pid).net.inode).not.toBe(namespaces.of().net.inode);
    expect(namespaces.of(pid).pid.inode).toBe(namespaces.of().pid.inode);
  });

  it('ESRCH for a pid that does not exist; ERR_NSBIND_INVALID for what is not a pid', () => {
    // Above PID_MAX_LIMIT (2^22): no process can have it.
    const e = expectError(() => namespaces.of(4194305), 'ESRCH', /pid 4194305/);
    expect(e.option).toBe('namespaces.of.pid');
    expectError(() => namespaces.of(-1), 'ERR_NSBIND_INVALID', /positive integer/);
    expectError(() => namespaces.of(1.5), 'ERR_NSBIND_INVALID');
    expectError(() => namespaces.of('1' as never), 'ERR_NSBIND_INVALID');
    expectError(() => namespaces.of({ pid: undefined }), 'ERR_NSBIND_INVALID', /not started/);
  });
});

describe('namespace targets', () => {
  it('accept namespace files of the right type and refuse the others before anything runs', () => {
    expect(resolveTarget('/proc/self/ns/net', 'net', 'net.join')).toEqual({ kind: 'file', path: '/proc/self/ns/net' });
    expectError(() => resolveTarget('/etc/passwd', 'net', 'net.join'), 'ERR_NSBIND_INVALID', /not a namespace file/);
    const e = expectError(() => resolveTarget('/proc/self/ns/uts', 'net', 'net.join'), 'ERR_NSBIND_INVALID', /uts namespace, not net/);
    expect(e.option).toBe('net.join');
    expectError(() => resolveTarget('/nonexistent/ns', 'net', 'net.join'), 'ENOENT');
    expectError(() => resolveTarget('blue', 'uts', 'uts.join'), 'ERR_NSBIND_INVALID', /only network namespaces can be named/);
    const missing = expectError(() => resolveTarget('nsbind-test-no-such-netns', 'net', 'net.join'), 'ENOENT');
    expect(missing.hint).toMatch(/ip netns add/);
    expectError(() => resolveTarget(4194305, 'net', 'net.join'), 'ESRCH');
    expectError(() => resolveTarget({} as never, 'net', 'net.join'), 'ERR_NSBIND_INVALID');
    // A FIFO must not hang the check.
    const dir = mkdtempSync(join(tmpdir(), 'nsbind-fifo-'));
    try {
      execFileSync('mkfifo', [join(dir, 'f')]);
      expectError(() => resolveTarget(join(dir, 'f'), 'net', 'net.join'), 'ERR_NSBIND_INVALID', /not a namespace file/);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});

describe('namespaces.list', () => {
  it('agrees with lsns --json', async () => {
    // lsns counts itself: it is our child, in our namespaces, and gone when we look.
    const mine = new Set(Object.values(namespaces.of()).map((n) => n.inode));
    const self = (inode: number) => (mine.has(inode) ? 1 : 0);
    // Processes elsewhere on the machine (other test runs) come and go: a namespace is
    // compared when lsns saw the same count and lowest pid before and after us (which a
    // busy namespace can also show by coincidence: one process left, another came). One
    // that is never quiet is not compared; one that is must agree at least once, and
    // counts as disagreeing only when it did so in several quiet looks.
    const agreed = new Set<number>();
    const disagreed = new Map<number, { n: number; last: string }>();
    const missed = new Map<number, number>();
    let compared = 0;
    for (let attempt = 0; attempt < 20; attempt++) {
      const before = lsns();
      const ours = new Map((await namespaces.list()).map((e) => [e.inode, e]));
      const after = lsns();
      for (const [inode, a] of before) {
        const b = after.get(inode);
        if (!b) continue; // gone while we looked
        const e = ours.get(inode);
        // Seen by lsns before and after us, so it most likely existed throughout: we must
        // list it. Not certain on a busy machine (the process lsns saw before can leave and
        // another enter it after our scan passed its pid), so a miss counts when it recurs.
        if (!e) {
          missed.set(inode, (missed.get(inode) ?? 0) + 1);
          continue;
        }
        missed.delete(inode);
        expect(e.type).toBe(a.type);
        if (a.nprocs !== b.nprocs || a.pid !== b.pid || agreed.has(inode)) continue;
        const want = { nprocs: a.nprocs - self(inode), pid: a.pid, ppid: a.ppid, user: a.user, command: a.command, path: a.path, owner: a.ons, parent: a.pns };
        const got = { nprocs: e!.nprocs, pid: e!.pid, ppid: e!.ppid, user: e!.user, command: e!.command, path: e!.paths[0], owner: e!.owner ?? 0, parent: e!.parent ?? 0 };
        if (JSON.stringify(got) === JSON.stringify(want)) {
          agreed.add(inode);
          disagreed.delete(inode);
          compared++;
        } else {
          const n = (disagreed.get(inode)?.n ?? 0) + 1;
          disagreed.set(inode, { n, last: `${a.type}:[${inode}] ours ${JSON.stringify(got)} lsns ${JSON.stringify(want)}` });
        }
      }
      // What we list with processes, lsns saw too (unless it came and went meanwhile).
      for (const e of ours.values()) {
        if (e.nprocs > 0 && !before.has(e.inode) && !after.has(e.inode)) {
          let now = '';
          try { now = readlinkSync(`/proc/${e.pid}/ns/${e.type}`); } catch { /* gone */ }
          expect(now, `${e.type}:[${e.inode}] (pid ${e.pid}) is not in lsns`).not.toBe(`${e.type}:[${e.inode}]`);
        }
      }
      if (disagreed.size === 0 && missed.size === 0 && compared > 8) break;
    }
    expect([...missed].filter(([, n]) => n >= 3).map(([inode]) => `lsns lists ${inode}, we do not`)).toEqual([]);
    expect([...disagreed.values()].filter((d) => d.n >= 3).map((d) => d.last)).toEqual([]);
    expect(compared).toBeGreaterThan(8);

    // Our own child: a user namespace whose parent is ours, owning its net namespace.
    const ours = new Map((await namespaces.list()).map((e) => [e.inode, e]));
    const iso = namespaces.of(isolated.pid!);
    expect(ours.get(iso.user.inode)).toMatchObject({ type: 'user', nprocs: 1, pid: isolated.pid, parent: namespaces.of().user.inode, owner: namespaces.of().user.inode });
    expect(ours.get(iso.net.inode)).toMatchObject({ type: 'net', nprocs: 1, owner: iso.user.inode });
    expect(ours.get(iso.net.inode)!.parent).toBeUndefined();
  });

  it('filters by type', async () => {
    const nets = await namespaces.list({ type: 'net' });
    expect(nets.length).toBeGreaterThanOrEqual(2);
    expect(nets.every((e) => e.type === 'net')).toBe(true);
    const some = await namespaces.list({ type: ['uts', 'ipc'] });
    expect(new Set(some.map((e) => e.type))).toEqual(new Set(['uts', 'ipc']));
    await expect(namespaces.list({ type: 'mount' as never })).rejects.toMatchObject({
      code: 'ERR_NSBIND_INVALID', option: 'namespaces.list.type', hint: "the kernel's name is 'mnt'",
    });
  });

  it('lists a namespace held only by an open fd', async () => {
    // An unprivileged caller's network namespace needs a user namespace of its own.
    const holder = spawn('unshare', [...(isRoot ? [] : ['--user', '--map-root-user']), '--net', 'sleep', '1000'], { stdio: 'ignore' });
    children.push(holder);
    await inOwnNamespace(holder.pid!, 'net');
    const fd = openSync(`/proc/${holder.pid}/ns/net`, 'r');
    const inode = namespaces.of(holder.pid!).net.inode;
    const owner = namespaces.of(holder.pid!).user.inode;
    expect(owner === namespaces.of().user.inode).toBe(isRoot);
    try {
      holder.kill('SIGKILL');
      await exited(holder);
      const e = (await namespaces.list({ type: 'net' })).find((x) => x.inode === inode);
      expect(e).toMatchObject({ type: 'net', nprocs: 0, pid: null, user: null, command: null, owner });
      expect(e!.paths).toContain(`/proc/${process.pid}/fd/${fd}`);
    } finally {
      closeSync(fd);
    }
    // Once the fd is closed, nothing holds it: it is gone.
    expect((await namespaces.list({ type: 'net' })).map((x) => x.inode)).not.toContain(inode);
  });

  it('lists a namespace held only by a bind mount (in a private mount namespace of the test)', async (ctx) => {
    await skipUnless(ctx, 'root'); // unshare --mount and --net=FILE without a user namespace
    const dir = mkdtempSync(join(tmpdir(), 'nsbind-list-'));
    try {
      const file = join(dir, 'net');
      writeFileSync(file, '');
      // The script runs in a mount namespace of its own (private propagation): the bind
      // mount that `unshare --net=FILE` makes dies with it and never reaches the host.
      const script = `
        const { execFileSync } = require('node:child_process');
        const { namespaces } = require(${JSON.stringify(distModule('namespaces/index'))});
        execFileSync('unshare', ['--net=' + ${JSON.stringify(file)}, 'true']);
        const inode = Number(/\\[(\\d+)\\]/.exec(require('node:fs').readFileSync('/proc/self/mountinfo', 'utf8')
          .split('\\n').find((l) => l.includes(${JSON.stringify(file)}) && l.includes(' - nsfs '))
          .split(' ')[3])[1]);
        namespaces.list({ type: 'net' }).then((l) => console.log(JSON.stringify({ inode, entry: l.find((e) => e.inode === inode) })));
      `;
      const out = execFileSync('unshare', ['--mount', '--propagation', 'private', process.execPath, '-e', script], { encoding: 'utf8' });
      const { inode, entry } = JSON.parse(out) as { inode: number; entry: NamespaceEntry };
      expect(inode).toBeGreaterThan(0);
      expect(entry).toMatchObject({ type: 'net', inode, nprocs: 0, pid: null, paths: [file] });
      expect(entry.owner).toBe(namespaces.of().user.inode);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});

describe('the namespace table (lib/namespaces/types.ts)', () => {
  it("has every type once, with the kernel's clone flag (the addon's constants) and its builder method", async () => {
    const { NAMESPACES, cloneFlag, methodOf, typeOfCloneFlag } = await import('../../lib/namespaces/types.js');
    const { native } = await import('../../lib/binding.js');
    const { sandbox } = await import('../../lib/index.js');
    const c = native().constants;
    const kernel = { user: c.CLONE_NEWUSER, pid: c.CLONE_NEWPID, mnt: c.CLONE_NEWNS, uts: c.CLONE_NEWUTS, ipc: c.CLONE_NEWIPC, net: c.CLONE_NEWNET, cgroup: c.CLONE_NEWCGROUP, time: c.CLONE_NEWTIME };
    expect(Object.keys(NAMESPACES)).toEqual([...namespaceTypes]);
    for (const t of namespaceTypes) {
      expect(cloneFlag(t)).toBe(kernel[t]);
      expect(typeOfCloneFlag(kernel[t])).toBe(t);
      expect(typeof (sandbox() as unknown as Record<string, unknown>)[methodOf(t)]).toBe('function');
    }
    expect(methodOf('mnt')).toBe('mount');
  });
});
