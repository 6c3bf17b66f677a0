import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { doctor } from '../../lib/doctor/index.js';
import { namespaceTypes } from '../../lib/namespaces/types.js';
import { distModule, runAsNobody } from '../helpers/index.js';

const sysctl = (name: string): number | undefined => {
  try {
    return Number(readFileSync(`/proc/sys/${name.replace(/\./g, '/')}`, 'utf8'));
  } catch {
    return undefined;
  }
};
const hasProgram = (name: string) => spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
const [major, minor] = execFileSync('uname', ['-r'], { encoding: 'utf8' }).split('.').map(Number);
const atLeast = (a: number, b: number) => major > a || (major === a && minor >= b);

describe('doctor() on this machine', () => {
  it('reports the kernel, namespace types and syscalls that are really there', async () => {
    const r = await doctor();
    expect(r.kernel).toBe(execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim());
    for (const t of namespaceTypes) {
      const want = existsSync(`/proc/self/ns/${t}`) && sysctl(`user.max_${t}_namespaces`) !== 0;
      expect(r.namespaces[t].ok, t).toBe(want);
    }
    // Outside a container that hides them, a new enough kernel has them all.
    if (r.container === undefined) {
      expect(r.clone3.ok).toBe(atLeast(5, 3));
      expect(r.pidfd.ok).toBe(atLeast(5, 3));
      expect(r.openat2.ok).toBe(atLeast(5, 6));
      expect(r.mountSetattr.ok).toBe(atLeast(5, 12));
    }
    expect(r.timens.ok).toBe(existsSync('/proc/self/timens_offsets'));
    expect(r.seccomp.ok).toBe(/^Seccomp:/m.test(readFileSync('/proc/self/status', 'utf8')));
    for (const c of [r.clone3, r.pidfd, r.timens, r.mountSetattr, r.openat2, r.seccomp]) {
      if (!c.ok) expect(c.reason).toBeTruthy();
    }
  });

  it('reports unprivileged user namespaces as the sysctls say', async () => {
    const r = await doctor();
    const refused =
      sysctl('user.max_user_namespaces') === 0 ||
      sysctl('kernel.unprivileged_userns_clone') === 0 ||
      sysctl('kernel.apparmor_restrict_unprivileged_userns') === 1;
    expect(r.userns.ok).toBe(!refused);
    if (!r.userns.ok) expect(r.userns.fix).toMatch(/^sudo sysctl -w /);
  });

  it('for an unprivileged caller too', () => {
    distModule('index');
    const r = runAsNobody(`const report = await nsbind.doctor(); console.log(JSON.stringify(report.userns));`);
    expect(r.stderr).toBe('');
    const refused =
      sysctl('user.max_user_namespaces') === 0 ||
      sysctl('kernel.unprivileged_userns_clone') === 0 ||
      sysctl('kernel.apparmor_restrict_unprivileged_userns') === 1;
    expect(JSON.parse(r.stdout).ok).toBe(!refused);
  });

  // Real refusals, without touching the host: user.max_* limits are per user namespace,
  // so a user namespace made for the test (unshare is an oracle tool here) can lower them.
  const doctorIn = (setup: string) => {
    const script = `require(${JSON.stringify(distModule('index'))}).doctor().then((r) => console.log(JSON.stringify(r)))`;
    return JSON.parse(execFileSync('unshare', ['--user', '--map-root-user', 'sh', '-c', `${setup} "$0" -e "$1"`, process.execPath, script], { encoding: 'utf8' }));
  };

  it('a kernel refusal: user.max_user_namespaces=0', () => {
    const r = doctorIn('echo 0 > /proc/sys/user/max_user_namespaces && exec');
    expect(r.userns).toMatchObject({ ok: false, reason: expect.stringMatching(/user\.max_user_namespaces is 0/), fix: expect.stringMatching(/^sudo sysctl -w user\.max_user_namespaces=/) });
    expect(r.namespaces.user.ok).toBe(false);
    expect(r.namespaces.net.ok).toBe(true);
  });

  it('a refusal no sysctl of ours shows (an enclosing namespace\'s limit) is found by trying', () => {
    const r = doctorIn('echo 1 > /proc/sys/user/max_user_namespaces && exec unshare --user --map-root-user');
    expect(r.namespaces.user.ok).toBe(true);
    expect(r.userns).toMatchObject({ ok: false, reason: expect.stringMatching(/failed here with ENOSPC/) });
  });

  it('reports the cgroup version and our own cgroup directory', async () => {
    const r = await doctor();
    const fstype = execFileSync('stat', ['-f', '-c', '%T', '/sys/fs/cgroup'], { encoding: 'utf8' }).trim();
    const unified = existsSync('/sys/fs/cgroup/unified/cgroup.procs');
    expect(r.cgroup.version).toBe(fstype === 'cgroup2fs' ? 2 : unified ? 'hybrid' : 1);
    const own = readFileSync('/proc/self/cgroup', 'utf8').split('\n');
    const parent = process.env.NSBIND_CGROUP_PARENT;
    if (r.cgroup.version === 2) {
      // Beneath NSBIND_CGROUP_PARENT when set (test:vm's suite), else beside Node.
      expect(r.cgroup.path).toBe(parent || join('/sys/fs/cgroup', own.find((l) => l.startsWith('0::'))!.slice(3)).replace(/\/nsbind-node$/, ''));
    } else {
      const memory = own.find((l) => /^[0-9]+:([^:]*,)?memory(,[^:]*)?:/.test(l))!;
      expect(r.cgroup.path).toBe(join('/sys/fs/cgroup/memory', memory.split(':')[2]));
    }
    expect(existsSync(r.cgroup.path!)).toBe(true);
    // On pure v2 a test worker shares its cgroup with the others: ok only with a parent.
    if (process.getuid?.() === 0 && r.container === undefined && (r.cgroup.version !== 2 || parent)) expect(r.cgroup.ok).toBe(true);
  });

  it('reports newuidmap and the subordinate ids of the current user', async () => {
    const r = await doctor();
    expect(r.newuidmap.ok).toBe(hasProgram('newuidmap') && hasProgram('newgidmap'));
    if (!r.newuidmap.ok) expect(r.newuidmap.fix).toMatch(/install/);
    const me = userInfo().username;
    const lines = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8') : '').split('\n').filter((l) => l.startsWith(`${me}:`) || l.startsWith(`${process.getuid!()}:`));
    expect(r.subuid.uids.map((x) => `${me}:${x.start}:${x.count}`)).toEqual(lines('/etc/subuid').map((l) => `${me}:${l.split(':').slice(1).join(':')}`));
    // Root writes any map directly: no range is no failure for it.
    expect(r.subuid.ok).toBe(process.getuid!() === 0 || (lines('/etc/subuid').length > 0 && lines('/etc/subgid').length > 0));
  });

  it('detects the container it runs in, as systemd-detect-virt does', async (ctx) => {
    const r = await doctor();
    if (hasProgram('systemd-detect-virt')) {
      const out = spawnSync('systemd-detect-virt', ['--container'], { encoding: 'utf8' }).stdout.trim();
      expect(r.container ?? 'none').toBe(out);
    } else if (existsSync('/.dockerenv')) {
      expect(r.container).toBe('docker');
    } else {
      ctx.skip(); // no oracle: neither systemd-detect-virt nor a runtime's mark
    }
    const overmounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => / \/proc\/\S+ /.test(l.split(' - ')[0] ?? '') && !l.includes('binfmt_misc'));
    expect(r.proc.ok).toBe(overmounts.length === 0);
  });
});

describe('doctor() on a simulated machine (fixture root)', () => {
  const roots: string[] = [];
  // The fixtures describe Node's own cgroup; a parent set for this run would override it.
  const savedParent = process.env.NSBIND_CGROUP_PARENT;
  beforeAll(() => {
    delete process.env.NSBIND_CGROUP_PARENT;
  });
  afterAll(() => {
    if (savedParent !== undefined) process.env.NSBIND_CGROUP_PARENT = savedParent;
    for (const r of roots) rmSync(r, { recursive: true, force: true });
  });

  /** A tree like a plain v2 host that allows everything; `files` overrides. */
  function fixture(files: Record<string, string | null> = {}): string {
    const root = mkdtempSync(join(tmpdir(), 'nsbind-doctor-'));
    roots.push(root);
    const base: Record<string, string | null> = {
      '/proc/sys/kernel/osrelease': '6.1.0-test\n',
      '/proc/sys/user/max_user_namespaces': '63000\n',
      '/proc/self/cgroup': '0::/user.slice/app\n',
      '/proc/self/mountinfo': '25 1 0:23 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw\n',
      '/proc/self/timens_offsets': 'monotonic 0 0\n',
      '/sys/fs/cgroup/user.slice/app/cgroup.controllers': 'cpu io memory pids\n',
      '/sys/fs/cgroup/user.slice/app/cgroup.procs': '',
      '/sys/fs/cgroup/user.slice/app/cgroup.type': 'domain\n',
      '/sys/fs/cgroup/user.slice/app/cgroup.subtree_control': '',
      '/etc/subuid': 'alice:100000:65536\n',
      '/etc/subgid': 'alice:100000:65536\n',
      ...Object.fromEntries(namespaceTypes.map((t) => [`/proc/self/ns/${t}`, ''])),
    };
    for (const [p, content] of Object.entries({ ...base, ...files })) {
      if (content === null) continue;
      mkdirSync(dirname(root + p), { recursive: true });
      writeFileSync(root + p, content);
    }
    return root;
  }
  const alice = { name: 'alice', uid: 1000 };

  it('a permissive machine is all ok', async () => {
    const r = await doctor({ root: fixture(), user: alice });
    expect(r.kernel).toBe('6.1.0-test');
    expect(r.userns).toEqual({ ok: true });
    expect(Object.values(r.namespaces).every((c) => c.ok)).toBe(true);
    expect(r.cgroup).toMatchObject({ version: 2, path: '/sys/fs/cgroup/user.slice/app', ok: true, note: expect.stringMatching(/moves it into \/sys\/fs\/cgroup\/user.slice\/app\/nsbind-node/) });
    expect(r.subuid).toEqual({ ok: true, uids: [{ start: 100000, count: 65536 }], gids: [{ start: 100000, count: 65536 }] });
    expect(r.proc.ok).toBe(true);
    expect(r.container).toBeUndefined();
  });

  it('user.max_user_namespaces=0: refused, with the sysctl that allows them', async () => {
    const r = await doctor({ root: fixture({ '/proc/sys/user/max_user_namespaces': '0\n' }) });
    expect(r.userns.ok).toBe(false);
    expect(r.userns.reason).toMatch(/user\.max_user_namespaces is 0/);
    expect(r.userns.fix).toBe("sudo sysctl -w user.max_user_namespaces=15000 && echo 'user.max_user_namespaces=15000' | sudo tee /etc/sysctl.d/60-nsbind-max_user_namespaces.conf");
    expect(r.namespaces.user.ok).toBe(false);
  });

  it('kernel.unprivileged_userns_clone=0 (Debian): refused, with its sysctl', async () => {
    const r = await doctor({ root: fixture({ '/proc/sys/kernel/unprivileged_userns_clone': '0\n' }) });
    expect(r.userns.ok).toBe(false);
    expect(r.userns.reason).toMatch(/kernel\.unprivileged_userns_clone is 0/);
    expect(r.userns.fix).toMatch(/^sudo sysctl -w kernel\.unprivileged_userns_clone=1 /);
    expect(r.namespaces.user.ok).toBe(true); // root may still create them
    const allowed = await doctor({ root: fixture({ '/proc/sys/kernel/unprivileged_userns_clone': '1\n' }) });
    expect(allowed.userns.ok).toBe(true);
  });

  it('kernel.apparmor_restrict_unprivileged_userns=1 (Ubuntu): refused, with the sysctl and the profile', async () => {
    const r = await doctor({ root: fixture({ '/proc/sys/kernel/apparmor_restrict_unprivileged_userns': '1\n' }) });
    expect(r.userns.ok).toBe(false);
    expect(r.userns.reason).toMatch(/AppArmor/);
    expect(r.userns.reason).toMatch(/userns,/);
    expect(r.userns.fix).toMatch(/^sudo sysctl -w kernel\.apparmor_restrict_unprivileged_userns=0 /);
  });

  it('several refusals: every reason and every fix', async () => {
    const r = await doctor({ root: fixture({ '/proc/sys/kernel/unprivileged_userns_clone': '0\n', '/proc/sys/kernel/apparmor_restrict_unprivileged_userns': '1\n' }) });
    expect(r.userns.fix).toMatch(/unprivileged_userns_clone=1 .* && sudo sysctl -w kernel\.apparmor_restrict_unprivileged_userns=0/);
  });

  it('a kernel without time namespaces', async () => {
    const r = await doctor({ root: fixture({ '/proc/self/ns/time': null, '/proc/self/timens_offsets': null }) });
    expect(r.namespaces.time).toMatchObject({ ok: false, fix: expect.stringMatching(/CONFIG_TIME_NS/) });
    expect(r.timens.ok).toBe(false);
    expect(r.namespaces.net.ok).toBe(true);
  });

  it('user namespaces refused by a seccomp profile (EPERM when tried)', async () => {
    const r = await doctor({ root: fixture(), userns: -1 });
    expect(r.userns).toMatchObject({ ok: false, reason: expect.stringMatching(/EPERM: a seccomp profile/), fix: expect.stringMatching(/seccomp=unconfined/) });
  });

  it('syscalls hidden by a seccomp profile (ENOSYS) or refused (EPERM)', async () => {
    const r = await doctor({ root: fixture(), probes: { clone3: -38, openat2: -1 } });
    expect(r.clone3).toMatchObject({ ok: false, reason: expect.stringMatching(/clone3 is not available/) });
    expect(r.openat2).toMatchObject({ ok: false, reason: expect.stringMatching(/EPERM/) });
    expect(r.pidfd.ok).toBe(true);
  });

  it('a kernel without mount_setattr (before 5.12): says what nsbind does instead', async () => {
    const r = await doctor({ root: fixture(), probes: { mount_setattr: -38 } });
    expect(r.mountSetattr).toMatchObject({ ok: false, reason: expect.stringMatching(/5\.12.*mount\(MS_REMOUNT\).*not idmapped/), fix: expect.stringMatching(/5\.12/) });
    expect(r.openat2.ok).toBe(true);
  });

  it('cgroup v2 without the controllers limits need', async () => {
    const r = await doctor({ root: fixture({ '/sys/fs/cgroup/user.slice/app/cgroup.controllers': 'cpu io\n' }), user: { name: 'root', uid: 0 } });
    expect(r.cgroup).toMatchObject({ version: 2, ok: false, reason: expect.stringMatching(/memory, pids are not enabled/) });
    expect(r.cgroup.fix).toBe("echo '+memory +pids' | sudo tee /sys/fs/cgroup/user.slice/cgroup.subtree_control");
  });

  it('cgroup v2: the one check says the truth per layout (alone, shared, root, NSBIND_CGROUP_PARENT)', async () => {
    const app = '/sys/fs/cgroup/user.slice/app';
    const shared = await doctor({ root: fixture({ [`${app}/cgroup.procs`]: `1\n${process.pid}\n` }), user: alice });
    expect(shared.cgroup).toMatchObject({ version: 2, ok: false, reason: expect.stringMatching(/shares its cgroup .* with 1 other process/) });
    expect(shared.cgroup.fix).not.toMatch(/system\.slice|systemd-run/); // no systemd in this tree
    expect(shared.cgroup.reason).not.toMatch(/hint:/); // the way out is the fix, not repeated in the reason
    expect(shared.cgroup.fix).toMatch(/NSBIND_CGROUP_PARENT/);
    const withSystemd = await doctor({ root: fixture({ [`${app}/cgroup.procs`]: '1\n', '/run/systemd/system/.keep': '' }), user: alice });
    expect(withSystemd.cgroup.fix).toMatch(/systemd-run --user --scope -p Delegate=yes/);
    expect(withSystemd.cgroup.fix).toMatch(/NSBIND_CGROUP_PARENT/);
    const threaded = await doctor({ root: fixture({ [`${app}/cgroup.type`]: 'domain threaded\n' }), user: alice });
    expect(threaded.cgroup).toMatchObject({ ok: false, reason: expect.stringMatching(/domain threaded/) });
    const root = await doctor({ root: fixture({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cgroup.controllers': 'cpu memory pids\n', '/sys/fs/cgroup/cgroup.procs': '1\n2\n' }) });
    expect(root.cgroup).toEqual({ version: 2, path: '/sys/fs/cgroup', ok: true });
    try {
      process.env.NSBIND_CGROUP_PARENT = '/sys/fs/cgroup/user.slice/sandboxes';
      const sb = '/sys/fs/cgroup/user.slice/sandboxes';
      const env = await doctor({ root: fixture({ [`${app}/cgroup.procs`]: '1\n', [`${sb}/cgroup.procs`]: '', [`${sb}/cgroup.subtree_control`]: '', [`${sb}/cgroup.controllers`]: 'cpu memory pids\n' }) });
      expect(env.cgroup).toEqual({ version: 2, path: sb, ok: true });
    } finally {
      delete process.env.NSBIND_CGROUP_PARENT;
    }
  });

  it('cgroup v1 and hybrid hierarchies', async () => {
    const v1 = [
      '30 25 0:26 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory',
      '31 25 0:27 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids',
      '32 25 0:28 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct',
    ].join('\n');
    const files = {
      '/proc/self/cgroup': '5:memory:/app\n4:pids:/app\n3:cpu,cpuacct:/app\n0::/\n',
      '/sys/fs/cgroup/memory/app/cgroup.procs': '',
      '/sys/fs/cgroup/pids/app/cgroup.procs': '',
      '/sys/fs/cgroup/cpu,cpuacct/app/cgroup.procs': '',
    };
    const hybrid = await doctor({ root: fixture({ ...files, '/proc/self/mountinfo': `${v1}\n33 25 0:29 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n` }) });
    expect(hybrid.cgroup).toEqual({ version: 'hybrid', path: '/sys/fs/cgroup/memory/app', ok: true });
    const legacy = await doctor({ root: fixture({ ...files, '/proc/self/mountinfo': `${v1}\n` }) });
    expect(legacy.cgroup.version).toBe(1);
    const noPids = await doctor({ root: fixture({ ...files, '/proc/self/mountinfo': `${v1.split('\n').filter((l) => !l.includes('pids')).join('\n')}\n` }) });
    expect(noPids.cgroup).toMatchObject({ ok: false, reason: expect.stringMatching(/pids are not mounted/) });
  });

  it('no subordinate ids: the usermod command that adds them', async () => {
    const r = await doctor({ root: fixture({ '/etc/subgid': 'bob:100000:65536\n' }), user: alice });
    expect(r.subuid).toMatchObject({ ok: false, uids: [{ start: 100000, count: 65536 }], gids: [] });
    expect(r.subuid.reason).toMatch(/\/etc\/subgid/);
    expect(r.subuid.fix).toBe('sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 alice');
  });

  it('root without subordinate ids is not a failure (root writes any map itself)', async () => {
    const r = await doctor({ root: fixture({ '/etc/subuid': '', '/etc/subgid': '' }), user: { name: 'root', uid: 0 } });
    expect(r.subuid).toMatchObject({ ok: true, uids: [], gids: [] });
    expect(r.subuid.note).toMatch(/root needs no ranges/);
    const alone = await doctor({ root: fixture({ '/etc/subuid': '', '/etc/subgid': '' }), user: alice });
    expect(alone.subuid.ok).toBe(false);
  });

  it('systemd-run is suggested only where systemd runs', async () => {
    const locked = { '/proc/self/cgroup': '0::/user.slice/app\n' };
    const unwritable = (extra: Record<string, string>) => doctor({ root: fixture({ ...locked, ...extra }), user: alice });
    // A fixture's files are writable by us (root in CI); make the cgroup unwritable by pointing at a missing one.
    const missing = { '/proc/self/cgroup': '0::/user.slice/gone\n', '/sys/fs/cgroup/user.slice/gone/cgroup.controllers': 'cpu io memory pids\n' };
    const sd = await unwritable({ ...missing, '/run/systemd/system/.keep': '' });
    const plain = await unwritable(missing);
    expect(sd.cgroup.ok).toBe(false);
    expect(plain.cgroup.ok).toBe(false);
    expect(sd.cgroup.fix).toMatch(/systemd-run/);
    expect(plain.cgroup.fix).not.toMatch(/systemd-run/);
    expect(plain.cgroup.fix).toMatch(/NSBIND_CGROUP_PARENT/);  // without systemd: the launcher prepares a delegated parent
  });

  it('newuidmap: missing, with the install command of the distribution', async () => {
    const saved = process.env.PATH;
    try {
      process.env.PATH = '/nonexistent';
      const fedora = await doctor({ root: fixture({ '/etc/os-release': 'NAME=Fedora\nID=fedora\n' }) });
      expect(fedora.newuidmap).toMatchObject({ ok: false, fix: 'sudo dnf install shadow-utils' });
      const debian = await doctor({ root: fixture({ '/etc/os-release': 'ID=ubuntu\nID_LIKE=debian\n' }) });
      expect(debian.newuidmap.fix).toBe('sudo apt-get install uidmap');
      const present = await doctor({ root: fixture({ '/usr/bin/newuidmap': '', '/usr/bin/newgidmap': '' }) });
      expect(present.newuidmap.ok).toBe(false); // not executable
    } finally {
      process.env.PATH = saved;
    }
  });

  it('containers and a masked /proc', async () => {
    const masked = await doctor({
      root: fixture({
        '/run/.containerenv': '',
        '/proc/self/mountinfo':
          '25 1 0:23 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n' +
          '40 22 0:5 /null /proc/kcore rw,nosuid - devtmpfs udev rw\n' +
          '41 22 0:40 / /proc/acpi ro - tmpfs tmpfs ro\n',
      }),
    });
    expect(masked.container).toBe('podman');
    expect(masked.proc).toMatchObject({ ok: false, masked: ['/proc/kcore', '/proc/acpi'], fix: expect.stringMatching(/systempaths=unconfined/) });
    expect((await doctor({ root: fixture({ '/run/systemd/container': 'lxc\n' }) })).container).toBe('lxc');
    expect((await doctor({ root: fixture({ '/proc/1/cgroup': '0::/kubepods/burstable/pod1/abc\n' }) })).container).toBe('kubernetes');
    expect((await doctor({ root: fixture({ '/proc/sys/kernel/osrelease': '5.15.90.1-microsoft-standard-WSL2\n' }) })).container).toBe('wsl');
  });
});
