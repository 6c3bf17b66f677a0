import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { sandbox } from '../lib/sandbox.js';
import { enter } from '../lib/enter.js';
import { namespaces } from '../lib/namespaces/index.js';
import { NsbindError } from '../lib/errors.js';
import { timeEnteredAtExec } from '../lib/fs/kernel.js';
import type { SandboxProcess } from '../lib/process.js';
import { distModule, isRoot, openFds, runAsNobody, skipUnless } from './helpers/index.js';

const types = ['user', 'pid', 'mnt', 'uts', 'ipc', 'net', 'cgroup', 'time'] as const;
const dirs: string[] = [];
const procs: SandboxProcess[] = [];
afterAll(async () => {
  for (const p of procs) p.kill('SIGKILL');
  await Promise.all(procs.map((p) => p.exited.catch(() => {})));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'nsbind-enter-'));
  dirs.push(d);
  return d;
}

/**
 * Wait until the sandbox runs; a setup failure fails the test at once instead of hanging.
 * (Long-running sandboxes here use pipes for stdio: they are made before spawn returns.)
 */
function started(p: SandboxProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    p.once('spawn', () => resolve());
    p.exited.then(() => reject(new Error('exited before it started')), reject);
  });
}

/** Wait for a line on the program's stdout (it tells when it is ready). */
function firstLine(p: SandboxProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    p.stdout!.on('data', (c: Buffer) => {
      buf += c.toString();
      const i = buf.indexOf('\n');
      if (i >= 0) resolve(buf.slice(0, i));
    });
    p.exited.then(() => reject(new Error(`exited before it was ready: ${buf}`)), reject);
  });
}

/**
 * A sandbox about to join namespaces of `first`. Root may join them from its own user
 * namespace; an unprivileged caller holds no capability over them there, and joins the
 * user namespace that owns them first (as `nsenter -U` must).
 */
function joiner(first: SandboxProcess) {
  return isRoot ? sandbox() : sandbox().user({ join: first });
}

function expectInvalid(f: () => unknown, option: string, pattern?: RegExp) {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(NsbindError);
    expect((e as NsbindError).code).toBe('ERR_NSBIND_INVALID');
    expect((e as NsbindError).option).toBe(option);
    if (pattern) expect((e as Error).message).toMatch(pattern);
    return;
  }
  throw new Error('expected ERR_NSBIND_INVALID');
}

describe('enter(sandboxProcess)', () => {
  it('runs beside the first program: same namespaces, hostname, mounts and network', async () => {
    const mnt = tempDir();
    // The first program: root in its own namespaces, mounts a tmpfs (inside its private
    // mount namespace), then serves on 127.0.0.1 of its own network namespace.
    const server = `
      const fs = require('fs');
      require('child_process').execFileSync('mount', ['-t', 'tmpfs', 'nsbind-enter', ${JSON.stringify(mnt)}]);
      fs.writeFileSync(${JSON.stringify(mnt)} + '/marker', 'inside');
      const s = require('net').createServer((c) => c.end('hello from ' + require('os').hostname()));
      s.listen(0, '127.0.0.1', () => console.log(s.address().port));
    `;
    const first = sandbox().all().uts({ hostname: 'box' }).capabilities(['CAP_SYS_ADMIN'])
      .spawn(process.execPath, ['-e', server], { stdio: ['ignore', 'pipe', 'inherit'] });
    procs.push(first);
    const port = Number(await firstLine(first));
    // The program itself (the init's child): its namespaces are the ones to share.
    const program = Number(readFileSync(`/proc/${first.pid}/task/${first.pid}/children`, 'utf8').trim().split(' ')[0]);
    const fdsBefore = openFds().length;

    const probe = `
      const fs = require('fs');
      const out = { ns: {}, hostname: require('os').hostname(), marker: fs.readFileSync(${JSON.stringify(mnt)} + '/marker', 'utf8'),
        mounts: fs.readFileSync('/proc/self/mountinfo', 'utf8') };
      for (const t of ${JSON.stringify(types)}) out.ns[t] = fs.readlinkSync('/proc/self/ns/' + t);
      require('net').connect(${port}, '127.0.0.1').on('data', (d) => { out.reply = String(d); }).on('close', () => console.log(JSON.stringify(out)));
    `;
    const r = await enter(first).run(process.execPath, ['-e', probe]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const seen = JSON.parse(r.stdout);
    for (const t of types) expect(seen.ns[t], t).toBe(readlinkSync(`/proc/${program}/ns/${t}`));
    expect(seen.ns.net).not.toBe(readlinkSync('/proc/self/ns/net'));
    expect(seen.hostname).toBe('box');
    expect(seen.marker).toBe('inside');
    // Same mounts: ids, parents and mount points (a cgroup mount's root field is shown
    // relative to the reader's cgroup namespace, so it differs with who reads).
    // Netns files that concurrent tests pin under /run/netns propagate in (the sandbox's
    // mounts are slaves of the host's) between the two reads: they are not compared.
    const mounts = (text: string) => text.trim().split('\n').map((l) => l.split(' ').filter((_, i) => i === 0 || i === 1 || i === 4).join(' '))
      .filter((l) => !l.split(' ')[2].startsWith('/run/netns/'));
    expect(mounts(seen.mounts)).toEqual(mounts(readFileSync(`/proc/${program}/mountinfo`, 'utf8')));
    expect(seen.mounts).toContain(` ${mnt} `);
    expect(seen.reply).toBe('hello from box');
    expect(openFds().length).toBe(fdsBefore); // the namespace fds were closed
  });

  it('joins only the listed types, and extends like any sandbox', async () => {
    const first = sandbox().user().uts({ hostname: 'box' }).net().spawn('sleep', ['1000'], { stdio: 'pipe' });
    procs.push(first);
    await started(first);
    const r = await enter(first, ['user', 'uts']).env({ GREETING: 'hi' }).run('sh', ['-c', 'echo $GREETING $(hostname) $(readlink /proc/self/ns/net)']);
    expect(r.stdout.trim()).toBe(`hi box ${readlinkSync('/proc/self/ns/net')}`);
    expect(enter(first, ['uts']).options.namespaces).toEqual({ uts: { join: first.pid } });
  });

  it('a veth for a new netns inside a joined user namespace is refused before anything runs (its sandbox end would land on the host)', async () => {
    const first = sandbox().user().net().spawn('sleep', ['1000'], { stdio: 'pipe' });
    procs.push(first);
    await started(first);
    const links = () => readFileSync('/proc/net/dev', 'utf8');
    expect(() => enter(first, ['user']).net({ veth: { name: 'nsbt-in0', peer: 'nsbt-out0' } }).spawn('true')).toThrow(
      expect.objectContaining({ code: 'ERR_NSBIND_INVALID', option: 'net.veth' }),
    );
    expect(links()).not.toContain('nsbt-');
  });

  it('a joined pid namespace holds the program (through one more fork, as nsenter does)', async () => {
    const first = sandbox().pid().spawn('sleep', ['1000'], { stdio: 'pipe' });
    procs.push(first);
    await started(first);
    const r = await joiner(first).pid({ join: first }).run('sh', ['-c', 'echo $$; readlink /proc/self/ns/pid']);
    const [pid, ns] = r.stdout.trim().split('\n');
    expect(ns).toBe(readlinkSync(`/proc/${first.pid}/ns/pid`));
    expect(Number(pid)).toBeGreaterThan(2); // init is 1, sleep 2: a pid of that namespace
    // The first sandbox is unharmed: its init did not kill what shares its namespace.
    expect(first.exitCode).toBe(null);
  });

  it('a joined time namespace (joined by the init, which has memory of its own)', async () => {
    const first = sandbox().pid().time({ boottime: 86400 }).spawn('sleep', ['1000'], { stdio: 'pipe' });
    procs.push(first);
    await started(first);
    const r = await joiner(first).time({ join: first.pid! }).run('sh', ['-c', 'readlink /proc/self/ns/time; cut -d. -f1 /proc/uptime']);
    const [ns, uptime] = r.stdout.trim().split('\n');
    // The program's (before 6.12 the init, first.pid, stays in ours: time_for_children).
    expect(ns).toBe(readlinkSync(`/proc/${first.pid}/ns/time_for_children`));
    const hostUptime = Number(readFileSync('/proc/uptime', 'utf8').split('.')[0]);
    expect(Number(uptime)).toBeGreaterThanOrEqual(hostUptime + 86400 - 5);
  });

  // Before Linux 6.12 an exec does not enter a new time namespace: the sandbox's top
  // process (nsbind-init) stays in its creator's and forks the program into the new one.
  // Entering must join the program's, not the init's (NSBIND_TEST_KERNEL_RELEASE makes
  // this kernel take the old kernels' path).
  it.each([
    ['this kernel', undefined],
    ['the path of kernels before 6.12 (the init forks the program into it)', '6.1.0-57-amd64'],
  ])("enter(p, ['time']) and time({ join: p }) run in the program's time namespace: %s", async (_, rel) => {
    const old = process.env.NSBIND_TEST_KERNEL_RELEASE;
    if (rel) process.env.NSBIND_TEST_KERNEL_RELEASE = rel;
    let first: SandboxProcess;
    try {
      first = sandbox().pid().time({ boottime: 86400 }).spawn('sleep', ['1000'], { stdio: 'pipe' });
    } finally {
      if (old === undefined) delete process.env.NSBIND_TEST_KERNEL_RELEASE;
      else process.env.NSBIND_TEST_KERNEL_RELEASE = old;
    }
    procs.push(first);
    await started(first);
    const program = Number(readFileSync(`/proc/${first.pid}/task/${first.pid}/children`, 'utf8').trim().split(' ')[0]);
    const want = readlinkSync(`/proc/${program}/ns/time`);
    expect(want).not.toBe(readlinkSync('/proc/self/ns/time'));
    // On a kernel before 6.12 the init itself is still in ours (what made enter() join it).
    if (!timeEnteredAtExec(release())) expect(readlinkSync(`/proc/${first.pid}/ns/time`)).toBe(readlinkSync('/proc/self/ns/time'));
    expect(first.namespaces?.time.inode).toBe(Number(/\[(\d+)\]/.exec(want)![1]));
    const script = 'readlink /proc/self/ns/time; cut -d. -f1 /proc/uptime';
    for (const sb of [enter(first, isRoot ? ['time'] : ['user', 'time']), joiner(first).time({ join: first }), joiner(first).time({ join: first.pid! })]) {
      const r = await sb.run('sh', ['-c', script]);
      const [ns, uptime] = r.stdout.trim().split('\n');
      expect(ns).toBe(want);
      const hostUptime = Number(readFileSync('/proc/uptime', 'utf8').split('.')[0]);
      expect(Number(uptime)).toBeGreaterThanOrEqual(hostUptime + 86400 - 5);
    }
  });

  // The same shape on this kernel: a process that unshared a time namespace and has not
  // forked or exec'd since is still in ours; its children (and joiners) get the new one.
  it.skipIf(!isRoot)("joins the time namespace a process's children get (time_for_children), as before 6.12 a sandbox's init", async () => {
    const py = spawn('python3', ['-c', 'import ctypes,sys,time\nassert ctypes.CDLL(None, use_errno=True).unshare(0x80) == 0\nprint("ok", flush=True)\ntime.sleep(1000)'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        py.stdout!.once('data', () => resolve());
        py.once('exit', (code) => reject(new Error(`python3 exited with ${code}`)));
      });
      const want = readlinkSync(`/proc/${py.pid}/ns/time_for_children`);
      expect(readlinkSync(`/proc/${py.pid}/ns/time`)).toBe(readlinkSync('/proc/self/ns/time'));
      expect(want).not.toBe(readlinkSync('/proc/self/ns/time'));
      for (const sb of [enter(py.pid!, ['time']), sandbox().time({ join: py.pid! })]) {
        expect((await sb.run('readlink', ['/proc/self/ns/time'])).stdout.trim()).toBe(want);
      }
    } finally {
      py.kill('SIGKILL');
    }
  });

  it('refuses bad input before anything runs', () => {
    expect(() => enter(4194305)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
    expectInvalid(() => enter('/proc/1/ns/net' as never), 'enter.target', /pid or a SandboxProcess/);
    expectInvalid(() => enter(process.pid, ['net', 'mount' as never]), 'enter.types', /'mnt'/);
    expectInvalid(() => enter({ pid: undefined }), 'enter.target');
    expectInvalid(() => sandbox().net({ join: '/etc/passwd' }), 'net.join', /not a namespace file/);
    expectInvalid(() => sandbox().net({ join: '/proc/self/ns/uts' }), 'net.join', /uts namespace, not net/);
    expectInvalid(() => sandbox().uts({ join: process.pid, hostname: 'x' }), 'uts.hostname', /join/);
    expectInvalid(() => sandbox().mount({ join: 'blue' }), 'mount.join', /only network namespaces/);
    expect(() => sandbox().ipc({ join: 4194305 })).toThrow(expect.objectContaining({ code: 'ESRCH', option: 'ipc.join' }));
    // JSON round trip: a SandboxProcess is stored as its pid.
    const sb = sandbox().net({ join: process.pid });
    expect(sandbox(JSON.parse(JSON.stringify(sb.options))).options).toEqual(sb.options);
  });

  it('works for an unprivileged caller joining a sandbox it created (user namespace first)', () => {
    distModule('index');
    const r = runAsNobody(`
      const { sandbox, enter } = nsbind;
      const first = sandbox().all().uts({ hostname: 'box' }).spawn('sleep', ['1000'], { stdio: 'pipe' });
      await new Promise((r, j) => { first.once('spawn', r); first.exited.catch(j); });
      const fs = require('fs');
      const program = Number(fs.readFileSync('/proc/' + first.pid + '/task/' + first.pid + '/children', 'utf8').trim().split(' ')[0]);
      const types = ['user', 'pid', 'mnt', 'uts', 'ipc', 'net', 'cgroup', 'time'];
      const want = types.map((t) => fs.readlinkSync('/proc/' + program + '/ns/' + t)).join(' ');
      const r = await enter(first).run('sh', ['-c', 'echo $(id -u) $(hostname); for t in ' + types.join(' ') + '; do readlink /proc/self/ns/$t; done']);
      first.kill('SIGKILL'); await first.exited;
      console.log(JSON.stringify({ want, got: r.stdout, err: r.stderr, code: r.code }));
    `);
    expect(r.stderr).toBe('');
    const { want, got, code } = JSON.parse(r.stdout);
    expect(code).toBe(0);
    const [idHost, ...ns] = got.trim().split('\n');
    expect(idHost).toBe('0 box');
    expect(ns.join(' ')).toBe(want);
  });
});

describe('namespaces.persist / release', () => {
  it('a persisted namespace outlives its processes, can be joined, and is gone after release', async (ctx) => {
    await skipUnless(ctx, 'root'); // a bind mount on the host's filesystem, in a mount namespace unshare makes
    const dir = tempDir();
    const file = join(dir, 'net');
    // In a private mount namespace of the test's own (the bind mount never reaches the host).
    const script = `
      const { sandbox, namespaces } = require(${JSON.stringify(distModule('index'))});
      const fs = require('fs');
      (async () => {
        const first = sandbox().net().spawn('sleep', ['1000'], { stdio: 'pipe' });
        await new Promise((r, j) => { first.once('spawn', r); first.exited.then(() => j(new Error('ended early')), j); });
        const inode = namespaces.of(first).net.inode;
        await namespaces.persist(first, 'net', ${JSON.stringify(file)});
        first.kill('SIGKILL'); await first.exited;
        const listed = (await namespaces.list({ type: 'net' })).find((e) => e.inode === inode);
        const joined = await sandbox().net({ join: ${JSON.stringify(file)} }).run('readlink', ['/proc/self/ns/net']);
        await namespaces.release(${JSON.stringify(file)});
        const after = (await namespaces.list({ type: 'net' })).some((e) => e.inode === inode);
        let again; try { await namespaces.release(${JSON.stringify(file)}); } catch (e) { again = e.code; }
        console.log(JSON.stringify({ inode, listed, joined: joined.stdout.trim(), after, exists: fs.existsSync(${JSON.stringify(file)}), again }));
      })().catch((e) => { console.error(e); process.exit(1); });
    `;
    const out = execFileSync('unshare', ['--mount', '--propagation', 'private', process.execPath, '-e', script], { encoding: 'utf8' });
    const r = JSON.parse(out);
    expect(r.listed).toMatchObject({ type: 'net', nprocs: 0, pid: null, paths: [file] });
    expect(r.joined).toBe(`net:[${r.inode}]`);
    expect(r.after).toBe(false);
    expect(r.exists).toBe(false);
    expect(r.again).toBe('ENOENT');
  });

  it('refuses bad input', async () => {
    const dir = tempDir();
    await expect(namespaces.persist(process.pid, 'net', join(dir, 'missing', 'x'))).rejects.toMatchObject({ code: 'ENOENT', option: 'namespaces.persist.path' });
    await expect(namespaces.persist(process.pid, 'mount' as never, join(dir, 'x'))).rejects.toMatchObject({ code: 'ERR_NSBIND_INVALID', option: 'namespaces.persist.type' });
    await expect(namespaces.persist(4194305, 'net', join(dir, 'x'))).rejects.toMatchObject({ code: 'ESRCH' });
    writeFileSync(join(dir, 'plain'), '');
    await expect(namespaces.release(join(dir, 'plain'))).rejects.toMatchObject({ code: 'ERR_NSBIND_INVALID', message: expect.stringMatching(/not a namespace file/) });
    await expect(namespaces.release('/proc/self/ns/net')).rejects.toMatchObject({ code: 'ERR_NSBIND_INVALID', message: expect.stringMatching(/not a bind mount/) });
    expect(readFileSync(join(dir, 'plain'), 'utf8')).toBe(''); // untouched
  });
});
