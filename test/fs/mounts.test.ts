// Binds, tmpfs, overlay, readonly, mask and created files, asserted from inside.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandbox } from '../../lib/index.js';
import { scratch, setupError, sh } from '../helpers/index.js';

let dir: string;
beforeAll(() => {
  dir = scratch();
  mkdirSync(join(dir, 'src'));
  writeFileSync(join(dir, 'src', 'hello.txt'), 'hello from the host\n');
  mkdirSync(join(dir, 'dst'));
  mkdirSync(join(dir, 'lower'));
  writeFileSync(join(dir, 'lower', 'base.txt'), 'base\n');
  mkdirSync(join(dir, 'upper'));
  mkdirSync(join(dir, 'work'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('bind', () => {
  it('shows the source at the destination, nosuid and nodev', async () => {
    const out = await sh(sandbox().bind(join(dir, 'src'), join(dir, 'dst')), `cat ${dir}/dst/hello.txt; grep " ${dir}/dst " /proc/self/mountinfo`);
    expect(out).toContain('hello from the host');
    expect(out).toMatch(/ rw,nosuid,nodev/);
  });

  it('devices: true leaves device nodes usable', async () => {
    const out = await sh(sandbox().tmpfs('/mnt').bind('/dev', '/mnt/dev', { devices: true }), 'grep " /mnt/dev " /proc/self/mountinfo; head -c 3 /mnt/dev/zero | wc -c');
    expect(out).not.toMatch(/nodev/);
    expect(out).toMatch(/^3$/m);
  });

  it('read-only: writing fails with EROFS, also under a submount of the source', async () => {
    // The host's /dev has /dev/shm (a writable tmpfs) mounted under it.
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).toMatch(/ \/dev\/shm /);
    const sb = sandbox().tmpfs('/mnt').roBind(join(dir, 'src'), '/mnt/src').roBind('/dev', '/mnt/dev');
    const out = await sh(sb, 'touch /mnt/src/x 2>&1; touch /mnt/dev/shm/nsbind-x 2>&1; true');
    expect(out.match(/Read-only file system/g)).toHaveLength(2);
    expect(existsSync('/dev/shm/nsbind-x')).toBe(false);
  });

  it('optional: a missing source skips the step', async () => {
    const out = await sh(sandbox().tmpfs('/mnt').bind('/nonexistent-nsbind', '/mnt/x', { optional: true }), 'ls -A /mnt; echo done');
    expect(out).toBe('done\n');
  });

  it('a file onto a file, the mount point made inside a tmpfs', async () => {
    const out = await sh(sandbox().tmpfs('/mnt').roBind(join(dir, 'src', 'hello.txt'), '/mnt/a/b/hello'), 'cat /mnt/a/b/hello; stat -c %F /mnt/a');
    expect(out).toBe('hello from the host\ndirectory\n');
  });

  it('sources are host paths as seen before any step', async () => {
    // The tmpfs over the source's parent must not change what the bind shows.
    const out = await sh(sandbox().tmpfs(dir).bind(join(dir, 'src'), '/mnt'), 'cat /mnt/hello.txt; ls -A ' + dir + '; echo end');
    expect(out).toBe('hello from the host\nend\n');
  });
});

describe('tmpfs', () => {
  it('has its size and mode', async () => {
    const out = await sh(
      sandbox().tmpfs('/mnt', { size: '1M', mode: 0o1770 }),
      "stat -c %a /mnt; df -k /mnt | awk 'NR==2 {print $2}'; head -c 2000000 /dev/zero > /mnt/big 2>&1 || echo full",
    );
    expect(out).toMatch(/^1770\n1024\n/);
    expect(out).toContain('full');
  });
});

describe('overlay', () => {
  it('writes land in the upper layer, the lower stays as it was', async () => {
    // overlayfs writes the upper layer with the sandbox's credentials: a root caller's
    // program is an unprivileged host id (SPEC 2.1), so the layer must be writable for it.
    chmodSync(join(dir, 'upper'), 0o777);
    chmodSync(join(dir, 'work'), 0o777);
    const layers = { lower: [join(dir, 'lower')], upper: join(dir, 'upper'), work: join(dir, 'work') };
    // A root caller's program is an unprivileged host id whose namespace does not map root:
    // overlayfs cannot copy up a root-owned lower file (the copy keeps its unmapped owner),
    // so changing base.txt is refused there; new files still land in the upper layer.
    if (process.geteuid!() === 0) {
      const refused = await sh(sandbox().overlay('/mnt', layers), 'echo new > /mnt/new.txt; echo changed > /mnt/base.txt 2>/dev/null || echo refused');
      expect(refused).toBe('refused\n');
      expect(readFileSync(join(dir, 'upper', 'new.txt'), 'utf8')).toBe('new\n');
      rmSync(join(dir, 'upper', 'new.txt'));
    }
    // Without a user namespace (or unprivileged, owning the files) every write lands.
    const sb = sandbox().user(process.geteuid!() === 0 ? false : undefined).overlay('/mnt', layers);
    const out = await sh(sb, 'cat /mnt/base.txt; echo new > /mnt/new.txt; echo changed > /mnt/base.txt; cat /mnt/base.txt');
    expect(out).toBe('base\nchanged\n');
    expect(readFileSync(join(dir, 'upper', 'new.txt'), 'utf8')).toBe('new\n');
    expect(readFileSync(join(dir, 'upper', 'base.txt'), 'utf8')).toBe('changed\n');
    expect(readFileSync(join(dir, 'lower', 'base.txt'), 'utf8')).toBe('base\n');
    expect(readdirSync(join(dir, 'lower'))).toEqual(['base.txt']);
  });

  it('with a tmpfs upper, writes vanish with the sandbox', async () => {
    const sb = sandbox().overlay('/mnt', { lower: [join(dir, 'lower'), join(dir, 'src')] });
    const out = await sh(sb, 'ls /mnt; echo gone > /mnt/tmp.txt; cat /mnt/tmp.txt');
    expect(out).toBe('base.txt\nhello.txt\ngone\n');
    expect(readdirSync(join(dir, 'lower'))).toEqual(['base.txt']);
    expect(await sh(sb, 'ls /mnt')).toBe('base.txt\nhello.txt\n');
  });
});

describe('readonly, mask, dir, symlink, file', () => {
  it('readonly(path) makes the path and its submounts read-only', async () => {
    const sb = sandbox().tmpfs('/mnt').tmpfs('/mnt/sub').readonly('/mnt');
    const out = await sh(sb, 'touch /mnt/x 2>&1; touch /mnt/sub/x 2>&1; true');
    expect(out.match(/Read-only file system/g)).toHaveLength(2);
  });

  it('readonly() makes everything read-only', async () => {
    const out = await sh(sandbox().tmpfs('/mnt').readonly(), `touch /mnt/x 2>&1; touch ${dir}/x 2>&1; true`);
    expect(out.match(/Read-only file system/g)).toHaveLength(2);
    expect(existsSync(join(dir, 'x'))).toBe(false);
  });

  it('mask hides a file (reads empty, writes vanish) and a directory (empty, read-only)', async () => {
    // A masked file is /dev/null bound read-only over it: what is written is discarded
    // (a device node ignores the mount's read-only flag), it still reads empty.
    const sb = sandbox().mask(join(dir, 'src', 'hello.txt')).mask(join(dir, 'lower'));
    const out = await sh(sb, `wc -c < ${dir}/src/hello.txt; ls -A ${dir}/lower | wc -l; echo x > ${dir}/src/hello.txt; wc -c < ${dir}/src/hello.txt; touch ${dir}/lower/y 2>&1; true`);
    expect(out).toMatch(/^0\n0\n0\n/);
    expect(out.match(/Read-only file system/g)).toHaveLength(1);
    expect(readFileSync(join(dir, 'src', 'hello.txt'), 'utf8')).toBe('hello from the host\n');
  });

  it('creates directories, links and files with their modes inside a tmpfs', async () => {
    const sb = sandbox()
      .tmpfs('/mnt')
      .dir('/mnt/a/b', 0o700)
      .symlink('a/b', '/mnt/link')
      .file('/mnt/etc/hostname', 'box\n', 0o600)
      .file('/mnt/bin.dat', new Uint8Array([0, 1, 2, 255]));
    const out = await sh(sb, 'stat -c "%a %F" /mnt/a /mnt/a/b /mnt/etc/hostname; readlink /mnt/link; cat /mnt/etc/hostname; od -An -tx1 /mnt/bin.dat');
    expect(out).toBe('755 directory\n700 directory\n600 regular file\na/b\nbox\n 00 01 02 ff\n');
  });

  it('file(..., { bind: true }): a file of its own mounted over a host file, which stays as it was', async () => {
    const host = join(dir, 'src', 'hello.txt');
    const sb = sandbox().file(host, new Uint8Array([104, 105, 10]), 0o640, { bind: true }).file('/mnt-none', '', 0o644, { bind: true });
    // The second one has no mount point on the host: refused at spawn, nothing created.
    expect((await setupError(sb)).code).toBe('ENOENT');
    expect(existsSync('/mnt-none')).toBe(false);
    const out = await sh(sandbox().file(host, 'inside\n', 0o640, { bind: true }), `cat ${host}; stat -c %a ${host}; echo more >> ${host}; cat ${host}; grep -c " ${host} " /proc/self/mountinfo`);
    expect(out).toBe('inside\n640\ninside\nmore\n1\n');
    expect(readFileSync(host, 'utf8')).toBe('hello from the host\n');
    // Where the sandbox made the filesystem, a missing mount point is created; the step is JSON and replays.
    const made = sandbox().tmpfs('/mnt').file('/mnt/new', 'x\n', 0o600, { bind: true });
    expect(sandbox(JSON.parse(JSON.stringify(made.options))).options).toEqual(made.options);
    expect(await sh(made, 'cat /mnt/new; stat -c %a /mnt/new')).toBe('x\n600\n');
  });
});
