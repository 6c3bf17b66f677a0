// The filesystem steps as an unprivileged caller (uid 65534): everything happens inside
// the user namespace nsbind adds, overlayfs with user.* xattrs.
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scratch, runAsNobody } from '../helpers/index.js';

let dir: string;
beforeAll(() => {
  dir = scratch();
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, 'lower'));
  writeFileSync(join(dir, 'lower', 'base.txt'), 'base\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('rootless (uid 65534)', () => {
  it('tmpfs, overlay, proc, dev, readonly, mask and created files', () => {
    const script = [
      'stat -c %a /mnt',
      'cat /ov/base.txt; echo new > /ov/new.txt; ls /ov | tr "\\n" " "; echo',
      'ls /proc | grep -cE "^[0-9]+$"',
      'wc -c < /proc/keys',
      'ls -A /dev | tr "\\n" " "; echo',
      'cat /mnt/etc/motd',
      'touch /usr/x 2>&1 | grep -c "Read-only"',
      'ls -A /ro | wc -l',
    ].join('; ');
    const r = runAsNobody(`
      const r = await nsbind.sandbox().root()
        .roBind('/usr').symlink('usr/bin', '/bin').symlink('usr/lib', '/lib').symlink('usr/lib64', '/lib64')
        .tmpfs('/mnt', { mode: 0o700, size: '1M' })
        .file('/mnt/etc/motd', 'hi\\n')
        .overlay('/ov', { lower: [${JSON.stringify(join(dir, 'lower'))}] })
        .proc().dev()
        .tmpfs('/ro').readonly('/ro').mask('/ro')
        .run('/bin/sh', ['-c', ${JSON.stringify(script)}]);
      process.stdout.write(JSON.stringify(r));`);
    expect(r.stderr).toBe('');
    const res = JSON.parse(r.stdout);
    expect(res).toMatchObject({ code: 0, stderr: '' });
    const lines = res.stdout.split('\n');
    expect(lines[0]).toBe('700');
    expect(lines[1]).toBe('base');
    expect(lines[2]).toBe('base.txt new.txt ');
    expect(Number(lines[3])).toBeLessThanOrEqual(4);
    expect(lines[4]).toBe('0');
    expect(lines[5]).toBe('fd full null ptmx pts random shm stderr stdin stdout tty urandom zero ');
    expect(lines[6]).toBe('hi');
    expect(lines[7]).toBe('1');
    expect(lines[8]).toBe('0');
    expect(readdirSync(join(dir, 'lower'))).toEqual(['base.txt']);
    expect(readFileSync(join(dir, 'lower', 'base.txt'), 'utf8')).toBe('base\n');
  });
});
