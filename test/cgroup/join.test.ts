// `.joinCgroup(pid)` / `nsbind exec --join-cgroup` (nsenter -c). Every target is a
// sandbox this test creates with limits (its own cgroup beneath this process's); nothing
// else is ever moved. The oracle is the kernel (the joined program's /proc/self/cgroup
// against the target's /proc/PID/cgroup) and, where it can be (pure v2 and a util-linux
// with --join-cgroup), nsenter itself.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { currentLayout } from '../../lib/cgroup/sandbox-cgroup.js';
import { joinProcsFiles } from '../../lib/cgroup/join.js';
import { enter, sandbox, type SandboxProcess } from '../../lib/index.js';
import { invalidOption, nsbind, rejection, requires } from '../helpers/index.js';

const HYBRID_MOUNTS = [
  '30 25 0:26 / /sys/fs/cgroup rw,nosuid - tmpfs tmpfs rw,mode=755',
  '31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw',
  '32 30 0:28 / /sys/fs/cgroup/systemd rw,nosuid - cgroup cgroup rw,xattr,name=systemd',
  '33 30 0:29 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory',
  '34 30 0:30 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct',
  '35 30 0:31 / /sys/fs/cgroup/pids rw,nosuid - cgroup cgroup rw,pids',
].join('\n');

describe('joinProcsFiles: which cgroup.procs files put a process where the target is', () => {
  it('hybrid: every hierarchy the target is elsewhere in (controllers, named, unified); none where it is where we are', () => {
    const own = '5:pids:/user.slice\n4:cpu,cpuacct:/\n3:memory:/user.slice\n1:name=systemd:/user.slice/s\n0::/user.slice/s';
    const target = '5:pids:/user.slice/box\n4:cpu,cpuacct:/\n3:memory:/user.slice/box\n1:name=systemd:/user.slice/t\n0::/user.slice/t';
    expect(joinProcsFiles(HYBRID_MOUNTS, own, target, 42)).toEqual([
      '/sys/fs/cgroup/pids/user.slice/box/cgroup.procs',
      '/sys/fs/cgroup/memory/user.slice/box/cgroup.procs',
      '/sys/fs/cgroup/systemd/user.slice/t/cgroup.procs',
      '/sys/fs/cgroup/unified/user.slice/t/cgroup.procs',
    ]);
    expect(joinProcsFiles(HYBRID_MOUNTS, own, own, 42)).toEqual([]);
  });

  it('pure v2: the one unified cgroup, through a mount of a sub-tree too', () => {
    const mounts = '40 30 0:27 /user.slice /sys/fs/cgroup rw - cgroup2 cgroup2 rw';
    expect(joinProcsFiles(mounts, '0::/user.slice/me', '0::/user.slice/box/leaf', 7)).toEqual(['/sys/fs/cgroup/box/leaf/cgroup.procs']);
  });

  it('refuses a target outside our cgroup namespace, or in a hierarchy not mounted here, naming the option', () => {
    expect(invalidOption(() => joinProcsFiles(HYBRID_MOUNTS, '0::/a', '0::/../other', 7), /outside this process's cgroup namespace/)).toBe('joinCgroup');
    expect(invalidOption(() => joinProcsFiles(HYBRID_MOUNTS, '6:blkio:/', '6:blkio:/box', 7), /blkio hierarchy .* is not mounted/)).toBe('joinCgroup');
  });
});

describe('.joinCgroup(): input', () => {
  it('a pid or a running SandboxProcess; anything else names the option', () => {
    expect(sandbox().joinCgroup(5).options.joinCgroup).toBe(5);
    expect(sandbox().joinCgroup({ pid: 9 }).options.joinCgroup).toBe(9);
    expect(invalidOption(() => sandbox().joinCgroup(0))).toBe('joinCgroup');
    expect(invalidOption(() => sandbox().joinCgroup('1' as never))).toBe('joinCgroup');
    expect(invalidOption(() => sandbox().joinCgroup({} as never))).toBe('joinCgroup');
    expect(invalidOption(() => sandbox().joinCgroup(process.pid).limits({ pids: 10 }).spawn('true'))).toBe('joinCgroup');
  });

  it('a pid that is gone: a typed error naming the option, nothing runs', async () => {
    const e = await rejection(sandbox().joinCgroup(2 ** 22 + 1).run('true'));
    expect(e.option).toBe('joinCgroup');
    expect(e.code).toBe('ENOENT');
  });
});

describe('joining a sandbox\'s cgroup', () => {
  requires('cgroup');

  /** A sandbox with limits (its own cgroup) that waits on stdin. */
  async function target(memory = '64M'): Promise<SandboxProcess> {
    const p = sandbox().pid().limits({ memory, pids: 64 }).spawn('sh', ['-c', 'read x'], { stdio: ['pipe', 'ignore', 'inherit'] });
    await new Promise((r) => p.once('spawn', r));
    return p;
  }

  it('nsbind exec --join-cgroup -t PID: the program\'s cgroups are the target\'s, in every hierarchy; the target lives on', async () => {
    const box = await target();
    try {
      const theirs = readFileSync(`/proc/${box.pid}/cgroup`, 'utf8');
      expect(theirs).not.toBe(readFileSync('/proc/self/cgroup', 'utf8'));
      const r = nsbind(['exec', '--join-cgroup', '-t', String(box.pid), '--uts', '--', 'cat', '/proc/self/cgroup']);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(theirs);
      // Without the flag the program stays where nsbind is.
      const plain = nsbind(['exec', '-t', String(box.pid), '--uts', '--', 'cat', '/proc/self/cgroup']);
      expect(plain.stdout).not.toBe(theirs);
      // The joined program's end killed nothing of the target's cgroup.
      expect(box.exitCode).toBe(null);
      expect(readFileSync(`/proc/${box.pid}/cgroup`, 'utf8')).toBe(theirs);
    } finally {
      box.stdin!.end('\n');
    }
    expect((await box.exited).code).toBe(0);
  });

  it('the target\'s memory limit applies to the joined process (the OOM killer ends it, not Node, not the target)', async () => {
    const box = await target('48M');
    try {
      // 128 MiB, touched: beyond the target's 48M, well within this machine's memory.
      const hog = ['-e', 'const a = []; for (let i = 0; i < 16; i++) a.push(Buffer.alloc(8 << 20, 1))'];
      const control = await enter(box, ['uts']).run(process.execPath, hog);
      expect([control.code, control.signal]).toEqual([0, null]);
      const r = await enter(box, ['uts']).joinCgroup(box).run(process.execPath, hog);
      expect(r.signal).toBe('SIGKILL');
      expect(box.exitCode).toBe(null);
    } finally {
      box.stdin!.end('\n');
    }
    expect((await box.exited).code).toBe(0);
  });

  it('nsenter --join-cgroup agrees, where it can run (cgroup v2, util-linux >= 2.40)', async (ctx) => {
    const nsenterHas = /--join-cgroup/.test(spawnSync('nsenter', ['--help'], { encoding: 'utf8' }).stdout ?? '');
    const v2 = currentLayout().kind === 'v2';
    if (!nsenterHas || !v2) {
      ctx.skip(`${!v2 ? `cgroup ${currentLayout().kind} host: nsenter refuses --join-cgroup off pure v2` : 'this nsenter has no --join-cgroup (util-linux < 2.40)'}; the kernel's /proc/PID/cgroup is the oracle above`);
    }
    const box = await target();
    try {
      const theirs = spawnSync('nsenter', ['--join-cgroup', '-t', String(box.pid), '-u', 'cat', '/proc/self/cgroup'], { encoding: 'utf8' }).stdout;
      const ours = nsbind(['exec', '--join-cgroup', '-t', String(box.pid), '--uts', '--', 'cat', '/proc/self/cgroup']).stdout;
      expect(ours).toBe(theirs);
    } finally {
      box.stdin!.end('\n');
    }
    await box.exited;
  });

  it('--join-cgroup without --target: a usage error', () => {
    const r = nsbind(['exec', '--join-cgroup', '--net=/proc/self/ns/net', '--', 'true']);
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/--join-cgroup: needs --target PID/);
  });
});
