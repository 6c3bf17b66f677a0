// The CLI flags added so that unshare, nsenter, lsns and bwrap command lines carry over:
// each one's effect seen from inside (or from lsns as the oracle), and the messages for
// mistyped flags.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sandbox } from '../../lib/index.js';
import { MAIN, nsbind, hasCommand, isRoot, until } from '../helpers/index.js';

const dir = mkdtempSync(join(tmpdir(), 'nsbind-cli-dropin-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function ok(args: string[], o: Parameters<typeof nsbind>[1] = {}): string {
  const r = nsbind(['run', ...args], o);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout;
}

describe('nsbind run: flags from unshare, bwrap and nsbind\'s own', () => {
  it('--env VAR=VALUE, --clear-env and --whitelist-env', () => {
    expect(ok(['--env', 'A=1', '--', 'sh', '-c', 'echo $A'])).toBe('1\n');
    expect(ok(['--clear-env', '--env', 'B=2', '--', '/usr/bin/env'])).toBe('B=2\n');
    expect(ok(['--whitelist-env', 'KEEPME,NOTSET', '--', '/usr/bin/env'], { env: { ...process.env, KEEPME: 'k', DROPME: 'd' } })).toBe('KEEPME=k\n');
  });

  it('--argv0', () => {
    expect(ok(['--argv0', 'renamed', '--', 'sh', '-c', 'echo $0'])).toBe('renamed\n');
  });

  it('--timeout: killed, with the reason on stderr', () => {
    const r = nsbind(['run', '--timeout', '0.3', '--', 'sleep', '30']);
    expect(r.status).toBe(137);
    expect(r.stderr).toMatch(/killed after the --timeout of 0\.3 s/);
  });

  it('--rlimit NAME=SOFT[:HARD]', () => {
    expect(ok(['--rlimit', 'nofile=40:50', '--', 'sh', '-c', 'ulimit -Sn; ulimit -Hn'])).toBe('40\n50\n');
    expect(nsbind(['run', '--rlimit', 'bogus=1', '--', 'true']).stderr).toMatch(/--rlimit: rlimits.bogus: unknown resource/);
  });

  it('--seccomp-deny: the named calls fail with EPERM', () => {
    const r = nsbind(['run', '--seccomp-deny', 'mkdirat,mkdir', '--', 'mkdir', join(dir, 'denied')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/Operation not permitted/);
  });

  it('--seccomp FD: a compiled program read from the descriptor', () => {
    // The same filter the library compiles for { deny: ['getpid'] }, as bytes on fd 3.
    const { compileSeccomp } = require('../../dist/security/seccomp.js') as typeof import('../../lib/security/seccomp.js');
    const bpf = join(dir, 'filter.bpf');
    writeFileSync(bpf, compileSeccomp({ deny: ['mkdirat', 'mkdir'], base: 'none' })!);
    const out = execFileSync('sh', ['-c', `'${process.execPath}' '${MAIN}' run --seccomp 3 -- sh -c 'mkdir ${join(dir, 'x')} 2>&1; echo $?' 3<'${bpf}'`], { encoding: 'utf8' });
    expect(out).toMatch(/Operation not permitted\n1\n$/);
  });

  it('--file FD DEST and --ro-bind-data FD DEST in a sandbox-made filesystem', () => {
    const data = join(dir, 'data');
    writeFileSync(data, 'hello\n');
    const out = execFileSync('sh', ['-c', `'${process.execPath}' '${MAIN}' run --mount --tmpfs /mnt --file 3 /mnt/a --ro-bind-data 4 /mnt/b -- sh -c 'cat /mnt/a /mnt/b; stat -c %a /mnt/a /mnt/b; echo x > /mnt/b 2>/dev/null || echo ro' 3<'${data}' 4<'${data}'`], { encoding: 'utf8' });
    expect(out).toBe('hello\nhello\n666\n600\nro\n');
  });

  it('--keep-caps keeps what the user namespace grants', () => {
    expect(ok(['--user', '--keep-caps', '--', 'sh', '-c', 'grep CapEff /proc/self/status']).trim()).not.toMatch(/0000000000000000$/);
    expect(ok(['--user', '--', 'sh', '-c', 'grep CapEff /proc/self/status']).trim()).toMatch(/0000000000000000$/);
  });

  it.skipIf(!hasCommand('unshare'))('--keep-caps: the same capability sets as unshare --user --keep-caps (and without it)', () => {
    const show = ['grep', '^Cap', '/proc/self/status'];
    const theirs = (keep: string[]) => execFileSync('unshare', ['--user', ...keep, ...show], { encoding: 'utf8' });
    expect(ok(['--user', '--keep-caps', '--', ...show])).toBe(theirs(['--keep-caps']));
    // Without it: nothing kept, as with unshare; nsbind also empties the bounding set
    // (its default for a program that keeps no capability), where unshare leaves it full.
    const noBnd = (s: string) => s.split('\n').filter((l) => !l.startsWith('CapBnd')).join('\n');
    expect(noBnd(ok(['--user', '--', ...show]))).toBe(noBnd(theirs([])));
  });

  it('--assert-userns-disabled: user namespaces are refused inside; a --seccomp program that replaces nsbind\'s filter is refused', () => {
    const r = nsbind(['run', '--assert-userns-disabled', '--', 'sh', '-c', 'unshare --user true 2>/dev/null; echo $?']);
    expect([r.status, r.stdout]).toEqual([0, '1\n']);
    const bpf = join(dir, 'allow.bpf');
    const { compileSeccomp } = require('../../dist/security/seccomp.js') as typeof import('../../lib/security/seccomp.js');
    writeFileSync(bpf, compileSeccomp({ deny: ['getpid'], base: 'none' })!);
    const out = spawnSync('sh', ['-c', `'${process.execPath}' '${MAIN}' run --seccomp 3 --assert-userns-disabled -- true 3<'${bpf}'`], { encoding: 'utf8' });
    expect(out.status).toBe(125);
    expect(out.stderr).toMatch(/--assert-userns-disabled: needs the default seccomp filter/);
  });

  it('--bind-data FD DEST: a private writable copy (0600), not the file behind FD', () => {
    const data = join(dir, 'bind-data');
    writeFileSync(data, 'orig\n');
    const out = execFileSync('sh', ['-c', `'${process.execPath}' '${MAIN}' run --mount --tmpfs /mnt --bind-data 3 /mnt/d -- sh -c 'cat /mnt/d; stat -c %a /mnt/d; echo new > /mnt/d; cat /mnt/d; grep -q " /mnt/d " /proc/self/mountinfo && echo mounted' 3<'${data}'`], { encoding: 'utf8' });
    expect(out).toBe('orig\n600\nnew\nmounted\n');
    expect(readFileSync(data, 'utf8')).toBe('orig\n');
  });

  it('--bind-data / --ro-bind-data over a file of the host\'s (as bwrap): the sandbox reads the data, the host file is untouched', () => {
    const data = join(dir, 'hostname-data');
    writeFileSync(data, 'fake\n');
    const before = readFileSync('/etc/hostname', 'utf8');
    const run = (flag: string) => execFileSync('sh', ['-c', `'${process.execPath}' '${MAIN}' run ${flag} 3 /etc/hostname -- sh -c 'cat /etc/hostname; echo changed 2>/dev/null > /etc/hostname && echo written || echo refused' 3<'${data}'`], { encoding: 'utf8' });
    expect(run('--ro-bind-data')).toBe('fake\nrefused\n');
    expect(run('--bind-data')).toBe('fake\nwritten\n');
    expect(readFileSync('/etc/hostname', 'utf8')).toBe(before);
    // A missing destination on the host's filesystem is not created: refused, with the hint.
    const r = spawnSync('sh', ['-c', `'${process.execPath}' '${MAIN}' run --bind-data 3 /nonexistent-nsbind-data -- true 3<'${data}'`], { encoding: 'utf8' });
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/ENOENT[\s\S]*--empty-root/);
  });

  it('--overlay RWSRC WORKDIR DEST: writes land in RWSRC on the host, the sources stay as they were', () => {
    const base = join(dir, 'rw-overlay');
    const [lower, upper, work] = ['lower', 'upper', 'work'].map((d) => join(base, d));
    execFileSync('sh', ['-c', `mkdir -p ${lower} ${upper} ${work}; printf 1 > ${lower}/a; printf 2 > ${lower}/b`]);
    expect(ok(['-r', '--mount', '--tmpfs', '/mnt', '--overlay-src', lower, '--overlay', upper, work, '/mnt/o', '--', 'sh', '-c', 'printf 5 > /mnt/o/b; printf 6 > /mnt/o/c; cat /mnt/o/a /mnt/o/b /mnt/o/c'])).toBe('156');
    expect(['b', 'c'].map((f) => readFileSync(join(upper, f), 'utf8'))).toEqual(['5', '6']);
    expect(readFileSync(join(lower, 'b'), 'utf8')).toBe('2');
    expect(nsbind(['run', '--mount', '--overlay', upper, work, '/mnt', '--', 'true']).stderr).toMatch(/--overlay: needs at least one --overlay-src before it/);
  });

  it('--kill-child accepts SIGKILL only (nsbind\'s parent-death signal)', () => {
    expect(ok(['--kill-child', '--', 'true'])).toBe('');
    expect(ok(['--kill-child=SIGKILL', '--', 'true'])).toBe('');
    expect(nsbind(['run', '--kill-child=SIGTERM', '--', 'true']).stderr).toMatch(/--kill-child: nsbind ends the sandbox with SIGKILL/);
  });

  it.skipIf(!hasCommand('unshare'))('--kill-child: the program ends when nsbind is killed, as with unshare --fork --kill-child', async () => {
    const running = (marker: string) => {
      try {
        return execFileSync('pgrep', ['-f', `^sleep ${marker}`], { encoding: 'utf8' }).trim() || undefined;
      } catch {
        return undefined;
      }
    };
    const base = 800000 + (process.pid % 1000) * 10;
    const lines: [string, string[]][] = [
      ['unshare', ['unshare', '--fork', '--kill-child', 'sleep', String(base + 1)]],
      ['nsbind', [process.execPath, MAIN, 'run', '--kill-child', '--', 'sleep', String(base + 2)]],
    ];
    for (const [who, [cmd, ...args]] of lines) {
      const marker = args[args.length - 1];
      const parent = spawn(cmd, args, { stdio: 'ignore' });
      await until(`${who}'s sleep to run`, () => running(marker));
      parent.kill('SIGKILL');
      await until(`${who}'s sleep to end once ${who} is killed`, () => (running(marker) === undefined ? true : undefined));
    }
  });

  it('--die-with-parent: nsbind and its sandbox end when nsbind\'s parent is killed', async () => {
    const marker = String(900000 + (process.pid % 1000));
    const shell = spawn('sh', ['-c', `'${process.execPath}' '${MAIN}' run --die-with-parent -- sleep ${marker}; echo unreachable`], { stdio: 'ignore' });
    const running = () => {
      try {
        return execFileSync('pgrep', ['-f', `^sleep ${marker}`], { encoding: 'utf8' }).trim() || undefined;
      } catch {
        return undefined;
      }
    };
    await until('the sandboxed sleep to run', running);
    shell.kill('SIGKILL');
    await until('the sandboxed sleep to end', () => (running() === undefined ? true : undefined));
  });

  it('overlays: --overlay-src then --tmp-overlay / --ro-overlay (last source on top)', () => {
    const l1 = join(dir, 'l1');
    const l2 = join(dir, 'l2');
    execFileSync('sh', ['-c', `mkdir -p ${l1} ${l2}; printf 1 > ${l1}/a; printf 2 > ${l1}/b; printf 3 > ${l2}/b`]);
    // -r: as unshare -r, the caller's own id is root inside. Without it a root caller's
    // program is an unprivileged host id (SPEC 2.1) and cannot copy up root's files.
    expect(ok(['-r', '--mount', '--tmpfs', '/mnt', '--overlay-src', l1, '--overlay-src', l2, '--tmp-overlay', '/mnt/o', '--', 'sh', '-c', 'cat /mnt/o/a /mnt/o/b; printf 9 > /mnt/o/b; cat /mnt/o/b'])).toBe('139');
    expect(readFileSync(join(l2, 'b'), 'utf8')).toBe('3');
    expect(ok(['--mount', '--tmpfs', '/mnt', '--overlay-src', l1, '--overlay-src', l2, '--ro-overlay', '/mnt/o', '--', 'sh', '-c', '{ printf 9 > /mnt/o/b; } 2>/dev/null || cat /mnt/o/b'])).toBe('3');
    expect(nsbind(['run', '--overlay-src', l1, '--', 'true']).stderr).toMatch(/--overlay-src: must be followed by --overlay/);
  });

  it('--cap-drop after --cap-add ALL keeps the rest', () => {
    const eff = ok(['--user', '--cap-add', 'ALL', '--cap-drop', 'CAP_KILL', '--', 'sh', '-c', 'grep CapEff /proc/self/status | cut -f2']).trim();
    expect(BigInt(`0x${eff}`) & 0x20n).toBe(0n);
    expect(BigInt(`0x${eff}`) & 0x400n).toBe(0x400n);
    if (isRoot) {
      // An unprivileged creator holds nothing itself, but its user namespace grants them all.
      const r = nsbind(['run', '--user', '--cap-add', 'ALL', '--cap-drop', 'CAP_KILL', '--', 'sh', '-c', 'grep CapEff /proc/self/status | cut -f2'], { uid: 65534, gid: 65534, cwd: '/' });
      expect(r.stderr).toBe('');
      const nobody = BigInt(`0x${r.stdout.trim()}`);
      expect([nobody & 0x20n, nobody & 0x400n]).toEqual([0n, 0x400n]);
    }
  });

  it('--perms takes bwrap\'s 01777 and refuses a second one before the operation', () => {
    expect(ok(['--mount', '--perms', '01777', '--tmpfs', '/mnt', '--', 'stat', '-c', '%a', '/mnt'])).toBe('1777\n');
    expect(nsbind(['run', '--perms', '0700', '--perms', '0700', '--tmpfs', '/mnt', '--', 'true']).stderr).toMatch(/--perms: given twice/);
  });

  it('a bwrap-style line without a root: the error suggests --empty-root / nsbind bwrap', () => {
    for (const args of [['--bind', '/tmp', '/nonexistent-nsbind-dest'], ['--dir', '/nonexistent-nsbind-dir']]) {
      const r = nsbind(['run', ...args, '--', 'true']);
      expect(r.status, args[0]).toBe(125);
      expect(r.stderr, args[0]).toMatch(/unless --empty-root is given \(or run the line as 'nsbind bwrap \.\.\.'\)/);
    }
    // With a root of its own, the same mount point is made and no hint is needed.
    expect(ok(['--empty-root', '--ro-bind', '/usr', '/usr', '--symlink', 'usr/lib', '/lib', '--symlink', 'usr/lib64', '/lib64', '--bind', '/tmp', '/nonexistent-nsbind-dest', '--', '/usr/bin/true'])).toBe('');
  });

  it('OOM: the reason on stderr', { timeout: 60_000 }, (ctx) => {
    const r = nsbind(['run', '--memory', '48M', '--', process.execPath, '-e', 'const a = []; for (;;) a.push(Buffer.alloc(1 << 20, 1))']);
    if (/cgroup|limits need/.test(r.stderr) && r.status === 125) ctx.skip(`no usable cgroup here: ${r.stderr.trim().split('\n')[0]}`);
    expect(r.status).toBe(137);
    expect(r.stderr).toMatch(/killed by the OOM killer: it reached the --memory limit/);
  });
});

describe('nsbind exec: nsenter\'s --env', () => {
  it('the program gets the target\'s environment, not ours', async () => {
    const target = spawn('sleep', ['30'], { env: { PATH: process.env.PATH, FROM_TARGET: 'yes' }, stdio: 'ignore' });
    try {
      await until('the target to run', () => (target.pid ? true : undefined));
      const r = nsbind(['exec', '-t', String(target.pid), '-n', '--env', '--', 'sh', '-c', 'echo "$FROM_TARGET${OURS:-}"'], { env: { ...process.env, OURS: 'leaked' } });
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('yes\n');
    } finally {
      target.kill('SIGKILL');
    }
  });
});

describe('mistyped flags and commands: did you mean', () => {
  it.each([
    [['run', '--ro-bnd', '/', '/', '--', 'true'], "unknown flag --ro-bnd; did you mean --ro-bind?"],
    [['run', '--map-root', '--', 'true'], 'did you mean --map-root-user?'],
    [['run', '-map-root-user', '--', 'true'], 'did you mean --map-root-user?'],
    [['ls', '--jsn'], 'did you mean --json?'],
    [['rn', 'true'], "unknown command 'rn' (run, exec, ls, netns, doctor, bwrap); did you mean run?"],
  ])('%j', (args, message) => {
    const r = nsbind(args);
    expect(r.status).toBe(125);
    expect(r.stderr).toContain(message);
  });

  it('no suggestion for a word far from every flag', () => {
    expect(nsbind(['run', '--xyzzy', '--', 'true']).stderr).toMatch(/^nsbind run: unknown flag --xyzzy\n/);
  });
});

describe.skipIf(!hasCommand('lsns'))('nsbind ls: lsns\'s --output columns', () => {
  it('-o NS,TYPE,PNS,ONS,UID agrees with lsns for user namespaces', () => {
    const cols = 'NS,TYPE,PNS,ONS,UID';
    const theirs = JSON.parse(execFileSync('lsns', ['-J', '-t', 'user', '-o', cols], { encoding: 'utf8' })) as { namespaces: Record<string, unknown>[] };
    const r = nsbind(['ls', '-J', '-t', 'user', '-o', cols]);
    expect(r.stderr).toBe('');
    const mine = JSON.parse(r.stdout) as { namespaces: Record<string, unknown>[] };
    const key = (x: Record<string, unknown>) => JSON.stringify([x.ns, x.type, x.pns, x.ons, Number(x.uid)]);
    // Processes come and go between the two listings; the host's own namespace is stable.
    const host = (l: typeof mine) => l.namespaces.map(key).find((k) => k.startsWith(`[${theirs.namespaces[0].ns},`));
    expect(host(mine)).toBe(host(theirs));
    expect(Object.keys(mine.namespaces[0])).toEqual(['ns', 'type', 'pns', 'ons', 'uid']);
  });

  it('--output-all has lsns\'s columns in lsns\'s order; --tree draws owners', () => {
    const all = nsbind(['ls', '--output-all']).stdout.split('\n')[0].trim().split(/\s+/);
    const theirs = execFileSync('lsns', ['--output-all'], { encoding: 'utf8' }).split('\n')[0].trim().split(/\s+/);
    expect(all).toEqual(theirs);
    const tree = nsbind(['ls', '--tree']).stdout.split('\n');
    expect(tree.some((l) => /^[├└]─\d+/.test(l))).toBe(true);
    expect(nsbind(['ls', '-o', 'NOPE']).stderr).toMatch(/--output: unknown column 'NOPE'/);
  });

  it('NETNSID: the ids the reader\'s network namespace gives others, as lsns prints them; -t net has lsns\'s columns', async () => {
    // Inside a sandbox (its own pid and network namespaces, where it may make a veth): a
    // veth whose peer is in another namespace makes the kernel give that namespace an id.
    const script = `unshare -n sleep 30 & sleep 0.3; ip link add nsa type veth peer name nsb netns $!
      node ${MAIN} ls -r -n -t net -o NS,NETNSID; echo ---; lsns -r -n -t net -o NS,NETNSID; kill $!`;
    const r = await sandbox().all().capabilities('all').seccomp('none').run('sh', ['-c', script]);
    expect(r.stderr).toBe('');
    const [mine, theirs] = r.stdout.split('---\n');
    expect(mine).toBe(theirs);
    // Its own (no id), and the veth peer's: id 0 (in inode order, whichever comes first).
    expect(mine.split('\n').filter(Boolean).map((l) => l.split(' ')[1]).sort()).toEqual(['0', 'unassigned']);
    const header = nsbind(['ls', '-t', 'net']).stdout.split('\n')[0].trim().split(/\s+/);
    expect(header).toEqual(execFileSync('lsns', ['-t', 'net'], { encoding: 'utf8' }).split('\n')[0].trim().split(/\s+/));
  });

  it('-p PID, -n, -r and -l print what lsns prints for a sandbox', async () => {
    // A command with spaces: -r writes them as \x20, as lsns does.
    const p = sandbox().uts().ipc().net().spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      await once(p, 'spawn');
      const args = ['-n', '-r', '-l', '-p', String(p.pid), '-o', 'NS,TYPE,PID,COMMAND'];
      const theirs = execFileSync('lsns', args, { encoding: 'utf8' });
      const r = nsbind(['ls', ...args]);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(theirs);
      expect(r.stdout.split('\n').filter(Boolean)).toHaveLength(8); // one line per type, no header
      expect(r.stdout).toContain(`${p.pid} sleep\\x2030\n`);
      // -T with -l: a tree, as lsns draws it (raw: its branches escaped too).
      const tree = ['-n', '-r', '-l', '-T', '-p', String(p.pid), '-o', 'NS,TYPE'];
      expect(nsbind(['ls', ...tree]).stdout).toBe(execFileSync('lsns', tree, { encoding: 'utf8' }));
      // By parent: only user and pid namespaces nest (lsns orders the roots its own way).
      const byParent = ['-n', '-r', '--tree=parent', '-p', String(p.pid), '-o', 'NS,TYPE'];
      const lines = (s: string) => s.split('\n').filter(Boolean).sort();
      expect(lines(nsbind(['ls', ...byParent]).stdout)).toEqual(lines(execFileSync('lsns', byParent, { encoding: 'utf8' })));
      expect(nsbind(['ls', '-p', 'x']).stderr).toMatch(/^nsbind ls: -p: expected a process id, got 'x'/);
    } finally {
      p.kill('SIGKILL');
      await p.exited;
    }
  });
});
