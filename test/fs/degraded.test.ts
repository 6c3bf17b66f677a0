// Degraded mode (SPEC 2.5): where user namespaces are refused, .files() is enforced by
// Landlock alone, with no namespace. The host's shape is made with nsbind itself: an
// unprivileged Node runs inside a sandbox whose default seccomp profile refuses
// CLONE_NEWUSER (as Docker's default profile does), and uses .files() there.
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grantExcept, type DegradedRule } from '../../lib/fs/degraded.js';
import { landlockAbi } from '../../lib/security/landlock.js';
import { scratch, escapeProbe, hasCommand, inCI, isRoot, root, runAsNobody, runNode } from '../helpers/index.js';

let dir: string;
beforeAll(() => {
  dir = scratch('nsbind-degraded-');
  for (const d of ['w/.git/hooks', 'w/src', 'sec', 'other']) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(join(dir, 'sec', 'key'), 'KEY\n');
  writeFileSync(join(dir, 'other', 'f'), 'OTHER\n');
  writeFileSync(join(dir, 'outside'), 'O\n');
  for (const p of ['', 'w', 'w/.git', 'w/.git/hooks', 'w/src', 'sec', 'other']) chmodSync(join(dir, p), 0o777);
  for (const p of ['sec/key', 'other/f', 'outside']) chmodSync(join(dir, p), 0o666);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('degraded mode: no user namespace', () => {
  it('grants around a denied path from the files there now', () => {
    const out: DegradedRule[] = [];
    grantExcept(dir, [join(dir, 'sec')], 'read', 'readDir', out);
    expect(out).toContainEqual({ path: dir, access: 'readDir' });
    expect(out).toContainEqual({ path: join(dir, 'other'), access: 'read' });
    expect(out.some((r) => r.path === join(dir, 'sec') || r.path.startsWith(join(dir, 'sec') + '/'))).toBe(false);
  });

  it.skipIf(landlockAbi() === 0 && !inCI)('inside a seccomp profile that refuses CLONE_NEWUSER, unprivileged: .files() holds by Landlock, isolation lists no namespace', () => {
    const inner = join(dir, 'inner.js');
    const script = `cat ${dir}/sec/key 2>/dev/null || echo deny-read; cat ${dir}/other/f; echo x > ${dir}/w/x 2>/dev/null && echo rw || echo no-new-file-beside-protected; touch ${dir}/w/src/n && echo src-rw;
      touch ${dir}/w/.git/hooks/h 2>/dev/null || echo hooks-ro; echo y > ${dir}/outside 2>/dev/null || echo ro; echo d > /dev/null && echo devnull`;
    writeFileSync(inner, `const nsbind = require(${JSON.stringify(join(root, 'dist', 'index.js'))});
(async () => {
  const p = nsbind.sandbox().files({ read: { deny: [${JSON.stringify(join(dir, 'sec'))}] }, write: { allow: [${JSON.stringify(join(dir, 'w'))}] } })
    .spawn('/bin/sh', ['-c', ${JSON.stringify(script)}], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = ''; p.stdout.on('data', (b) => (out += b));
  await p.exited;
  const mode = (await nsbind.doctor()).mode;
  console.log(JSON.stringify({ out, isolation: [...p.isolation], landlock: p.isolation.landlock, mode }));
})().catch((e) => { console.error(e); process.exit(1); });`);
    chmodSync(inner, 0o644);
    const r = runAsNobody(`const r = await nsbind.sandbox().run(process.execPath, [${JSON.stringify(inner)}]); process.stdout.write(r.stdout); process.stderr.write(r.stderr);`);
    expect(r.stderr).toBe('');
    // w holds .git/hooks (mandatory): Landlock cannot deny beneath an allowed path, so
    // new files directly in w (a directory leading to it) are refused (lib/fs/degraded.ts).
    expect(JSON.parse(r.stdout)).toEqual({
      out: 'deny-read\nOTHER\nno-new-file-beside-protected\nsrc-rw\nhooks-ro\nro\ndevnull\n',
      isolation: [],
      landlock: landlockAbi(),
      mode: 'degraded',
    });
  });

  it.skipIf((landlockAbi() === 0 || !isRoot) && !inCI)(`as a user whose user.max_user_namespaces is 0 (inside a test user namespace): the same${landlockAbi() === 0 ? ' (skipped: no Landlock in this kernel)' : isRoot ? '' : ' (skipped: needs root, to set the limit in a user namespace of its own and switch to a user)'}`, () => {
    const inner = join(dir, 'inner.js'); // written by the test above
    const r = runNode(`const r = await nsbind.sandbox()
        .user({ uidMap: [{ inside: 0, outside: 0, count: 65536 }], gidMap: [{ inside: 0, outside: 0, count: 65536 }] })
        .capabilities('all').seccomp('none')
        .run('/bin/sh', ['-c', 'echo 0 > /proc/sys/user/max_user_namespaces && exec setpriv --reuid=65534 --regid=65534 --clear-groups ' + process.execPath + ' ' + ${JSON.stringify(inner)}]);
      process.stdout.write(r.stdout); process.stderr.write(r.stderr);`);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toMatchObject({ isolation: [], landlock: landlockAbi(), mode: 'degraded' });
    expect(JSON.parse(r.stdout).out).toBe('deny-read\nOTHER\nno-new-file-beside-protected\nsrc-rw\nhooks-ro\nro\ndevnull\n');
  });

  it("doctor() says which mode this host gets, and Landlock's ABI", async () => {
    const { doctor } = await import('../../lib/index.js');
    const report = await doctor();
    expect(report.landlock).toMatchObject({ ok: landlockAbi() > 0, abi: landlockAbi() });
    expect(report.mode).toBe(isRoot || report.userns.ok ? 'namespaces' : landlockAbi() > 0 ? 'degraded' : 'none');
  });
});

// Issue 14 in degraded mode: with no user namespace the program has Node's own ids, so the
// kernel's uid checks no longer keep it from Node. Every degraded sandbox is a Landlock
// domain (lib/security/landlock.ts implicitDomain), and Landlock refuses ptrace access
// from inside a domain to any process outside it. The creators are made with nsbind: a
// Node inside a sandbox whose default seccomp refuses CLONE_NEWUSER, as uid 65534 (an
// unprivileged creator) and as host uid 0 without capabilities (root in a container).
describe.runIf((landlockAbi() > 0 || inCI) && hasCommand('cc'))('degraded mode: nothing inside reaches the Node that made it', () => {
  let probe = '';
  let pdir = '';
  escapeProbe('nsbind-degraded-probe-', (d, p) => {
    pdir = d;
    probe = p;
  });
  const HOST0 = '{ uidMap: [{ inside: 0, outside: 0, count: 1 }], gidMap: [{ inside: 0, outside: 0, count: 1 }] }';

  /** The attacks of escape-identity, from a degraded sandbox (bare, or with .files()) against the inner Node. */
  function attacks(creator: 'root' | 'unprivileged', disable?: string): Record<string, Record<string, unknown>> {
    const inner = join(pdir, `attack-${creator}-${disable ?? 'on'}.js`);
    writeFileSync(inner, `const nsbind = require(${JSON.stringify(join(root, 'dist', 'index.js'))});
(async () => {
  const out = {};
  for (const [name, sb] of [['bare', nsbind.sandbox()], ['files', nsbind.sandbox().files({ write: { allow: ['/tmp'] } })]]) {
    const v = {};
    for (const a of ['read-size /proc/PID/environ', 'open-rw /proc/PID/mem', 'vm-readv PID', 'pidfd-getfd PID', 'ptrace PID']) {
      const [cmd, arg] = a.split(' ');
      // An attacker tries again: a refusal can be a passing moment (a root Node is not
      // dumpable while one of its setup children shares its memory), never a wall.
      for (let t = 0; t < 5; t++) {
        const p = sb.spawn(${JSON.stringify(probe)}, [cmd, arg.replace('PID', String(process.pid))], { stdio: ['ignore', 'pipe', 'pipe'] });
        let o = ''; p.stdout.on('data', (b) => (o += b)); p.stderr.on('data', (b) => (o += b));
        await p.exited;
        v[cmd] = o.trim();
        v.isolation = [...p.isolation];
        v.landlock = p.isolation.landlock ?? null;
        if (!v[cmd].startsWith('errno')) break;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    out[name] = v;
  }
  console.log(JSON.stringify({ uid: process.geteuid(), out }));
})().catch((e) => { console.error(e); process.exit(1); });`);
    chmodSync(inner, 0o644);
    const env = disable ? `NSBIND_UNSAFE_TEST_DISABLE: ${JSON.stringify(disable)}` : '';
    const run = `const r = await nsbind.sandbox()${creator === 'root' ? `.user(${HOST0})` : ''}
        .env({ ${env} }).run(process.execPath, [${JSON.stringify(inner)}]);
      process.stdout.write(r.stdout); process.stderr.write(r.stderr);`;
    const r = creator === 'root' ? runNode(run, { timeoutMs: 120_000 }) : runAsNobody(run, 120_000);
    expect(r.stderr).toBe('');
    const res = JSON.parse(r.stdout) as { uid: number; out: Record<string, Record<string, unknown>> };
    // The inner Node is the creator we meant: root (host 0, no capability) or unprivileged (inside-0 of its own namespace).
    expect(res.uid).toBe(0);
    return res.out;
  }

  const refused = { 'read-size': 'errno 13', 'open-rw': 'errno 13', 'vm-readv': 'errno 1', 'pidfd-getfd': 'errno 1', ptrace: 'errno 1' };
  for (const creator of ['root', 'unprivileged'] as const) {
    it.skipIf(creator === 'root' && !isRoot && !inCI)(`${creator}: a degraded sandbox cannot read Node's environ or memory, process_vm_readv, pidfd_getfd or ptrace it; without its Landlock domain it can${creator === 'root' && !isRoot ? ' (skipped: needs root)' : ''}`, () => {
      const on = attacks(creator);
      for (const sb of ['bare', 'files']) {
        expect(on[sb]).toEqual({ ...refused, isolation: [], landlock: landlockAbi() });
      }
      // The protection off: a bare degraded sandbox has no domain, and every attack works.
      const off = attacks(creator, 'degraded-domain');
      expect(off.bare).toMatchObject({ 'open-rw': 'ok', 'vm-readv': 'ok', 'pidfd-getfd': 'ok', ptrace: 'ok', isolation: [], landlock: null });
      // (Node's environ: read as root; the unprivileged inner Node's is refused to the
      // program by something else with or without the domain, so it proves nothing there.)
      if (creator === 'root') expect(Number(off.bare['read-size']), JSON.stringify(off.bare)).toBeGreaterThan(0);
      // .files() brings its own ruleset: still a domain, still refused.
      expect(off.files).toEqual({ ...refused, isolation: [], landlock: landlockAbi() });
    });
  }
});
