// One forced failure per filesystem op kind: the error names the step, the system call
// and the errno code, and nothing is left mounted in the caller's namespace.
import { chmodSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { NsbindError, sandbox, type Sandbox } from '../../lib/index.js';
import { scratch, setupError, runAsNobody, skipUnless } from '../helpers/index.js';

let dir: string;
let mounts: string;
beforeAll(() => {
  dir = scratch();
  chmodSync(dir, 0o755); // reachable by uid 65534, but not 'locked'
  mkdirSync(join(dir, 'locked'), { mode: 0o700 });
  chmodSync(join(dir, 'locked'), 0o700);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(() => {
  mounts = readFileSync('/proc/self/mountinfo', 'utf8');
});
afterEach(() => {
  expect(readFileSync('/proc/self/mountinfo', 'utf8')).toBe(mounts);
});

const cases: [string, () => Sandbox, { step: string; syscall: string; code: string }][] = [
  ['open_tree: a missing bind source', () => sandbox().bind('/nonexistent-nsbind', '/mnt'),
    { step: 'bind /nonexistent-nsbind -> /mnt', syscall: 'open_tree', code: 'ENOENT' }],
  ['open path: an overlay layer that is a file', () => sandbox().overlay('/mnt', { lower: ['/etc/passwd'] }),
    { step: 'overlay /mnt', syscall: 'openat', code: 'ENOTDIR' }],
  ['new root: root() on a file', () => sandbox().root('/etc/passwd'),
    { step: 'root /etc/passwd', syscall: 'open_tree', code: 'ENOTDIR' }],
  ['bind: a missing destination on the host', () => sandbox().bind('/etc', '/nonexistent-nsbind'),
    { step: 'bind /etc -> /nonexistent-nsbind', syscall: 'openat2', code: 'ENOENT' }],
  ['mount: a tmpfs over a file', () => sandbox().tmpfs('/etc/passwd'),
    { step: 'tmpfs /etc/passwd', syscall: 'openat2', code: 'ENOTDIR' }],
  ['mount: an escaping magic link', () => sandbox().proc().tmpfs('/proc/self/cwd'),
    { step: 'tmpfs /proc/self/cwd', syscall: 'openat2', code: 'ELOOP' }],
  ['overlay: an upper layer overlayfs cannot use', () => sandbox().overlay('/mnt', { lower: ['/usr'], upper: '/proc', work: '/tmp' }),
    { step: 'overlay /mnt', syscall: 'fsconfig', code: 'EINVAL' }],
  ['mask: a missing path', () => sandbox().mask('/nonexistent-nsbind'),
    { step: 'mask /nonexistent-nsbind', syscall: 'openat2', code: 'ENOENT' }],
  ['readonly: a missing path', () => sandbox().readonly('/nonexistent-nsbind'),
    { step: 'readonly /nonexistent-nsbind', syscall: 'openat2', code: 'ENOENT' }],
  ['dir: under a file', () => sandbox().tmpfs('/mnt').file('/mnt/f', 'x').dir('/mnt/f/d'),
    { step: 'dir /mnt/f/d', syscall: 'openat2', code: 'ENOTDIR' }],
  ['symlink: the path exists', () => sandbox().tmpfs('/mnt').file('/mnt/a', 'x').symlink('t', '/mnt/a'),
    { step: 'symlink /mnt/a -> t', syscall: 'symlinkat', code: 'EEXIST' }],
  ['file: the path is a directory', () => sandbox().tmpfs('/mnt').dir('/mnt/d').file('/mnt/d', 'x'),
    { step: 'file /mnt/d', syscall: 'openat', code: 'EISDIR' }],
];

describe('forced failures', () => {
  for (const [what, make, expected] of cases) {
    it(what, async () => {
      const e = await setupError(make());
      expect(e).toBeInstanceOf(NsbindError);
      expect({ step: e.step, syscall: e.syscall, code: e.code }).toEqual(expected);
      expect(e.message).toBe(`nsbind: ${expected.step}: ${expected.syscall}: ${expected.code} (${e.message.split('(')[1].split(')')[0]})`.split('\n')[0] + (e.hint ? `\n  hint: ${e.hint}` : ''));
    });
  }

  it('enter: the root directory cannot be entered (rootless, a directory of the host root with mode 0700)', async (ctx) => {
    await skipUnless(ctx, 'root'); // the directory is root's; an unprivileged run would own it
    const r = runAsNobody(`
      const e = await nsbind.sandbox().chroot(${JSON.stringify(join(dir, 'locked'))}).run('/bin/true').then(() => null, (e) => e);
      process.stdout.write(JSON.stringify(e && { step: e.step, syscall: e.syscall, code: e.code }));`);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ step: `chroot ${join(dir, 'locked')}`, syscall: 'fchdir', code: 'EACCES' });
  });

  it('a root with shared propagation is refused before anything runs', () => {
    expect(() => sandbox().mount({ propagation: 'shared' }).root().spawn('/bin/true')).toThrow(
      expect.objectContaining({ code: 'ERR_NSBIND_INVALID', option: 'mount.propagation' }),
    );
  });
});
