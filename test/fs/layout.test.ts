// The filesystem op numbers, flags and syscall ids in lib/plan/layout.ts are the ones the
// addon was compiled with (native/plan.h), and the builder's source limit fits the child's.
import { describe, expect, it } from 'vitest';
import { native } from '../../lib/binding.js';
import { MAX_SOURCES } from '../../lib/fs/builder.js';
import { FsFlag, Op, syscallNames } from '../../lib/plan/layout.js';

describe('filesystem plan layout', () => {
  const l = native().fsLayout as Record<string, number>;

  it('op kinds match native/plan.h and stay in the filesystem range 16-39 (FS_DATA: 63, from the misc range)', () => {
    const fsOps = Object.entries(Op).filter(([k]) => k.startsWith('FS_'));
    expect(fsOps.length).toBe(15);
    for (const [k, v] of fsOps) {
      expect(v, k).toBe(l[`NSB_OP_${k}`]);
      if (k === 'FS_DATA') continue;
      expect(v).toBeGreaterThanOrEqual(16);
      expect(v).toBeLessThanOrEqual(39);
    }
  });

  it('flags match', () => {
    for (const [k, v] of Object.entries(FsFlag)) expect(v, k).toBe(l[`NSB_FS_${k}`]);
  });

  it('syscall ids match, in the range 30-49, with their names', () => {
    const names = ['open_tree', 'move_mount', 'fsopen', 'fsconfig', 'fsmount', 'mount_setattr', 'openat2', 'mkdirat',
      'symlinkat', 'openat', 'pivot_root', 'umount2', 'chroot', 'fchdir', 'statx', 'fchmod'];
    for (const name of names) {
      const id = l[`NSB_SYS_${name.toUpperCase()}`];
      expect(id, name).toBeGreaterThanOrEqual(30);
      expect(id, name).toBeLessThanOrEqual(49);
      expect(syscallNames[id]).toBe(name);
    }
  });

  it('the builder never hands the child more sources than it has slots', () => {
    // /dev/null for masks takes one more slot than the sources counted by the builder
    expect(MAX_SOURCES + 1).toBeLessThanOrEqual(l.NSB_FS_SLOTS);
  });
});
