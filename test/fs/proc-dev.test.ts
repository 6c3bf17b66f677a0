// .proc(): only the sandbox's processes, SPEC 6's masked and read-only paths.
// .dev(): exactly the listed entries; no device can be made.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sandbox, Sandbox } from '../../lib/index.js';
import { sh, isRoot, runAsNobody } from '../helpers/index.js';

describe('proc', () => {
  it('shows only the sandbox processes', async () => {
    const out = await sh(sandbox().proc(), 'echo $$; ls /proc | grep -E "^[0-9]+$"');
    const [self, ...pids] = out.trim().split('\n').map(Number);
    expect(self).toBe(2); // nsbind's init is 1
    // init, the shell, ls and grep: nothing of the host's
    expect(pids.length).toBeLessThanOrEqual(4);
    expect(pids).toContain(1);
    expect(Math.max(...pids)).toBeLessThan(10);
    expect(pids).not.toContain(process.pid);
  });

  it('masked paths read empty', async () => {
    const present = ['kcore', 'keys', 'timer_list', 'sched_debug'].filter((f) => existsSync(`/proc/${f}`));
    expect(present.length).toBeGreaterThan(0);
    const out = await sh(sandbox().proc(), present.map((f) => `wc -c < /proc/${f}`).join('; ') + '; ls -A /proc/acpi 2>/dev/null | wc -l');
    expect(out.trim().split('\n').map(Number)).toEqual([...present.map(() => 0), 0]);
    // What the host shows there is not empty, or (to an unprivileged caller) not readable
    // at all: either way the sandbox's 0 bytes are the mask's.
    if (isRoot) expect(readFileSync('/proc/timer_list', 'utf8').length).toBeGreaterThan(0);
    else expect(() => readFileSync('/proc/timer_list', 'utf8')).toThrow(expect.objectContaining({ code: 'EACCES' }));
  });

  it('/proc/sys, /proc/sysrq-trigger, /proc/irq, /proc/bus are read-only', async () => {
    // In its own UTS namespace, so even a failed check could not rename the host.
    const out = await sh(
      sandbox().uts().proc(),
      "awk '$5 ~ /^\\/proc\\/(sys|sysrq-trigger|irq|bus)$/ {print $5, substr($6,1,2)}' /proc/self/mountinfo | sort; (echo x > /proc/sys/kernel/hostname) 2>&1; cat /proc/sys/kernel/hostname",
    );
    // (a kernel without CONFIG_MAGIC_SYSRQ has no sysrq-trigger: it is skipped)
    const expected = ['bus', 'irq', 'sys', 'sysrq-trigger'].filter((p) => existsSync(`/proc/${p}`)).map((p) => `/proc/${p} ro\n`);
    expect(expected.length).toBeGreaterThanOrEqual(3);
    expect(out).toContain(expected.join(''));
    expect(out).toContain('Read-only file system');
  });

  it('/sys/firmware is masked when /sys is present', async () => {
    const out = await sh(sandbox().proc(), 'ls -A /sys/firmware | wc -l; grep -c " /sys/firmware " /proc/self/mountinfo');
    expect(out).toBe('0\n1\n');
  });
});

const DEV_ENTRIES = ['fd', 'full', 'null', 'ptmx', 'pts', 'random', 'shm', 'stderr', 'stdin', 'stdout', 'tty', 'urandom', 'zero'];

describe('dev', () => {
  it('has exactly the listed entries, working', async () => {
    const out = await sh(
      sandbox().tmpfs('/mnt').dev('/mnt/dev'),
      'ls -A /mnt/dev; echo --; head -c 4 /mnt/dev/urandom | wc -c; echo x > /mnt/dev/null && echo null-ok; readlink /mnt/dev/ptmx /mnt/dev/stdout; touch /mnt/dev/shm/x && echo shm-ok',
    );
    const [entries, rest] = out.split('--\n');
    expect(entries.trim().split('\n')).toEqual(DEV_ENTRIES);
    expect(rest).toBe('4\nnull-ok\npts/ptmx\n/proc/self/fd/1\nshm-ok\n');
  });

  it('the /dev tmpfs is nodev, the device binds are not', async () => {
    const out = await sh(sandbox().tmpfs('/mnt').dev('/mnt/dev'), "grep -E ' /mnt/dev(/null)? ' /proc/self/mountinfo | cut -d' ' -f5,6");
    expect(out).toMatch(/^\/mnt\/dev rw,nosuid,nodev,noexec/m);
    expect(out).toMatch(/^\/mnt\/dev\/null ro?w?,nosuid,noexec/m);
    expect(out).not.toMatch(/^\/mnt\/dev\/null .*nodev/m);
  });

  it('has a private devpts (not the host ptys)', async () => {
    const out = await sh(sandbox().tmpfs('/mnt').dev('/mnt/dev'), 'ls -A /mnt/dev/pts; grep " /mnt/dev/pts " /proc/self/mountinfo');
    expect(out).toMatch(/^ptmx\n/);
    expect(out).toMatch(/devpts .*ptmxmode=666/);
  });

  it('mknod fails (rootless)', () => {
    const r = runAsNobody(`
      const r = await nsbind.sandbox().root().roBind('/usr').symlink('usr/bin', '/bin').symlink('usr/lib', '/lib').symlink('usr/lib64', '/lib64').dev()
        .run('/bin/sh', ['-c', 'ls -A /dev | tr "\\\\n" " "; mknod /dev/sda b 8 0 2>&1 || echo refused']);
      process.stdout.write(JSON.stringify(r));`);
    expect(r.stderr).toBe('');
    const res = JSON.parse(r.stdout);
    expect(res.stdout).toContain(DEV_ENTRIES.join(' '));
    expect(res.stdout).toMatch(/refused/);
  });

  it('mknod fails for root in a user namespace', async () => {
    const out = await sh(sandbox().user().tmpfs('/mnt').dev('/mnt/dev'), 'mknod /mnt/dev/sda b 8 0 2>&1 || echo refused');
    expect(out).toMatch(/refused/);
  });

  const hasCaps = typeof (Sandbox.prototype as unknown as Record<string, unknown>).capabilities === 'function';
  it.skipIf(!isRoot)(
    `mknod fails for real root once capabilities are dropped${isRoot ? '' : ' (skipped: needs root)'}`,
    async () => {
      const out = await sh(sandbox().tmpfs('/mnt').dev('/mnt/dev'), 'mknod /mnt/dev/sda b 8 0 2>&1 || echo refused');
      expect(out).toMatch(/refused/);
    },
  );
});
