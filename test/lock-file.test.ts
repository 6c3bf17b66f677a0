// `.lockFile()` / `--lock-file` (bubblewrap's): a POSIX read lock on a file inside the
// sandbox, held by nsbind's init for the sandbox's life. The oracle is the kernel seen
// from the host: fcntl(F_GETLK/F_SETLK) by a separate program (python3, which node-gyp
// needs anyway) says who holds a lock on the file. flock(1) would not do: flock(2) locks
// and fcntl locks do not see each other on Linux.
import { spawn as spawnChild, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sandbox } from '../lib/index.js';
import { nsbind, MAIN, hasCommand, inCI, invalidOption, isRoot, rejection, runAsNobody } from './helpers/index.js';

const hasPython = hasCommand('python3');
if (inCI && !hasPython) throw new Error('CI must have python3 (node-gyp needs it)');

const tmp = mkdtempSync(join(tmpdir(), 'nsbind-lock-file-'));
chmodSync(tmp, 0o755); // readable by uid 65534 (the runAsNobody case)
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const PROBE = `
import fcntl, struct, sys, os
fmt = "hhqqi"
fd = os.open(sys.argv[1], os.O_RDWR)
mode = sys.argv[2]
if mode == "who":
    r = fcntl.fcntl(fd, fcntl.F_GETLK, struct.pack(fmt, fcntl.F_WRLCK, 0, 0, 0, 0))
    t, _, _, _, pid = struct.unpack(fmt, r)
    print("free" if t == fcntl.F_UNLCK else "held %d %s" % (pid, "read" if t == fcntl.F_RDLCK else "write"))
elif mode == "wait":
    fcntl.fcntl(fd, fcntl.F_SETLKW, struct.pack(fmt, fcntl.F_WRLCK, 0, 0, 0, 0))
    print("taken")
`;

/** Who holds a lock on `path`, as the host sees it: 'free' or 'held PID read'. */
function holder(path: string): string {
  const r = spawnSync('python3', ['-c', PROBE, path, 'who'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout.trim();
}

function lockFile(name: string): string {
  const p = join(tmp, name);
  writeFileSync(p, '');
  chmodSync(p, 0o666);
  return p;
}

describe.skipIf(!hasPython)(`.lockFile()${hasPython ? '' : ' (skipped: needs python3 for fcntl)'}`, () => {
  it('the init holds a read lock while the sandbox runs; free once it has ended', async () => {
    const path = lockFile('api');
    expect(holder(path)).toBe('free');
    const p = sandbox().lockFile(path).spawn('sh', ['-c', 'read x'], { stdio: ['pipe', 'ignore', 'inherit'] });
    await new Promise((r) => p.once('spawn', r));
    // Taken before the program ran, by the sandbox's top process (nsbind's init).
    expect(holder(path)).toBe(`held ${p.pid} read`);
    p.stdin!.end('\n');
    const r = await p.exited;
    expect(r.code).toBe(0);
    expect(holder(path)).toBe('free');
  });

  it('with a pid namespace and a new root: the path is the sandbox\'s view, the holder its PID 1', async () => {
    const path = lockFile('root');
    const p = sandbox().root().roBind('/usr').symlink('usr/bin', '/bin').symlink('usr/lib', '/lib').symlink('usr/lib64', '/lib64')
      .bind(tmp, '/locks').pid().lockFile('/locks/root')
      .spawn('sh', ['-c', 'echo $$; read x'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const [first] = await Promise.all([
      new Promise<string>((r) => p.stdout!.once('data', (d: Buffer) => r(d.toString()))),
      p.pid === undefined ? new Promise((r) => p.once('spawn', r)) : undefined,
    ]);
    expect(first.trim()).toBe('2'); // the program is PID 2: the init, PID 1, holds the lock
    expect(holder(path)).toBe(`held ${p.pid} read`);
    p.stdin!.end('\n');
    await p.exited;
    expect(holder(path)).toBe('free');
  });

  it('the program never gets the lock\'s descriptor', async () => {
    const path = lockFile('fds');
    const r = await sandbox().lockFile(path).run('sh', ['-c', 'for f in /proc/self/fd/*; do readlink $f; done']);
    expect(r.stdout.split('\n')).not.toContain(path);
  });

  it('several lock files, and rebuilt from sb.options', async () => {
    const a = lockFile('a');
    const b = lockFile('b');
    const sb = sandbox(JSON.parse(JSON.stringify(sandbox().lockFile(a).lockFile([b]).options)));
    expect(sb.options.lockFile).toEqual([a, b]);
    const p = sb.spawn('sh', ['-c', 'read x'], { stdio: ['pipe', 'ignore', 'inherit'] });
    await new Promise((r) => p.once('spawn', r));
    expect([holder(a), holder(b)]).toEqual([`held ${p.pid} read`, `held ${p.pid} read`]);
    p.stdin!.end('\n');
    await p.exited;
    expect([holder(a), holder(b)]).toEqual(['free', 'free']);
  });

  it('a missing file fails the step by name; nothing runs', async () => {
    const marker = join(tmp, 'ran');
    const e = await rejection(sandbox().lockFile(join(tmp, 'missing')).run('touch', [marker]));
    expect(e.code).toBe('ENOENT');
    expect(e.step).toBe(`lock file ${join(tmp, 'missing')}`);
    expect(readdirSync(tmp)).not.toContain('ran');
  });

  it('bad input names the option; pid({ init: false }) is refused (no init to hold it)', () => {
    expect(invalidOption(() => sandbox().lockFile('relative/lock'))).toBe('lockFile');
    expect(invalidOption(() => sandbox().lockFile(['/ok', 5 as never]))).toBe('lockFile[1]');
    const path = lockFile('pid1');
    expect(invalidOption(() => sandbox().pid({ init: false }).lockFile(path).spawn('true'))).toBe('lockFile');
  });

  it('released when the Node process is SIGKILLed', async () => {
    const path = lockFile('sigkill');
    const script = `require(${JSON.stringify(join(__dirname, '..', 'dist', 'index.js'))}).sandbox().lockFile(${JSON.stringify(path)})
      .spawn('sleep', ['1000']).on('spawn', () => console.log('up'));`;
    const node = spawnChild(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((r) => node.stdout.once('data', r));
    expect(holder(path)).toMatch(/^held \d+ read$/);
    node.kill('SIGKILL');
    // F_SETLKW waits for the lock: it returns once the sandbox is gone.
    const w = spawnSync('python3', ['-c', PROBE, path, 'wait'], { encoding: 'utf8', timeout: 30_000 });
    expect(w.stdout.trim()).toBe('taken');
  });

  it.skipIf(!isRoot)('as an unprivileged creator (uid 65534), too', () => {
    const path = lockFile('nobody');
    const r = runAsNobody(`
      const p = nsbind.sandbox().lockFile(${JSON.stringify(path)}).spawn('sh', ['-c', 'read x'], { stdio: ['pipe', 'ignore', 'inherit'] });
      await new Promise((r) => p.once('spawn', r));
      const who = require('node:child_process').spawnSync('python3', ['-c', ${JSON.stringify(PROBE)}, ${JSON.stringify(path)}, 'who'], { encoding: 'utf8' }).stdout.trim();
      p.stdin.end('\\n');
      await p.exited;
      const after = require('node:child_process').spawnSync('python3', ['-c', ${JSON.stringify(PROBE)}, ${JSON.stringify(path)}, 'who'], { encoding: 'utf8' }).stdout.trim();
      console.log(JSON.stringify({ who, pid: p.pid, after }));
    `);
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as { who: string; pid: number; after: string };
    expect(out).toEqual({ who: `held ${out.pid} read`, pid: out.pid, after: 'free' });
  });
});

describe.skipIf(!hasPython)('--lock-file (nsbind bwrap, nsbind run)', () => {
  it('bwrap: locked while the command runs, free after; bwrap\'s messages', async () => {
    const path = lockFile('bwrap');
    const child = spawnChild(process.execPath, [MAIN, 'bwrap', '--ro-bind', '/', '/', '--lock-file', path, 'sh', '-c', 'echo up; read x'], { stdio: ['pipe', 'pipe', 'inherit'] });
    await new Promise((r) => child.stdout.once('data', r));
    expect(holder(path)).toMatch(/^held \d+ read$/);
    child.stdin.end('\n');
    expect(await new Promise((r) => child.once('exit', r))).toBe(0);
    expect(holder(path)).toBe('free');

    const missing = nsbind(['bwrap', '--ro-bind', '/', '/', '--lock-file', join(tmp, 'nope'), 'true']);
    expect([missing.status, missing.stderr]).toEqual([1, `bwrap: Unable to open lock file ${join(tmp, 'nope')}: No such file or directory\n`]);
    const pid1 = nsbind(['bwrap', '--ro-bind', '/', '/', '--unshare-pid', '--as-pid-1', '--lock-file', path, 'true']);
    expect([pid1.status, pid1.stderr]).toEqual([1, 'bwrap: Specifying --as-pid-1 and --lock-file is not permitted\n']);
  });

  it('run: --lock-file takes the lock, the sandbox\'s init holds it', async () => {
    const path = lockFile('run');
    const child = spawnChild(process.execPath, [MAIN, 'run', '--pid', '--lock-file', path, '--', 'sh', '-c', 'echo up; read x'], { stdio: ['pipe', 'pipe', 'inherit'] });
    await new Promise((r) => child.stdout.once('data', r));
    const held = holder(path);
    expect(held).toMatch(/^held \d+ read$/);
    const pid = Number(held.split(' ')[1]);
    // The holder is nsbind-init (its command line says so), not the program.
    expect(readlinkSync(`/proc/${pid}/exe`)).not.toBe(readlinkSync('/proc/self/exe'));
    expect(spawnSync('cat', [`/proc/${pid}/comm`], { encoding: 'utf8' }).stdout.trim()).not.toBe('sh');
    child.stdin.end('\n');
    expect(await new Promise((r) => child.once('exit', r))).toBe(0);
    expect(holder(path)).toBe('free');
  });
});
