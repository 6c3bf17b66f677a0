// Spawning and ending: exit codes, signals, timeouts, aborts, big outputs, setup
// failures, and that nothing is left behind.
import { spawn as cpSpawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, closeSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NsbindError, sandbox } from '../lib/index.js';
import { children, openFds, root, skipUnless } from './helpers/index.js';

describe('exit results', () => {
  it('exit codes', async () => {
    for (const code of [0, 1, 42, 255]) {
      const r = await sandbox().run('sh', ['-c', `exit ${code}`]);
      expect(r).toMatchObject({ code, signal: null, reason: 'exit' });
    }
  });

  it('a signal, without and with a pid namespace', async () => {
    for (const sb of [sandbox(), sandbox().pid()]) {
      const r = await sb.run('sh', ['-c', 'kill -USR1 $$']);
      expect(r).toMatchObject({ code: null, signal: 'SIGUSR1', reason: 'signal' });
    }
  });

  it('usage comes from the kernel\'s rusage of the program', async () => {
    const r = await sandbox().pid().run('sh', ['-c', 'i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done']);
    expect(r.usage.userMs + r.usage.systemMs).toBeGreaterThan(0);
    // With nsbind's init, the program's own peak RSS (a small shell), not Node's.
    expect(r.usage.maxRssBytes).toBeGreaterThan(0);
    expect(r.usage.maxRssBytes).toBeLessThan(32 * 1024 * 1024);
  });

  it('timeout ends the program with killSignal and reason timeout', async () => {
    const r = await sandbox().run('sleep', ['30'], { timeout: 100 });
    expect(r).toMatchObject({ code: null, signal: 'SIGKILL', reason: 'timeout' });
    const t = await sandbox().pid().run('sleep', ['30'], { timeout: 100, killSignal: 'SIGTERM' });
    expect(t).toMatchObject({ signal: 'SIGTERM', reason: 'timeout' });
  });

  it('abort: run() rejects with ABORT_ERR; spawn() resolves with reason aborted', async () => {
    const ac = new AbortController();
    const running = sandbox().run('sleep', ['30'], { signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    await expect(running).rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });
    await expect(sandbox().run('true', [], { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ABORT_ERR' });

    const ac2 = new AbortController();
    const p = sandbox().pid().spawn('sleep', ['30'], { signal: ac2.signal, stdio: 'ignore' });
    p.on('spawn', () => ac2.abort());
    expect(await p.exited).toMatchObject({ reason: 'aborted', signal: 'SIGKILL' });
  });

  it('10 MB on stdout and stderr each, and input on stdin', async () => {
    const size = 10 * 1024 * 1024;
    const r = await sandbox().run('sh', ['-c', `head -c ${size} /dev/zero | tr '\\0' a; head -c ${size} /dev/zero | tr '\\0' b >&2`]);
    expect(r.stdout.length).toBe(size);
    expect(r.stderr.length).toBe(size);
    expect(r.stdout.replaceAll('a', '')).toBe('');
    const input = 'x'.repeat(size);
    const echo = await sandbox().run('cat', [], { input, encoding: 'buffer' });
    expect(Buffer.isBuffer(echo.stdout)).toBe(true);
    expect(echo.stdout.length).toBe(size);
  });

  it('maxBuffer overflow kills the sandbox and rejects', async () => {
    for (const sb of [sandbox(), sandbox().pid()]) {
      await expect(sb.run('sh', ['-c', 'yes'], { maxBuffer: 1024 })).rejects.toMatchObject({
        code: 'ERR_NSBIND_MAX_BUFFER',
        option: 'run.maxBuffer',
      });
    }
  });

  it('spawn(): streams, pid, events and async dispose', async () => {
    const p = sandbox().pid().spawn('cat');
    const spawned = new Promise((r) => p.once('spawn', r));
    let out = '';
    p.stdout!.on('data', (c) => (out += c));
    p.stdin!.end('hello');
    await spawned;
    expect(p.pid).toBeGreaterThan(1);
    const exit = new Promise<unknown[]>((r) => p.once('exit', (...a) => r(a)));
    const res = await p.exited;
    expect(res.code).toBe(0);
    expect((await exit).slice(0, 2)).toEqual([0, null]);
    expect(out).toBe('hello');

    const q = sandbox().pid().spawn('sleep', ['30'], { stdio: 'ignore' });
    await new Promise((r) => q.once('spawn', r));
    await q[Symbol.asyncDispose]();
    expect(existsSync(`/proc/${q.pid}`)).toBe(false);
  });

  it('kill() before the sandbox has started is delivered once it runs', async () => {
    const p = sandbox().spawn('sleep', ['30'], { stdio: 'ignore' });
    expect(p.kill('SIGKILL')).toBe(true);
    expect(await p.exited).toMatchObject({ signal: 'SIGKILL' });
  });

  it('stdio: inherit, ignore, fds and extra pipes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nsbind-'));
    const f = openSync(join(dir, 'out'), 'w');
    const r = await sandbox().run('sh', ['-c', 'echo to-file; echo extra >&3'], { stdio: ['ignore', f, 'pipe', 'pipe'] });
    closeSync(f);
    expect(r.code).toBe(0);
    expect(readFileSync(join(dir, 'out'), 'utf8')).toBe('to-file\n');
    const p = sandbox().spawn('sh', ['-c', 'echo on-three >&3'], { stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
    let three = '';
    p.stdio[3]!.on('data', (c) => (three += c));
    const closed = new Promise((r) => p.stdio[3]!.once('close', r));
    await p.exited;
    await closed;
    expect(three).toBe('on-three\n');
    rmSync(dir, { recursive: true, force: true });
  });

  it('PATH search happens with the sandbox\'s PATH, and argv0 is honoured', async () => {
    const r = await sandbox().env({ PATH: '/nonexistent:/bin' }).run('sh', ['-c', 'echo $0'], { argv0: 'custom-name' });
    expect(r.stdout).toBe('custom-name\n');
    await expect(sandbox().env({ PATH: '/nonexistent' }).run('sh')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('env: inherit by default, set, unset, or start empty', async () => {
    process.env.NSBIND_TEST_INHERITED = 'yes';
    const r = await sandbox().env({ A: '1', NSBIND_TEST_GONE: undefined }).run('sh', ['-c', 'echo $A-$NSBIND_TEST_INHERITED']);
    expect(r.stdout).toBe('1-yes\n');
    const e = await sandbox().env({ ONLY: 'me' }, { inherit: false }).run('/usr/bin/env');
    expect(e.stdout).toBe('ONLY=me\n');
  });

  it('cwd, umask and a new session', async () => {
    const r = await sandbox().cwd('/tmp').umask(0o077).run('sh', ['-c', 'pwd; umask; ps -o sid= -p $$; echo $$']);
    const [cwd, mask, sid, pid] = r.stdout.trim().split('\n').map((s) => s.trim());
    expect(cwd).toBe('/tmp');
    expect(mask).toBe('0077');
    expect(sid).toBe(pid); // session leader: no controlling terminal of the caller's
    const same = await sandbox().newSession(false).run('sh', ['-c', 'ps -o sid= -p $$']);
    expect(Number(same.stdout.trim())).not.toBe(Number(pid));
  });

  it('.as() switches uid/gid/groups after the namespaces are made', async (ctx) => {
    await skipUnless(ctx, 'root'); // supplementary groups: setgroups in the caller's user namespace
    const r = await sandbox().as({ uid: 65534, gid: 65534, groups: [65534] }).run('sh', ['-c', 'id -u; id -g; id -G']);
    expect(r.stdout).toBe('65534\n65534\n65534\n');
  });
});

describe('setup failures', () => {
  it('a missing executable is an NsbindError naming the exec step, with or without an init', async () => {
    for (const sb of [sandbox(), sandbox().pid()]) {
      const e = await sb.run('/no/such/program').catch((x) => x);
      expect(e).toBeInstanceOf(NsbindError);
      expect(e).toMatchObject({ code: 'ENOENT', syscall: 'execve', step: 'execve /no/such/program' });
    }
  });

  it('a directory given as the program is EACCES', async () => {
    const e = await sandbox().run('/tmp').catch((x) => x);
    expect(e).toMatchObject({ code: 'EACCES', syscall: 'execve' });
  });

  it('a failing step is reported by name: cwd that does not exist', async () => {
    const e = await sandbox().cwd('/does/not/exist').run('true').catch((x) => x);
    expect(e).toMatchObject({ code: 'ENOENT', syscall: 'openat2', step: 'cwd /does/not/exist' });
  });

  it('spawn() emits error and rejects exited; no process is left', async () => {
    const before = children().length;
    const p = sandbox().pid().spawn('/no/such/program');
    const err = await new Promise((r) => p.on('error', r));
    expect(err).toBeInstanceOf(NsbindError);
    await expect(p.exited).rejects.toBe(err);
    expect(children().length).toBe(before);
  });

  it('the raw clone() fallback (kernels without clone3) works too', async () => {
    const r = spawnSync(process.execPath, ['-e', `
      const { sandbox } = require(${JSON.stringify(join(root, 'dist/index.js'))});
      sandbox().user().pid().uts({ hostname: 'old' }).run('hostname').then((r) => console.log(r.stdout.trim(), r.code));
    `], { env: { ...process.env, NSBIND_NO_CLONE3: '1' }, encoding: 'utf8' });
    expect(r.stdout.trim()).toBe('old 0');
  });
});

describe('nothing leaks', () => {
  it('200 sandboxes in a row leave fds, children and zombies as they were', async () => {
    // Warm up lazily created fds (the init's O_PATH fd, /dev/null, the loop's own).
    await sandbox().pid().run('true');
    await sandbox().run('true');
    const fds = openFds().length;
    const kids = children().length;
    for (let i = 0; i < 200; i++) {
      const sb = i % 2 ? sandbox().pid().net() : sandbox().user().uts();
      if (i % 20 === 0) await sb.run('/no/such/program').catch(() => {});
      else if (i % 20 === 1) await sb.run('sleep', ['10'], { timeout: 5 });
      else await sb.run('true');
    }
    expect(openFds().length).toBe(fds);
    expect(children().length).toBe(kids);
    expect(children().filter((c) => c.state === 'Z')).toEqual([]);
  });

  it('the child gets exactly stdio: a descriptor Node holds without CLOEXEC is not inherited', async () => {
    // fd 3 of this helper process is inherited from us without CLOEXEC (child_process dup2s it).
    const dir = mkdtempSync(join(tmpdir(), 'nsbind-'));
    writeFileSync(join(dir, 'secret'), 'secret');
    const fd = openSync(join(dir, 'secret'), 'r');
    const r = spawnSync(process.execPath, ['-e', `
      const { sandbox } = require(${JSON.stringify(join(root, 'dist/index.js'))});
      require('fs').fstatSync(3);
      sandbox().run('sh', ['-c', 'ls /proc/self/fd | sort -n | tr "\\\\n" " "; cat <&3']).then((r) => console.log(JSON.stringify(r)));
    `], { stdio: ['ignore', 'pipe', 'pipe', fd], encoding: 'utf8' });
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
    const res = JSON.parse(r.stdout);
    expect(res.stdout.trim()).toBe('0 1 2 3'); // 3 is ls's own directory fd
    expect(res.stderr).toMatch(/3/); // "Bad file descriptor"
  });

  it('SIGKILLing the Node parent kills every sandbox process', async () => {
    const script = `
      const { sandbox } = require(${JSON.stringify(join(root, 'dist/index.js'))});
      const a = sandbox().pid().spawn('sh', ['-c', 'sleep 300 & sleep 300'], { stdio: 'ignore' });
      const b = sandbox().spawn('sleep', ['300'], { stdio: 'ignore' });
      const c = sandbox().user().pid().net().spawn('sleep', ['300'], { stdio: 'ignore' });
      let n = 0;
      for (const p of [a, b, c]) p.on('spawn', () => { if (++n === 3) console.log(JSON.stringify([a.pid, b.pid, c.pid])); });
    `;
    const parent = cpSpawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const line: string = await new Promise((r) => parent.stdout.once('data', (d) => r(String(d))));
    const tops: number[] = JSON.parse(line);
    // Every process of the three sandboxes: the tops and their descendants.
    const all = new Set(tops);
    await new Promise((r) => setTimeout(r, 200));
    for (let round = 0; round < 3; round++) {
      for (const pid of [...all]) {
        try {
          for (const t of readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(' ').filter(Boolean)) all.add(Number(t));
        } catch {
          // gone
        }
      }
    }
    expect(all.size).toBeGreaterThanOrEqual(6);
    parent.kill('SIGKILL');
    await new Promise((r) => parent.once('exit', r));
    const deadline = Date.now() + 10_000;
    let alive: number[] = [];
    do {
      await new Promise((r) => setTimeout(r, 50));
      alive = [...all].filter((pid) => {
        try {
          return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
        } catch {
          return false;
        }
      });
    } while (alive.length && Date.now() < deadline);
    expect(alive).toEqual([]);
  });
});

describe('die with parent', () => {
  it('holds whichever thread spawned: a sandbox started from a worker_thread dies with the Node process', async () => {
    // The worker clones nothing itself: nsbind clones on a threadpool thread that lives
    // as long as the process, so PR_SET_PDEATHSIG fires only when the process dies.
    const script = `
      const { Worker } = require('worker_threads');
      const w = new Worker(\`
        const { parentPort } = require('worker_threads');
        const { sandbox } = require(${JSON.stringify(join(root, 'dist/index.js'))});
        const p = sandbox().spawn('sleep', ['30'], { stdio: 'ignore' });
        p.on('spawn', () => parentPort.postMessage(p.pid));
      \`, { eval: true });
      w.on('message', (pid) => console.log(pid));
    `;
    const parent = cpSpawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const pid = Number(await new Promise((r) => parent.stdout.once('data', (d) => r(String(d)))));
    await new Promise((r) => setTimeout(r, 300));
    expect(existsSync(`/proc/${pid}`)).toBe(true); // the worker thread's own life does not matter
    parent.kill('SIGKILL');
    const deadline = Date.now() + 5000;
    while (existsSync(`/proc/${pid}`) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(existsSync(`/proc/${pid}`)).toBe(false);
  });

  it('a worker_thread that ends takes its running sandboxes with it, leaving no zombie', async () => {
    const { Worker } = await import('node:worker_threads');
    const w = new Worker(`
      const { parentPort } = require('worker_threads');
      const { sandbox } = require(${JSON.stringify(join(root, 'dist/index.js'))});
      const p = sandbox().pid().spawn('sleep', ['30'], { stdio: 'ignore' });
      p.on('spawn', () => parentPort.postMessage(p.pid));
    `, { eval: true });
    const pid: number = await new Promise((r) => w.once('message', r));
    expect(existsSync(`/proc/${pid}`)).toBe(true);
    await w.terminate();
    expect(existsSync(`/proc/${pid}`)).toBe(false);
    expect(children().filter((c) => c.state === 'Z')).toEqual([]);
  });
});
