// The escape suite, spawn path (issue 14 items 1, 5, 6, 7): attacks on nsbind's own
// machinery rather than on the sandbox's walls. Each attack runs against the real
// library in a separate Node process, as root and as an unprivileged creator (uid
// 65534), and, where a protection can be switched off (NSBIND_UNSAFE_TEST_DISABLE, read
// once by lib/unsafe-test.ts), is shown to work without it, so no case can pass by
// accident.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandbox } from '../../lib/index.js';
import { hasCommand, isRoot, root, runNode, skipUnless, buildProbe } from '../helpers/index.js';

const haveCc = hasCommand('cc');
let probe = '';
let remove = () => {};

beforeAll(() => {
  if (!haveCc) return;
  ({ probe, remove } = buildProbe());
});
afterAll(() => remove());

/**
 * Who creates the sandboxes: root (this process, when it is root) and an unprivileged
 * user (uid 65534 when we are root, else whoever runs the suite).
 */
const creators = [
  { name: 'root', nobody: false, skip: isRoot ? '' : ' (skipped: the suite does not run as root)' },
  { name: 'unprivileged', nobody: isRoot, skip: '' },
] as const;
type Creator = (typeof creators)[number];

function node(c: Creator, script: string, disable?: string) {
  const r = runNode(script, { nobody: c.nobody, env: disable ? { NSBIND_UNSAFE_TEST_DISABLE: disable } : {}, timeoutMs: 90_000 });
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

/**
 * The setup-window attack (issue 14 item 1). In a Node process: an attacker sandbox that
 * sees host pids runs the probe's `race-mem`, which watches for new children of that
 * Node process (nsbind's setup children, which share its memory until their exec) and
 * keeps trying to open their /proc/PID/mem for writing; it wins when a descriptor reads
 * the first 64 bytes of the node binary's image at its address (Node's memory, not a
 * program's). Victim sandboxes are spawned one after another, up to `n` or a win.
 */
function race(c: Creator, attacker: string, victim: string, n: number, disable?: string): { spawns: number; verdict: string } {
  return node(
    c,
    `
    const fs = require('fs');
    const exe = fs.realpathSync(process.execPath);
    const line = fs.readFileSync('/proc/self/maps', 'utf8').split('\\n').find((l) => l.endsWith(' ' + exe) && l.split(/\\s+/)[2] === '00000000');
    const base = parseInt(line.split('-')[0], 16);
    const head = Buffer.alloc(64);
    const fd = fs.openSync('/proc/self/mem', 'r');
    fs.readSync(fd, head, 0, 64, base);
    fs.closeSync(fd);
    const attacker = (${attacker}).spawn(${JSON.stringify(probe)}, ['race-mem', String(process.pid), base.toString(16), head.toString('hex'), '80'], { stdio: 'pipe' });
    let out = '';
    attacker.stdout.on('data', (d) => { out += d; });
    await new Promise((r, j) => { attacker.once('spawn', r); attacker.once('error', j); });
    while (!out.includes('ready')) await new Promise((r) => setTimeout(r, 5));
    const victim = ${victim};
    let spawns = 0;
    for (; spawns < ${n} && !out.includes('won'); spawns++) {
      const r = await victim(attacker).run('true', [], { stdio: 'pipe' });
      if (r.code !== 0) throw new Error('victim: ' + JSON.stringify(r));
    }
    attacker.stdin.end();
    await attacker.exited;
    console.log(JSON.stringify({ spawns, verdict: out.trim().split('\\n').pop() }));`,
    disable,
  );
}

/** 100 victims, no win, and the attacker did see setup children come and go. */
function neverWins(r: { spawns: number; verdict: string }) {
  expect(r.spawns).toBe(100);
  expect(r.verdict).toMatch(/^lost \d+$/);
  // (a loaded machine can starve the attacker; it must still have seen some come and go)
  expect(Number(r.verdict.split(' ')[1])).toBeGreaterThanOrEqual(3);
}

const enterVictim = "(a) => nsbind.enter(a, ['user', 'net'])";

// A root creator's program is never host root by default (SPEC 2.1): its own user namespace
// maps inside-root to an unprivileged id, which alone stops these attacks. To show the
// setup window's own protections at work, root's attackers are made as they were before
// that: root inside mapped to host 0, or no user namespace at all.
const HOST0 = "{ uidMap: [{ inside: 0, outside: 0, count: 1 }], gidMap: [{ inside: 0, outside: 0, count: 1 }] }";
const rootUser = (c: { nobody?: boolean }) => (c.nobody || !isRoot ? '.user()' : `.user(${HOST0})`);

describe.skipIf(!haveCc)(`the setup window${haveCc ? '' : ' (skipped: no C compiler cc to build the probe)'}`, () => {
  for (const c of creators) {
    it.skipIf(c.skip !== '')(`${c.name}: enter()'s setup children, beside a program that sees host pids, are never opened (100 spawns); without the protections they are${c.skip}`, () => {
      const attacker = `nsbind.sandbox()${rootUser(c)}.net()`;
      neverWins(race(c, attacker, enterVictim, 100));
      // The program has no capability; the setup child keeps its permitted set until its
      // exec, and a root Node keeps its memory non-dumpable; a Node without privileges
      // joins a user namespace only in nsbind-init's own memory.
      const off = c.nobody || !isRoot ? 'setup-caps,user-join-in-init' : 'setup-caps,setup-nondumpable';
      expect(race(c, attacker, enterVictim, 300, off).verdict).toMatch(/^won \d+$/);
    });

    it.skipIf(c.skip !== '')(`${c.name}: a program holding CAP_SYS_PTRACE in the user namespace enter() joins cannot open them either${c.skip}`, () => {
      const attacker = `nsbind.sandbox()${rootUser(c)}.net().capabilities(['CAP_SYS_PTRACE'])`;
      neverWins(race(c, attacker, enterVictim, 100));
      const off = c.nobody || !isRoot ? 'user-join-in-init' : 'setup-nondumpable';
      expect(race(c, attacker, enterVictim, 300, off).verdict).toMatch(/^won \d+$/);
    });

    it.skipIf(c.skip !== '')(`${c.name}: a program without a user namespace of its own cannot open a new user namespace's setup child${c.skip}`, () => {
      // As root, such a program is the owner of every user namespace root's Node creates,
      // and an owner holds every capability in it: only the non-dumpable memory stops it.
      // (Unprivileged, the attacker gets a user namespace of its own and owns nothing.)
      const attacker = c.nobody || !isRoot ? 'nsbind.sandbox().net()' : 'nsbind.sandbox().user(false).net()';
      const victim = '() => nsbind.sandbox().user().net()';
      neverWins(race(c, attacker, victim, 100));
      if (!c.nobody && isRoot) expect(race(c, attacker, victim, 300, 'setup-nondumpable').verdict).toMatch(/^won \d+$/);
    });
  }

  it.skipIf(!isRoot)(`root: a sandbox with a writable bind (its idmap helper, in a new user namespace before the clone, and its setup child) is never opened by a root program without a user namespace; without non-dumpable memory it is${isRoot ? '' : ' (skipped: needs root)'}`, () => {
    // Only a root caller idmaps (an unprivileged one's binds are its own ids already). The
    // helper shares Node's memory like the setup child, and both user namespaces are root's:
    // a root program owns them, so only the non-dumpable memory stops it (native/idmap.cc).
    // (The attacker cannot tell the helper from the setup child: with the protection off it
    // wins against whichever it opens first.)
    const c = creators[0];
    const tree = mkdtempSync(join(tmpdir(), 'nsbind-idmap-race-'));
    try {
      const attacker = 'nsbind.sandbox().user(false).net()';
      const victim = `() => nsbind.sandbox().bind(${JSON.stringify(tree)})`;
      neverWins(race(c, attacker, victim, 100));
      expect(race(c, attacker, victim, 300, 'setup-nondumpable').verdict).toMatch(/^won \d+$/);
    } finally {
      rmSync(tree, { recursive: true, force: true });
    }
  });

  it.skipIf(!isRoot)(`root: sandbox().net()'s setup children are never opened by another sandbox().net(), and are with both protections off${isRoot ? '' : ' (skipped: needs root)'}`, () => {
    const c = creators[0];
    const victim = '() => nsbind.sandbox().net()';
    neverWins(race(c, 'nsbind.sandbox().net()', victim, 100));
    // Attacker and victim as root without user namespaces (as every sandbox was before SPEC
    // 2.1's default): either protection alone holds (the capabilities and the non-dumpable
    // memory), and without both it wins. (With the default user namespace on the victim's
    // side, a root attacker without one owns it and only the non-dumpable memory holds: the
    // case above, "a program without a user namespace of its own".)
    const attacker = 'nsbind.sandbox().user(false).net()';
    const bare = '() => nsbind.sandbox().user(false).net()';
    neverWins(race(c, attacker, bare, 100));
    expect(race(c, attacker, bare, 100, 'setup-caps').verdict).toMatch(/^lost/);
    expect(race(c, attacker, bare, 100, 'setup-nondumpable').verdict).toMatch(/^lost/);
    expect(race(c, attacker, bare, 300, 'setup-caps,setup-nondumpable').verdict).toMatch(/^won \d+$/);
  });
});

describe.skipIf(!haveCc)(`nsbind's init${haveCc ? '' : ' (skipped: no C compiler cc to build the probe)'}`, () => {
  /** The probe's forge-exit in `sb`: what opening the init's report pipe gave, and the result. */
  const forge = (c: Creator, sb: string, disable?: string) =>
    node(
      c,
      `const r = await (${sb}).run(${JSON.stringify(probe)}, ['forge-exit'], { stdio: 'pipe' });
       console.log(JSON.stringify({ open: r.stdout.trim(), code: r.code, signal: r.signal }));`,
      disable,
    );

  for (const c of creators) {
    it.skipIf(c.skip !== '')(`${c.name}: the program cannot forge its exit status through the init's report pipe (/proc/1/fd/3)${c.skip}`, () => {
      const sb = 'nsbind.sandbox().pid().proc()';
      // Non-dumpable: the init's descriptors cannot be reached at all.
      expect(forge(c, sb)).toEqual({ open: 'errno 13', code: 42, signal: null });
      // (root: the program must be host root for the rest, see rootUser)
      const weak = `nsbind.sandbox()${rootUser(c)}.pid().proc()`;
      // Reachable, the pipe takes the record, but it lacks the spawn's token: ignored.
      expect(forge(c, weak, 'init-nondumpable')).toEqual({ open: 'ok', code: 42, signal: null });
      // Without both, the forgery works: exit 42 is reported as SIGSEGV.
      expect(forge(c, weak, 'init-nondumpable,report-token')).toEqual({ open: 'ok', code: null, signal: 'SIGSEGV' });
    });

    it.skipIf(c.skip !== '')(`${c.name}: the init's executable cannot be opened for writing, nor its memory read${c.skip}`, () => {
      const r = node(
        c,
        `const sb = nsbind.sandbox().pid().proc();
         const out = [];
         for (const a of [['parent-exe-write'], ['open-read', '/proc/1/mem'], ['open-read', '/proc/1/environ'], ['ptrace', '1']]) {
           out.push((await sb.run(${JSON.stringify(probe)}, a, { stdio: 'pipe' })).stdout.trim());
         }
         console.log(JSON.stringify(out));`,
      );
      expect(r).toEqual(['errno 13', 'errno 13', 'errno 13', 'errno 1']);
    });
  }

  it.skipIf(!isRoot)(`root: a supervising init without a pid namespace (limits) cannot be used to forge the exit status either${isRoot ? '' : ' (skipped: needs root for a cgroup)'}`, () => {
    const c = creators[0];
    const sb = 'nsbind.sandbox().limits({ pids: 16 })';
    expect(forge(c, sb)).toEqual({ open: 'errno 13', code: 42, signal: null });
    expect(forge(c, `nsbind.sandbox().user(${HOST0}).limits({ pids: 16 })`, 'init-nondumpable,report-token')).toEqual({ open: 'ok', code: null, signal: 'SIGSEGV' });
  });

  it("is the sandbox's PID 1 with a short command line: no PATH, no environment", async () => {
    const r = await sandbox()
      .pid()
      .proc()
      .env({ PATH: '/usr/bin:/bin:/a/very/long/path/that/must/not/show' })
      .run('sh', ['-c', 'tr "\\0" " " < /proc/1/cmdline']);
    expect(r.stdout).toBe('nsbind-init 3 sh -c tr "\\0" " " < /proc/1/cmdline ');
  });
});

describe('the working directory (CVE-2024-21626 style)', () => {
  // Every magic-link form of the issue: written out, the builder refuses it at once;
  // reached through a symlink the builder cannot see through, the spawn refuses it while
  // resolving the cwd inside the root (openat2 RESOLVE_NO_MAGICLINKS: ELOOP), before the
  // program runs. The sandbox is the issue's: a root with proc, dev and an overlay whose
  // lower layer is a host directory (its descriptor open during the setup).
  // (Descriptor 13 no longer exists when the cwd is resolved, the setup having closed its
  // own: ENOENT; 0 and 3 do, stdin and the setup's report pipe: ELOOP.)
  const forms = ['/dev/fd/13', '/dev/fd/3', '/proc/self/fd/13', '/proc/self/fd/0', '/proc/thread-self/fd/3', '/proc/self/task/1/fd/13',
    '/proc/1/cwd', '/proc/self/root', '/proc/1/root/etc', '/dev/stdin'];

  it.each(forms)('%s is refused by the builder, naming the option', (form) => {
    expect(() => sandbox().cwd(form)).toThrow(expect.objectContaining({ code: 'ERR_NSBIND_INVALID', option: 'cwd' }));
  });

  for (const c of creators) {
    it.skipIf(c.skip !== '')(`${c.name}: through a symlink, each form is refused at the cwd step and the program never runs${c.skip}`, () => {
      const r = node(
        c,
        `const lower = require('fs').mkdtempSync(require('os').tmpdir() + '/nsbind-cwd-');
         require('fs').writeFileSync(lower + '/host-file', 'host');
         const base = nsbind.sandbox().root().roBind('/usr').symlink('usr/bin', '/bin').symlink('usr/lib', '/lib').symlink('usr/lib64', '/lib64')
           .proc().dev().overlay('/overlay', { lower: [lower] }).dir('/inside');
         const out = [];
         for (const form of ${JSON.stringify(forms)}) {
           try {
             const r = await base.symlink(form, '/cwd-link').cwd('/cwd-link').run('pwd', [], { stdio: 'pipe' });
             out.push({ form, ran: r.stdout });
           } catch (e) { out.push({ form, code: e.code, step: e.step, syscall: e.syscall }); }
         }
         const ok = await base.symlink('/inside', '/cwd-link').cwd('/cwd-link').run('pwd', [], { stdio: 'pipe' });
         require('fs').rmSync(lower, { recursive: true });
         console.log(JSON.stringify({ out, ok: ok.stdout }));`,
      );
      for (const o of r.out) {
        expect(o).toEqual({ form: o.form, code: expect.stringMatching(/^(ELOOP|ENOENT)$/), step: 'cwd /cwd-link', syscall: 'openat2' });
      }
      expect(r.out.filter((o: { code: string }) => o.code === 'ELOOP').length).toBeGreaterThanOrEqual(5);
      expect(r.ok).toBe('/inside\n');
    });
  }

  it('a symlink out of the root is resolved inside it', async () => {
    const r = await sandbox().root().roBind('/usr').symlink('usr/bin', '/bin').symlink('usr/lib', '/lib').symlink('usr/lib64', '/lib64')
      .dir('/inside').symlink('../../../../inside', '/up').cwd('/up').run('pwd');
    expect(r.stdout).toBe('/inside\n');
  });

  it('the setup\'s descriptors are closed before the program runs: only stdio is open', async (ctx) => {
    // A joined network namespace beside new mount and pid namespaces and no user namespace:
    // root's. (Unprivileged, that needs the owner's user namespace joined, where a new pid
    // namespace, and so .proc(), is not available.)
    await skipUnless(ctx, 'root');
    const join_ = sandbox().net().spawn('sleep', ['30'], { stdio: 'ignore' });
    await new Promise((r) => join_.once('spawn', r));
    try {
      const r = await sandbox()
        .net({ join: join_.pid! })
        .root()
        .roBind('/usr')
        .symlink('usr/bin', '/bin')
        .symlink('usr/lib', '/lib')
        .symlink('usr/lib64', '/lib64')
        .proc()
        .bind(root, '/src', { readonly: true })
        .run('/bin/sh', ['-c', 'ls /proc/self/fd | sort -n | tr "\\n" " "']);
      // 3 is ls's own descriptor of the directory it lists
      expect(r.stdout).toBe('0 1 2 3 ');
    } finally {
      join_.kill('SIGKILL');
      await join_.exited;
    }
  });
});

describe('freestanding setup code (issue 14 item 7)', () => {
  const objDir = join(root, 'build', 'Release', 'obj.target', 'nsbind-child', 'native');
  const haveObjs = existsSync(objDir) && hasCommand('nm');

  it.skipIf(!haveObjs)(`the objects that run between clone and exec reference nothing outside themselves: no libc, no PLT${haveObjs ? '' : ' (skipped: no build/ objects or no nm; a prebuilt install)'}`, () => {
    const objs = readdirSync(objDir).filter((f) => f.endsWith('.o')).map((f) => join(objDir, f));
    expect(objs.map((o) => o.split('/').pop()).sort()).toEqual(['child.o', 'clone.o', 'egress_child.o', 'fs.o', 'fs_remount.o', 'interp.o', 'landlock.o', 'lock_file.o', 'security_ops.o']);
    const names = (args: string[]) =>
      new Set(execFileSync('nm', [...args, ...objs], { encoding: 'utf8' }).split('\n').map((l) => l.trim().split(/\s+/).pop()!).filter((n) => n && !n.endsWith(':')));
    const undefinedSyms = names(['-u']);
    const defined = names(['--defined-only']);
    expect([...undefinedSyms].filter((s) => !defined.has(s))).toEqual([]);
    // Nothing they define is exported from the addon either (hidden: called directly,
    // never through the PLT, never interposed).
    const exported = execFileSync('nm', ['-D', '--defined-only', join(root, 'build', 'Release', 'nsbind.node')], { encoding: 'utf8' })
      .split('\n')
      .map((l) => l.trim().split(/\s+/).pop());
    expect(exported.filter((s) => s && defined.has(s))).toEqual([]);
  });

  it('no setup child ever runs the dynamic linker (LD_DEBUG=bindings shows only the Node process)', () => {
    const script = `
      const { sandbox, enter } = require(${JSON.stringify(join(root, 'dist', 'index.js'))});
      (async () => {
        const env = { LD_DEBUG: undefined };
        const sbs = [sandbox(), sandbox().user().pid().net(), sandbox().user().mount().tmpfs('/mnt').as({ uid: 0, gid: 0 }), sandbox().time()];
        ${isRoot ? "sbs.push(sandbox().limits({ pids: 8 }), sandbox().pid().limits({ pids: 8 }), sandbox().all());" : ''}
        for (let i = 0; i < 3; i++) for (const sb of sbs) await sb.env(env).run('true', [], { stdio: 'pipe' });
        const p = sandbox().user().net().env(env).spawn('sleep', ['10'], { stdio: 'pipe' });
        await new Promise((r) => p.once('spawn', r));
        for (let i = 0; i < 3; i++) await enter(p).env(env).run('true', [], { stdio: 'pipe' });
        p.kill('SIGKILL');
        await p.exited;
        console.log('pid ' + process.pid);
      })();`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, LD_DEBUG: 'bindings' }, timeout: 60_000 });
    const nodePid = /pid (\d+)/.exec(r.stdout)![1];
    const lines = r.stderr.split('\n').filter((l) => /^\s*\d+:/.test(l));
    // The Node process itself binds symbols as it goes (that is how LD_DEBUG is seen to work)...
    expect(lines.some((l) => l.trim().startsWith(`${nodePid}:`) && /binding file/.test(l))).toBe(true);
    // ...and nothing else does: no setup child, no init, no program (its LD_DEBUG is unset).
    expect(lines.filter((l) => !l.trim().startsWith(`${nodePid}:`))).toEqual([]);
  });
});
