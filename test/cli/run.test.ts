// `nsbind run`: the acceptance line, exit statuses, signals, --config and
// --json-status-fd, through the built command.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sandbox } from '../../lib/index.js';
import { builderHas, MAIN, nsbind, isRoot, ownNs, root, skipUnless } from '../helpers/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'nsbind-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('nsbind run', () => {
  const hasProc = builderHas('proc');
  it.skipIf(!hasProc)(
    `--user --pid --mount-proc --uts --hostname box --net: box, PID 1 first, only lo${hasProc ? '' : ' (skipped: Sandbox.proc() is not in this build yet)'}`,
    () => {
      const r = nsbind(['run', '--user', '--pid', '--mount-proc', '--uts', '--hostname', 'box', '--net', '--',
        'sh', '-c', 'hostname; ps -o pid,comm; ip -o link']);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const lines = r.stdout.trim().split('\n');
      expect(lines[0]).toBe('box');
      expect(lines[1].trim()).toMatch(/^PID\s+COMMAND$/);
      expect(lines[2].trim()).toMatch(/^1\s/);
      const links = lines.filter((l) => /^\d+: /.test(l));
      expect(links).toHaveLength(1);
      expect(links[0]).toMatch(/^1: lo: /);
    },
  );

  it('the same without --mount-proc: hostname box, the shell is PID 2 under the init, only lo', () => {
    const r = nsbind(['run', '--user', '--pid', '--uts', '--hostname', 'box', '--net', '--',
      'sh', '-c', 'hostname; echo $$; ip -o link; readlink /proc/self/ns/user']);
    expect(r.status).toBe(0);
    const [host, pid, ...rest] = r.stdout.trim().split('\n');
    expect(host).toBe('box');
    expect(pid).toBe('2');
    const links = rest.filter((l) => /^\d+: /.test(l));
    expect(links.map((l) => l.split(':')[1].trim())).toEqual(['lo']);
    expect(links[0]).toContain('UP');
    expect(rest.at(-1)).not.toBe(ownNs('user'));
  });

  it('short forms and clusters as unshare takes them (-Upf, -u, -n)', () => {
    const r = nsbind(['run', '-Upf', '-un', 'sh', '-c', 'for t in user pid uts net ipc; do readlink /proc/self/ns/$t; done']);
    expect(r.status).toBe(0);
    const got = r.stdout.trim().split('\n');
    ['user', 'pid', 'uts', 'net'].forEach((t, i) => expect(got[i], t).not.toBe(ownNs(t)));
    expect(got[4]).toBe(ownNs('ipc'));
  });

  it('runs the command without -- when no argument of it is an nsbind flag', () => {
    const r = nsbind(['run', '--uts', '--hostname', 'nodash', 'sh', '-c', 'hostname; printf "%s\\n" "$*"', 'x', '-n', '--fancy']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('nodash\n-n --fancy\n');
  });

  it('inherits stdio: stdin reaches the program, its output is ours', () => {
    const r = nsbind(['run', '--pid', '--', 'sh', '-c', 'cat; echo err >&2'], { input: 'from stdin\n' });
    expect(r.stdout).toBe('from stdin\n');
    expect(r.stderr).toBe('err\n');
  });

  it('--setenv, --unsetenv, --clearenv in order, and --wd', () => {
    const r = nsbind(['run', '--setenv', 'A', '1', '--clearenv', '--setenv', 'B', '2', '--setenv', 'PATH', '/usr/bin:/bin',
      '--wd', '/usr', '--', 'sh', '-c', 'echo "A=${A-unset} B=$B HOME=${HOME-unset}"; pwd'], { env: { ...process.env, HOME: '/root' } });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('A=unset B=2 HOME=unset\n/usr\n');
    const u = nsbind(['run', '--unsetenv', 'HOME', '--', 'sh', '-c', 'echo ${HOME-unset}'], { env: { ...process.env, HOME: '/root' } });
    expect(u.stdout).toBe('unset\n');
  });

  it('--map-user/--map-group', () => {
    const r = nsbind(['run', '--user', '--map-user', '1000', '--map-group', '1000', '--', 'sh', '-c', 'id -u; id -g']);
    expect(r.stdout).toBe('1000\n1000\n');
  });

  it('--setuid/--setgid', async (ctx) => {
    // Inside, an unprivileged caller's user namespace maps one id (root) unless it has
    // subordinate ranges: setresuid(65534) there is EINVAL, as with unshare and setpriv.
    if (!isRoot) await skipUnless(ctx, 'subuid');
    const s = nsbind(['run', '-S', '65534', '-G', '65534', '--', 'sh', '-c', 'id -u; id -g']);
    expect(s.stdout).toBe('65534\n65534\n');
  });
});

describe.skipIf(!isRoot)('nsbind run without privileges', () => {
  it('--net --uts as nobody: a user namespace is added, root inside, only lo', () => {
    const r = nsbind(['run', '--net', '--uts', '--hostname', 'rootless', '--', 'sh', '-c', 'id -u; hostname; ip -o link | wc -l'],
      { uid: 65534, gid: 65534, cwd: '/', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n').slice(0, 3).map((l) => l.trim())).toEqual(['0', 'rootless', '1']);
  });
});

describe('exit status', () => {
  it("is the program's", () => {
    expect(nsbind(['run', '--', 'sh', '-c', 'exit 3']).status).toBe(3);
    expect(nsbind(['run', '--pid', '--', 'sh', '-c', 'exit 42']).status).toBe(42);
    expect(nsbind(['run', '--', 'true']).status).toBe(0);
  });

  it('is 128+N when the program is killed by signal N (with and without the init)', () => {
    expect(nsbind(['run', '--', 'sh', '-c', 'kill -TERM $$']).status).toBe(143);
    expect(nsbind(['run', '--pid', '--', 'sh', '-c', 'kill -KILL $$']).status).toBe(137);
    expect(nsbind(['run', '--uts', '--', 'sh', '-c', 'kill -USR1 $$']).status).toBe(138);
  });

  it('is 127 when the program is not found, 126 when it cannot be executed', () => {
    const nf = nsbind(['run', '--', '/nonexistent/program']);
    expect(nf.status).toBe(127);
    expect(nf.stderr).toMatch(/execve \/nonexistent\/program.*ENOENT/);
    // (a PATH the program can search: a root caller's program is an unprivileged host id,
    // and a directory it cannot search is EACCES, 126, as execvp says)
    expect(nsbind(['run', '--pid', '--', 'no-such-command-anywhere'], { env: { ...process.env, PATH: '/usr/local/bin:/usr/bin:/bin' } }).status).toBe(127);
    const file = join(tmp, 'not-executable');
    writeFileSync(file, '#!/bin/sh\necho hi\n', { mode: 0o644 });
    const ne = nsbind(['run', '--', file]);
    expect(ne.status).toBe(126);
    expect(ne.stderr).toMatch(/EACCES/);
  });

  it("is 125 for nsbind's own failures, with the message on stderr", () => {
    const r = nsbind(['run', '--wd', '/nonexistent-dir', '--', 'true']);
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/^nsbind: cwd \/nonexistent-dir: openat2: ENOENT/);
  });
});

describe('signals sent to nsbind reach the sandbox', () => {
  for (const [label, flags] of [['without a pid namespace', []], ['through the init', ['--pid']]] as const) {
    for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
      it(`${sig} ${label}`, async () => {
        const short = sig.slice(3);
        const child = spawn(process.execPath, [MAIN, 'run', ...flags, '--', 'sh', '-c',
          `trap 'echo got ${short}; exit 7' ${short}; echo ready; while :; do sleep 0.05; done`], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        await new Promise<void>((resolve) => {
          child.stdout.on('data', (c) => {
            out += c;
            if (out.includes('ready')) resolve();
          });
        });
        child.kill(sig);
        // 'close', not 'exit': the output after the signal may still be unread at 'exit'.
        const status = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
        expect(out).toContain(`got ${short}`);
        expect(status).toBe(7);
      });
    }
  }
});

describe('--config', () => {
  it('runs the sandbox a program designed (sb.options as JSON), and later flags extend it', () => {
    const sb = sandbox().user().uts({ hostname: 'from-config' }).net().env({ FROM_CONFIG: 'yes' });
    const file = join(tmp, 'sb.json');
    writeFileSync(file, JSON.stringify(sb.options));
    const script = 'hostname; echo $FROM_CONFIG; readlink /proc/self/ns/net; readlink /proc/self/ns/user';
    const r = nsbind(['run', '--config', file, '--', 'sh', '-c', script]);
    expect(r.stderr).toBe('');
    const [host, env, net, user] = r.stdout.trim().split('\n');
    expect([host, env]).toEqual(['from-config', 'yes']);
    expect(net).not.toBe(ownNs('net'));
    expect(user).not.toBe(ownNs('user'));

    const x = nsbind(['run', '--config', file, '--hostname', 'override', '--setenv', 'FROM_CONFIG', 'flag', '--', 'sh', '-c', script]);
    const [host2, env2, net2] = x.stdout.trim().split('\n');
    expect([host2, env2]).toEqual(['override', 'flag']);
    expect(net2).not.toBe(ownNs('net')); // still there: flags merge into the config
  });

  it('and back: the options the flags build are what the library rebuilds from JSON', async () => {
    const { parseRun } = (await import(join(root, 'dist', 'cli', 'run.js'))) as typeof import('../../lib/cli/run.js');
    const { sb } = parseRun(['--user', '--map-user', '1000', '--pid', '--uts', '--hostname', 'h', '--net-try', '--setenv', 'K', 'V', '--', 'true']);
    const json = JSON.parse(JSON.stringify(sb.options));
    expect(json).toEqual({
      namespaces: { user: { uidMap: [{ inside: 1000, outside: process.geteuid!(), count: 1 }], setgroups: 'deny' }, pid: {}, uts: { hostname: 'h' }, net: { optional: true } },
      env: { K: 'V' },
    });
    expect(sandbox(json).options).toEqual(sb.options);
    const file = join(tmp, 'back.json');
    writeFileSync(file, JSON.stringify(json));
    const r = nsbind(['run', '--config', file, '--', 'sh', '-c', 'hostname; id -u; echo $K']);
    expect(r.stdout).toBe('h\n1000\nV\n');
  });
});

describe('--json-status-fd', () => {
  it('writes the child pid and isolation, then the ExitResult, as JSON lines', () => {
    const r = nsbind(['run', '--json-status-fd', '3', '--uts', '--', 'sh', '-c', 'sleep 0.3; exit 5'], { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    expect(r.status).toBe(5);
    const lines = String(r.output[3]).trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    expect(lines[0]['child-pid']).toBeGreaterThan(1);
    expect(new Set(lines[0].isolation)).toEqual(new Set(['uts', 'user']));
    expect(lines[0].namespaces.uts.inode).not.toBe(Number(/\d+/.exec(readlinkSync('/proc/self/ns/uts'))![0]));
    expect(lines[1]).toMatchObject({ 'exit-code': 5, code: 5, signal: null, reason: 'exit' });
    expect(lines[1].usage.maxRssBytes).toBeGreaterThan(0);
  });
});

describe('help and version', () => {
  it('--version prints the package version', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    expect(nsbind(['--version']).stdout).toBe(`nsbind ${pkg.version}\n`);
  });
  for (const cmd of ['run', 'exec', 'ls', 'netns', 'doctor']) {
    it(`${cmd} --help`, () => {
      const r = nsbind([cmd, '--help']);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^Usage: nsbind ${cmd}`));
    });
  }
  it('every command\'s --help names every flag it takes (long and short)', () => {
    const load = (m: string) => require(join(root, 'dist', 'cli', `${m}.js`)) as Record<string, { names: string[] }[]>;
    const commands: [string, { names: string[] }[]][] = [
      ['run', load('run-flags').RUN_FLAGS],
      ['exec', load('exec').EXEC_FLAGS],
      ['ls', load('ls').LS_FLAGS],
      ['netns', load('netns').NETNS_FLAGS],
      ['doctor', load('doctor').DOCTOR_FLAGS],
      ['bwrap', load('bwrap').BWRAP_FLAGS],
    ];
    for (const [cmd, flags] of commands) {
      const help = nsbind([cmd, '--help']).stdout;
      expect(flags.length, cmd).toBeGreaterThan(1);
      // A flag counts as listed when it appears as a word: not as part of a longer one.
      const missing = flags.flatMap((f) => f.names).filter((n) => !new RegExp(`(^|[\\s,(\\[/])${n}(?![\\w-])`, 'm').test(help));
      expect(missing, `${cmd} --help`).toEqual([]);
    }
  });

  it('nsbind --help lists the commands', () => {
    const r = nsbind(['--help']);
    expect(r.status).toBe(0);
    for (const cmd of ['run', 'exec', 'ls', 'netns', 'doctor']) expect(r.stdout).toContain(`  ${cmd} `);
  });
});

describe('nsbind run: stdin shared with the program', () => {
  it('a socket on stdin (child_process "pipe") stays blocking: the program reads what comes later', async () => {
    // Node's own process.stdin would set O_NONBLOCK on the shared socket: the program's
    // read then failed with EAGAIN at once (sh's `read` saw end of input).
    const c = spawn(process.execPath, [MAIN, 'run', '--', 'sh', '-c', 'echo ready; read x; echo "got $x"'], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    // Written a moment after the program said it is about to read: that read must block
    // until the line comes, not fail.
    c.stdout.once('data', () => setTimeout(() => c.stdin.end('hello\n'), 300));
    const code = await new Promise((r) => c.once('exit', r));
    expect([code, out]).toEqual([0, 'ready\ngot hello\n']);
  });
});
