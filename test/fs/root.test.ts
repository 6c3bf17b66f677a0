// .root() and .chroot(): a minimal root from the host's /usr runs /bin/sh, rootless and
// as root; after .root() the old root is unreachable; destinations resolve inside the
// new root without following symlinks out of it.
import { mkdirSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandbox, Sandbox } from '../../lib/index.js';
import { minimalRoot, scratch, setupError, sh, runAsNobody } from '../helpers/index.js';

let dir: string;
let marker: string;
beforeAll(() => {
  dir = scratch();
  // a host-side marker: visible from the host's root, never from the sandbox's
  marker = `nsbind-marker-${process.pid}`;
  writeFileSync(join(dir, marker), 'host\n');
  // a root directory prepared by the test: empty mount points and a few symlinks
  const r = join(dir, 'rootfs');
  for (const d of ['usr', 'proc', 'dev', 'tmp', 'inside', 'etc']) mkdirSync(join(r, d), { recursive: true });
  symlinkSync('usr/bin', join(r, 'bin'));
  symlinkSync('usr/lib', join(r, 'lib'));
  symlinkSync('usr/lib64', join(r, 'lib64'));
  symlinkSync('/inside', join(r, 'abs-link')); // absolute: means <root>/inside in the sandbox
  symlinkSync('../../../../../../../../tmp', join(r, 'up-link')); // climbs: stays at <root>/tmp
  symlinkSync('/proc/self/root', join(r, 'magic-link'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const MINIMAL_SCRIPT = 'echo hello from $(id -u); ls /; test -e /etc/passwd && echo host-etc-visible; true';

describe('a minimal root from /usr', () => {
  it('runs /bin/sh -c as root', async () => {
    const out = await sh(minimalRoot(sandbox().root()), MINIMAL_SCRIPT);
    expect(out).toBe('hello from 0\nbin\nlib\nlib64\nsbin\nusr\n');
  });

  it('runs /bin/sh -c rootless (uid 65534)', () => {
    const r = runAsNobody(`
      const r = await nsbind.sandbox().root().roBind('/usr').symlink('usr/bin', '/bin').symlink('usr/sbin', '/sbin').symlink('usr/lib', '/lib').symlink('usr/lib64', '/lib64')
        .run('/bin/sh', ['-c', ${JSON.stringify(MINIMAL_SCRIPT)}]);
      process.stdout.write(JSON.stringify(r));`);
    expect(r.stderr).toBe('');
    const res = JSON.parse(r.stdout);
    expect(res).toMatchObject({ code: 0, stdout: 'hello from 0\nbin\nlib\nlib64\nsbin\nusr\n' });
  });

  it('/usr is read-only inside', async () => {
    const out = await sh(minimalRoot(sandbox().root()), 'touch /usr/x 2>&1; true');
    expect(out).toMatch(/Read-only file system/);
  });

  it('steps written before .root() land inside the new root too', async () => {
    const out = await sh(minimalRoot(sandbox().tmpfs('/scratch').root()), 'grep -c " /scratch " /proc/self/mountinfo 2>/dev/null || ls -d /scratch');
    expect(out).toBe('/scratch\n');
  });
});

describe('after .root() the old root is unreachable', () => {
  // PID 1 is nsbind's init, which nothing in the sandbox may look into (SPEC 6): the
  // program's own /proc/self/root is the way in, and /proc/1/root is refused outright.
  it('by path, by .., by /proc/self/root and /proc/1/root, and in mountinfo', async () => {
    const sb = minimalRoot(sandbox().root()).proc().tmpfs('/tmp');
    const out = await sh(
      sb,
      [
        `ls -A /proc/self/root/ | tr "\\n" " "; echo`,
        `cd /../../..; pwd; ls -A | tr "\\n" " "; echo`,
        `cd -P /proc/self/root && cd -P ../.. && ls -A | tr "\\n" " "; echo`,
        `find / -xdev -name '${marker}' 2>/dev/null | wc -l`,
        `ls ${dir} 2>&1 | head -1`,
        // every mount in the namespace is one the sandbox made
        `cut -d' ' -f5 /proc/self/mountinfo | sort | tr "\\n" " "; echo`,
        `ls /proc/1/root/ 2>&1 | head -1`,
      ].join('; '),
    );
    const lines = out.split('\n');
    const rootList = 'bin lib lib64 proc sbin tmp usr ';
    expect(lines[0]).toBe(rootList);
    expect(lines[1]).toBe('/');
    expect(lines[2]).toBe(rootList);
    expect(lines[3]).toBe(rootList);
    expect(lines[4]).toBe('0');
    expect(lines[5]).toMatch(/No such file or directory/);
    expect(lines[6].trim().split(' ')).toEqual(expect.arrayContaining(['/', '/proc', '/tmp', '/usr']));
    expect(lines[6]).not.toMatch(/(^| )\/(sys|dev|boot|home|run)( |$)/);
    expect(lines[7]).toMatch(/Permission denied/);
  });

  it('.root(dir) pivots into a host directory', async () => {
    const sb = sandbox().root(join(dir, 'rootfs')).roBind('/usr').proc();
    const out = await sh(sb, `ls -A / | tr "\\n" " "; echo; ls -A /proc/self/root/ | tr "\\n" " "; echo; cd /..; ls -A | tr "\\n" " "`);
    const list = 'abs-link bin dev etc inside lib lib64 magic-link proc tmp up-link usr ';
    expect(out).toBe(`${list}\n${list}\n${list}`);
  });
});

describe('destinations resolve inside the root', () => {
  it('an absolute symlink is read as the sandbox reads it', async () => {
    const sb = sandbox().root(join(dir, 'rootfs')).roBind('/usr').proc().tmpfs('/abs-link');
    const out = await sh(sb, "grep ' /inside ' /proc/self/mountinfo | cut -d' ' -f8");
    expect(out).toBe('tmpfs\n');
  });

  it('a symlink climbing with .. stays in the root', async () => {
    const sb = sandbox().root(join(dir, 'rootfs')).roBind('/usr').proc().tmpfs('/up-link');
    const out = await sh(sb, "grep ' /tmp ' /proc/self/mountinfo | cut -d' ' -f8");
    expect(out).toBe('tmpfs\n');
  });

  it('a /proc magic link is refused (ELOOP), nothing is mounted', async () => {
    const e = await setupError(sandbox().root(join(dir, 'rootfs')).proc().tmpfs('/magic-link'));
    expect(e).toMatchObject({ step: 'tmpfs /magic-link', syscall: 'openat2', code: 'ELOOP' });
  });

  it('nothing is created in a root(dir) on the host: a missing destination is ENOENT', async () => {
    const e = await setupError(sandbox().root(join(dir, 'rootfs')).tmpfs('/newdir'));
    expect(e).toMatchObject({ step: 'tmpfs /newdir', syscall: 'openat2', code: 'ENOENT' });
    expect(existsSync(join(dir, 'rootfs', 'newdir'))).toBe(false);
  });
});

describe('.chroot(dir)', () => {
  const chrootSb = () => sandbox().chroot(join(dir, 'rootfs')).roBind('/usr').tmpfs('/tmp').dev();

  it('confines the view to dir, cwd /', async () => {
    const out = await sh(chrootSb(), 'pwd; cd /..; ls -A | tr "\\n" " "');
    expect(out).toBe('/\nabs-link bin dev etc inside lib lib64 magic-link proc tmp up-link usr ');
  });

  // The classic escape: chroot into a subdirectory (leaving the cwd outside it), climb
  // with .., chroot("."). Only CAP_SYS_CHROOT allows the inner chroot; dropping it is the
  // security branch's .capabilities(), which is what makes .chroot() hold.
  // Prints 'escaped' when the host's files are reachable after the escape, 'confined'
  // when not, 'refused: <error>' when the inner chroot itself is not allowed.
  const ESCAPE = `perl -e 'mkdir "/tmp/x"; chroot "/tmp/x" or do { print "refused: $!\n"; exit 0 }; chdir ".." for 1..64; chroot "." or die; print -e "${'$'}ARGV[0]" ? "escaped\n" : "confined\n"' `;
  const hasCaps = typeof (Sandbox.prototype as unknown as Record<string, unknown>).capabilities === 'function';

  it("the nested-chroot escape does not reach the host's files (the new root covers the old one's top)", async () => {
    // Even while CAP_SYS_CHROOT is held, '..' from the sandbox's root crosses the old
    // root's top (which the new root is mounted over) without stopping in it.
    const out = await sh(chrootSb(), ESCAPE + join(dir, marker));
    expect(out).toMatch(/^(confined|refused: .*)\n$/);
  });

  it('the nested-chroot escape fails without CAP_SYS_CHROOT', async () => {
    const sb = (chrootSb() as unknown as { capabilities(k: string): Sandbox }).capabilities('none');
    expect(await sh(sb, ESCAPE + join(dir, marker))).toBe('refused: Operation not permitted\n');
  });

  it('the same escape finds nothing after .root(dir)', async () => {
    const sb = sandbox().root(join(dir, 'rootfs')).roBind('/usr').tmpfs('/tmp').dev();
    const out = await sh(sb, ESCAPE + join(dir, marker));
    expect(out).toMatch(/^(confined|refused: .*)\n$/);
  });

  it('the escape check sees the host when it is reachable', async () => {
    // Without any root change the marker is simply there: the check is not blind.
    const out = await sh(sandbox().mount(), `perl -e 'print -e "${'$'}ARGV[0]" ? "escaped\n" : "confined\n"' ${join(dir, marker)}`);
    expect(out).toBe('escaped\n');
  });
});
