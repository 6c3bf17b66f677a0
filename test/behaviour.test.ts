// What each namespace gives the program, asserted from inside it.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { sandbox } from '../lib/index.js';
import { hasCommand } from './helpers/index.js';

describe('namespace behaviour', () => {
  it('.user() maps the caller to root inside', async () => {
    const r = await sandbox().user().run('sh', ['-c', 'id -u; id -g; cat /proc/self/uid_map']);
    const [uid, gid, map] = r.stdout.split('\n');
    expect([uid, gid]).toEqual(['0', '0']);
    const [inside, outside] = map.trim().split(/\s+/);
    expect(inside).toBe('0');
    // An unprivileged caller is root inside; root's inside-root is an unprivileged host id
    // (its /etc/subuid range, else 65534: SPEC 2.1).
    if (process.geteuid!() === 0) expect(outside).not.toBe('0');
    else expect(outside).toBe(String(process.geteuid!()));
  });

  it('.user({ uid: 1000, gid: 1000 }) shows 1000 inside', async () => {
    const r = await sandbox().user({ uid: 1000, gid: 1000 }).run('sh', ['-c', 'id -u; id -g']);
    expect(r.stdout).toBe('1000\n1000\n');
  });

  it('setgroups is allowed for root by default, and deny on request', async () => {
    const allow = await sandbox().user().run('cat', ['/proc/self/setgroups']);
    expect(allow.stdout.trim()).toBe(process.geteuid!() === 0 ? 'allow' : 'deny');
    const deny = await sandbox().user({ setgroups: 'deny' }).run('cat', ['/proc/self/setgroups']);
    expect(deny.stdout.trim()).toBe('deny');
  });

  it('.pid(): the program is PID 2 under nsbind-init, and sees only the sandbox', async () => {
    // mounting /proc inside needs CAP_SYS_ADMIN, which the program does not keep by default
    const r = await sandbox().pid().mount().capabilities(['CAP_SYS_ADMIN']).run('sh', ['-c', 'echo $$; echo $PPID; mount -t proc proc /proc && ls /proc | grep -E "^[0-9]+$" | sort -n | tr "\\n" " "; echo; cat /proc/1/comm']);
    const [self, ppid, pids, comm1] = r.stdout.split('\n');
    expect(self).toBe('2');
    expect(ppid).toBe('1');
    expect(pids.trim().split(' ').map(Number).every((p) => p <= 10)).toBe(true);
    expect(comm1).toBe('nsbind-init');
  });

  it('.pid({ init: false }): the program itself is PID 1', async () => {
    const r = await sandbox().pid({ init: false }).run('sh', ['-c', 'echo $$']);
    expect(r.stdout).toBe('1\n');
  });

  it('the init reaps an orphaned grandchild', async () => {
    // The grandchild outlives its parent; the init must reap it (no zombie in the ns).
    const r = await sandbox().pid().mount().capabilities(['CAP_SYS_ADMIN']).run('sh', ['-c',
      '(sleep 0.3 &) ; sleep 0.6; mount -t proc proc /proc; grep -l "^State:.*Z" /proc/[0-9]*/status | wc -l']);
    expect(r.stdout.trim()).toBe('0');
  });

  it('SIGTERM sent to the sandbox reaches the program (forwarded by the init)', async () => {
    const p = sandbox().pid().spawn('sh', ['-c', 'trap "echo got-term; exit 7" TERM; echo ready; while :; do sleep 0.05; done']);
    let out = '';
    p.stdout!.on('data', (c) => {
      out += c;
      if (out.includes('ready')) p.kill('SIGTERM');
    });
    const r = await p.exited;
    expect(out).toContain('got-term');
    expect(r).toMatchObject({ code: 7, signal: null, reason: 'exit' });
  });

  it('the program killed by a signal is reported as that signal, through the init', async () => {
    const r = await sandbox().pid().run('sh', ['-c', 'kill -SEGV $$']);
    expect(r).toMatchObject({ code: null, signal: 'SIGSEGV', reason: 'signal' });
  });

  it('when the program exits, the init kills what is left', async () => {
    const r = await sandbox().pid().run('sh', ['-c', 'sleep 100 & echo started'], { timeout: 20_000 });
    expect(r).toMatchObject({ code: 0, reason: 'exit', stdout: 'started\n' });
  });

  it('.uts({ hostname }) shows the name inside; the host keeps its own', async () => {
    const before = hostname();
    const r = await sandbox().uts({ hostname: 'box', domainname: 'example.test' }).run('sh', ['-c', 'hostname; cat /proc/sys/kernel/domainname']);
    expect(r.stdout).toBe('box\nexample.test\n');
    expect(hostname()).toBe(before);
    expect(readFileSync('/proc/sys/kernel/hostname', 'utf8').trim()).toBe(before);
  });

  it.skipIf(!hasCommand('ip'))('.net() has only lo, and it is up', async () => {
    const r = await sandbox().net().run('ip', ['-o', 'link']);
    const links = r.stdout.trim().split('\n');
    expect(links).toHaveLength(1);
    expect(links[0]).toMatch(/^1: lo: <LOOPBACK,UP,LOWER_UP>/);
    const down = await sandbox().net({ loopback: false }).run('ip', ['-o', 'link']);
    expect(down.stdout).not.toMatch(/UP/);
  });

  it('.time({ monotonic: 86400 }) shifts CLOCK_MONOTONIC by a day inside', async () => {
    const { monotonic } = await import('./fixtures/clock.js');
    const inside = await sandbox().time({ monotonic: 86400, boottime: -1 }).run('cat', ['/proc/uptime']);
    const outside = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    // /proc/uptime follows CLOCK_BOOTTIME: shifted back by 1 s.
    expect(Number(inside.stdout.split(' ')[0])).toBeLessThan(outside);
    const r = await sandbox().time({ monotonic: 86400 }).run(process.execPath, ['-e', monotonic]);
    const shifted = Number(r.stdout);
    const host = Number(require('node:child_process').execFileSync(process.execPath, ['-e', monotonic], { encoding: 'utf8' }));
    expect(shifted - host).toBeGreaterThan(86400 - 60);
    expect(shifted - host).toBeLessThan(86400 + 60);
  });

  it('.ipc() hides the host\'s System V IPC objects', async () => {
    const r = await sandbox().ipc().run('cat', ['/proc/sysvipc/shm']);
    expect(r.stdout.trim().split('\n')).toHaveLength(1); // header only
  });

  it('.cgroup() roots the program\'s cgroup view at its own cgroup', async () => {
    const r = await sandbox().cgroup().run('cat', ['/proc/self/cgroup']);
    for (const line of r.stdout.trim().split('\n')) expect(line).toMatch(/:\/$/);
  });
});
