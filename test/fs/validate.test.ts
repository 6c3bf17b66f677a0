// Bad input to the filesystem methods fails at once with ERR_NSBIND_INVALID naming the
// option, and `sandbox(sb.options)` rebuilds the same steps. No process is started here.
import { describe, expect, it } from 'vitest';
import { NsbindError, sandbox, type Sandbox } from '../../lib/index.js';
import { compile } from '../../lib/plan.js';
import { Op } from '../../lib/plan/layout.js';
import { invalidOption } from '../helpers/index.js';


describe('filesystem methods: bad input', () => {
  const sb = sandbox();
  const cases: [string, () => unknown, string][] = [
    ['relative destination', () => sb.bind('/usr', 'usr'), 'bind.dst'],
    ['.. in a destination', () => sb.tmpfs('/tmp/../etc'), 'tmpfs.dst'],
    ['NUL in a destination', () => sb.tmpfs('/tmp\0x'), 'tmpfs.dst'],
    ['NUL in a source', () => sb.bind('/us\0r', '/usr'), 'bind.src'],
    ['destination over PATH_MAX', () => sb.tmpfs('/' + 'a'.repeat(4095)), 'tmpfs.dst'],
    ["size '12bogus'", () => sb.tmpfs('/tmp', { size: '12bogus' }), 'tmpfs.size'],
    ['size 0', () => sb.tmpfs('/tmp', { size: 0 }), 'tmpfs.size'],
    ['negative size', () => sb.tmpfs('/tmp', { size: -1 }), 'tmpfs.size'],
    ['size 2^63', () => sb.tmpfs('/tmp', { size: '8E' }), 'tmpfs.size'],
    ['size over 2^63', () => sb.tmpfs('/tmp', { size: '9223372036854775808' }), 'tmpfs.size'],
    ['unsafe numeric size', () => sb.tmpfs('/tmp', { size: 2 ** 60 }), 'tmpfs.size'],
    ['mode over 0o7777', () => sb.tmpfs('/tmp', { mode: 0o10000 }), 'tmpfs.mode'],
    ['negative mode', () => sb.tmpfs('/tmp').dir('/tmp/x', -1), 'dir.mode'],
    ['unknown tmpfs option', () => sb.tmpfs('/tmp', { sise: 1 } as never), 'tmpfs.sise'],
    ['overlay without lower layers', () => sb.overlay('/x', { lower: [] }), 'overlay.lower'],
    ['overlay without options', () => (sb.overlay as (d: string) => Sandbox)('/x'), 'overlay.lower'],
    ['overlay upper without work', () => sb.overlay('/x', { lower: ['/usr'], upper: '/tmp/u' }), 'overlay.work'],
    ['.file on a host path', () => sb.file('/etc/nsbind-test', 'x'), 'file.path'],
    ['.dir on a host path', () => sb.dir('/opt/nsbind-test'), 'dir.path'],
    ['.symlink on a host path', () => sb.symlink('x', '/opt/nsbind-test'), 'symlink.path'],
    ['.file under a bind inside a tmpfs', () => sb.tmpfs('/mnt').bind('/usr', '/mnt/usr').file('/mnt/usr/x', 'x'), 'file.path'],
    ['.file in a root(dir)', () => sb.root('/srv').file('/x', 'x'), 'file.path'],
    ['two roots', () => sb.root().chroot('/srv'), 'chroot'],
    ['mask /', () => sb.mask('/'), 'mask.path'],
    ['file content of the wrong type', () => sb.tmpfs('/t').file('/t/x', 5 as never), 'file.content'],
    ['unknown step in options', () => sandbox({ fs: [{ op: 'nope' }] }), 'fs[0].op'],
  ];
  for (const [what, fn, option] of cases) {
    it(`${what} -> ${option}`, () => expect(invalidOption(fn)).toBe(option));
  }

  it('accepts sizes with binary suffixes and files in sandbox-made filesystems', () => {
    expect(() => sb.tmpfs('/t', { size: '64M' }).tmpfs('/u', { size: '1GiB', mode: 0o1777 }).tmpfs('/v', { size: 4096 })).not.toThrow();
    expect(() => sb.root().file('/etc/hostname', 'box\n').dir('/var/tmp', 0o1777).symlink('usr/bin', '/bin')).not.toThrow();
    expect(() => sb.overlay('/src', { lower: ['/usr'] }).file('/src/x', new Uint8Array([0, 1, 2]))).not.toThrow();
  });
});

describe('filesystem steps as data', () => {
  it('round-trips through sandbox(sb.options), JSON included', () => {
    const sb = sandbox()
      .root()
      .roBind('/usr', '/usr', { optional: true })
      .bind('/tmp', '/host-tmp', { devices: true })
      .tmpfs('/tmp', { size: '16M', mode: 0o1777 })
      .proc()
      .dev()
      .mqueue()
      .overlay('/src', { lower: ['/usr/share', '/usr/lib'] })
      .dir('/work', 0o700)
      .symlink('usr/bin', '/bin')
      .file('/etc/hostname', 'box\n')
      .file('/etc/blob', new Uint8Array([0, 255]))
      .readonly('/usr')
      .mask('/usr/share');
    const again = sandbox(JSON.parse(JSON.stringify(sb.options)));
    expect(again.options).toEqual(sb.options);
    expect(sb.options.fs![1]).toEqual({ op: 'bind', src: '/usr', dst: '/usr', optional: true, readonly: true });
  });

  it('is immutable: a base stays as it was', () => {
    const base = sandbox().tmpfs('/tmp');
    base.tmpfs('/var');
    expect(base.options.fs).toHaveLength(1);
  });

  it('normalises destinations and resolves relative sources from the current directory', () => {
    const sb = sandbox().bind('usr', '//mnt//x/./');
    expect(sb.options.fs![0]).toMatchObject({ src: `${process.cwd()}/usr`, dst: '/mnt/x' });
  });

  it('captures every source before the root and the steps, and enters the root last', () => {
    const plan = compile(sandbox().tmpfs('/tmp').root().roBind('/usr').options, { file: 'true', args: [], env: {}, nfds: 3 });
    const kinds = [...plan.steps.entries()].filter(([, s]) => /usr|tmp|root/.test(s)).map(([, s]) => s);
    expect(kinds).toEqual(['bind /usr -> /usr', 'root (empty tmpfs)', 'tmpfs /tmp', 'bind /usr -> /usr', 'root (empty tmpfs)']);
    // the layout of the ops: capture, new root, steps, enter
    const ops: number[] = [];
    const buf = plan.request.plan;
    const nops = buf.readUInt32LE(8);
    for (let i = 0; i < nops; i++) ops.push(buf.readUInt32LE(16 + i * 48));
    const fsOps = ops.filter((k) => k >= 16 && k <= 39 && k !== Op.DIE_WITH_PARENT);  // 28 re-arms after the identity switch
    expect(fsOps).toEqual([Op.FS_OPEN_TREE, Op.FS_NEW_ROOT, Op.FS_MOUNT, Op.FS_BIND, Op.FS_ENTER]);
  });
});
