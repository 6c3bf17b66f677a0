// Filesystem steps on kernels older than this one: which interface TypeScript picks from
// the release, and the older kernels' path run here (NSBIND_TEST_KERNEL_RELEASE pretends)
// and asserted from inside. The real 6.1 kernel runs them in `npm run test:vm`.
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sandbox } from '../../lib/index.js';
import { atLeast, kernelVersion, noDetachedClone, overlayByPath, timeEnteredAtExec } from '../../lib/fs/kernel.js';
import { minimalRoot, scratch, sh } from '../helpers/index.js';

describe('kernel release -> interface', () => {
  it('parses releases as uname -r prints them', () => {
    expect(kernelVersion('6.1.0-57-amd64')).toEqual([6, 1]);
    expect(kernelVersion('5.15.0-91-generic')).toEqual([5, 15]);
    expect(kernelVersion('6.18.44-fc-v1272')).toEqual([6, 18]);
    expect(kernelVersion('garbage')).toEqual([0, 0]);
    expect(atLeast('6.8.0', 6, 8)).toBe(true);
    expect(atLeast('6.7.12', 6, 8)).toBe(false);
    expect(atLeast('7.0.0', 6, 8)).toBe(true);
  });

  it('the program enters a time namespace at exec from 6.12; before, the init forks it', () => {
    expect(timeEnteredAtExec('6.1.0-57-amd64')).toBe(false);
    expect(timeEnteredAtExec('5.15.0-91-generic')).toBe(false);
    expect(timeEnteredAtExec('6.12.9')).toBe(true);
    expect(timeEnteredAtExec('6.18.44-fc-v1272')).toBe(true);
  });

  it('overlay layers by descriptor from 6.8, as /proc/self/fd paths before (and when unknown)', () => {
    for (const rel of ['6.1.0-57-amd64', '5.15.0-91-generic', '5.14.0-362.el9.x86_64', '6.7.0', 'weird']) expect(overlayByPath(rel)).toBe(true);
    for (const rel of ['6.8.0-31-generic', '6.12.9', '6.18.44-fc-v1272']) expect(overlayByPath(rel)).toBe(false);
  });

  it('a masked file\'s empty file is cloned from a detached tmpfs from 6.15, by attaching it over the root before', () => {
    for (const rel of ['6.1.0-57-amd64', '5.15.0-91-generic', '6.14.2', 'weird']) expect(noDetachedClone(rel)).toBe(true);
    for (const rel of ['6.15.0', '6.18.44-fc-v1272', '7.0.0']) expect(noDetachedClone(rel)).toBe(false);
  });
});

const root = process.getuid?.() === 0;
describe.skipIf(!root)(`overlay the way kernels before 6.8 get it${root ? '' : ' (skipped: needs root)'}`, () => {
  let dir: string;
  beforeAll(() => {
    dir = scratch();
    for (const d of ['lower', 'upper', 'work']) mkdirSync(join(dir, d));
    // A root caller's program runs as an unprivileged host id (SPEC 2.1) and overlay layers
    // are not idmapped: the upper and work layers must be writable by that id.
    chmodSync(dir, 0o755);
    chmodSync(join(dir, 'upper'), 0o777);
    chmodSync(join(dir, 'work'), 0o777);
    writeFileSync(join(dir, 'lower', 'base.txt'), 'base\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(() => {
    delete process.env.NSBIND_TEST_KERNEL_RELEASE;
  });

  it('with an upper layer: reads the lower one, writes land in the upper one', async () => {
    process.env.NSBIND_TEST_KERNEL_RELEASE = '6.1.0-57-amd64';
    const sb = sandbox().overlay('/mnt', { lower: [join(dir, 'lower')], upper: join(dir, 'upper'), work: join(dir, 'work') });
    const out = await sh(sb, 'cat /mnt/base.txt; echo new > /mnt/new.txt; grep " /mnt " /proc/self/mountinfo');
    expect(out).toContain('base');
    // The layers went in as option strings naming our descriptors, not by fd.
    expect(out).toMatch(/lowerdir=\/proc\/self\/fd\/\d+,upperdir=\/proc\/self\/fd\/\d+,workdir=\/proc\/self\/fd\/\d+/);
    expect(readFileSync(join(dir, 'upper', 'new.txt'), 'utf8')).toBe('new\n');
  });

  it('without one: a tmpfs holds the writes, and two lower layers stack top-most first', async () => {
    process.env.NSBIND_TEST_KERNEL_RELEASE = '5.15.0-91-generic';
    mkdirSync(join(dir, 'top'), { recursive: true });
    writeFileSync(join(dir, 'top', 'base.txt'), 'top\n');
    const sb = sandbox().overlay('/mnt', { lower: [join(dir, 'top'), join(dir, 'lower')] });
    const out = await sh(sb, 'cat /mnt/base.txt; echo w > /mnt/w.txt && cat /mnt/w.txt; grep " /mnt " /proc/self/mountinfo');
    expect(out).toMatch(/^top\nw\n/);
    expect(out).toMatch(/lowerdir=\/proc\/self\/fd\/\d+:\/proc\/self\/fd\/\d+,/);
  });

  it.skipIf(!atLeast(release(), 6, 8))(`on this kernel the layers go by descriptor${atLeast(release(), 6, 8) ? '' : ' (skipped: this kernel is older than 6.8)'}`, async () => {
    const out = await sh(sandbox().overlay('/mnt', { lower: [join(dir, 'lower')] }), 'grep " /mnt " /proc/self/mountinfo');
    expect(out).toMatch(/lowerdir\+=/);
  });
});

describe.skipIf(!root)(`masked files the way kernels before 6.15 get them${root ? '' : ' (skipped: needs root)'}`, () => {
  let dir: string;
  let cwd: string;
  beforeAll(() => {
    dir = scratch();
    writeFileSync(join(dir, 'secret'), 'SECRET\n');
    chmodSync(join(dir, 'secret'), 0o644);
    mkdirSync(join(dir, 'private'), { mode: 0o700 });
    cwd = process.cwd();
  });
  afterAll(() => {
    process.chdir(cwd);
    rmSync(dir, { recursive: true, force: true });
  });
  afterEach(() => {
    delete process.env.NSBIND_TEST_KERNEL_RELEASE;
    process.chdir(cwd);
  });

  // The empty file's tmpfs is attached over the sandbox's root, cloned, and unmounted
  // through the working directory. A root caller's setup runs as an unprivileged host id,
  // which cannot search the caller's 0700 directory: the README's minimal root, run from a
  // mkdtemp directory, failed on 6.1 with "proc /proc: mask /proc/kcore: umount2: EACCES".
  for (const rel of ['6.1.0-57-amd64', release()]) {
    it(`from a working directory the sandbox cannot search, release ${rel}: files read empty, no tmpfs is left over the root`, async () => {
      process.env.NSBIND_TEST_KERNEL_RELEASE = rel;
      process.chdir(join(dir, 'private'));
      // Left over the root, the mask's tmpfs (size=4k) would be a mount on "/".
      const script = `cat ${dir}/secret; grep -E '^[0-9]+ [0-9]+ [^ ]+ [^ ]+ / .*size=4k' /proc/self/mountinfo; echo end`;
      expect(await sh(sandbox().mask(join(dir, 'secret')), script)).toBe('end\n');
      const sb = minimalRoot(sandbox().root()).proc().bind(dir, dir, { readonly: true }).mask(join(dir, 'secret'));
      expect(await sh(sb, `${script}; wc -c < /proc/timer_list`)).toBe('end\n0\n');
    });
  }
});
