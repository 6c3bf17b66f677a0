// Without clone3 (old kernels, or a container's seccomp profile answering ENOSYS, forced
// here with NSBIND_NO_CLONE3=1) nsbind falls back to clone(), which cannot express
// CLONE_NEWTIME (0x80 is inside clone()'s exit-signal byte). A time namespace must then
// fail loudly, never run the program in the caller's time namespace.
import { readlinkSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { sandbox } from '../../lib/index.js';

describe('the clone() fallback', () => {
  afterEach(() => {
    delete process.env.NSBIND_NO_CLONE3;
  });

  it('refuses a time namespace with EINVAL at "create namespaces"', async () => {
    process.env.NSBIND_NO_CLONE3 = '1';
    await expect(sandbox().time().run('readlink', ['/proc/self/ns/time'])).rejects.toMatchObject({
      code: 'EINVAL',
      step: 'create namespaces',
    });
  });

  it('still creates the other namespaces', async () => {
    process.env.NSBIND_NO_CLONE3 = '1';
    const r = await sandbox().uts().net().run('readlink', ['/proc/self/ns/net']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).not.toBe(readlinkSync('/proc/self/ns/net'));
  });

  it('with clone3, runs the program in a new time namespace', async () => {
    const r = await sandbox().time().run('readlink', ['/proc/self/ns/time']);
    expect(r.stdout.trim()).toMatch(/^time:\[\d+\]$/);
    expect(r.stdout.trim()).not.toBe(readlinkSync('/proc/self/ns/time'));
  });
});
