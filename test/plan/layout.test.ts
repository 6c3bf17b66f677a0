// The plan layout is shared by lib/plan and native/plan.h: compare the TS numbers with
// the ones the addon was compiled with (test/plan/numbers.test.ts compares every number).
import { describe, expect, it } from 'vitest';
import { native } from '../../lib/binding.js';
import * as L from '../../lib/plan/layout.js';
import { PlanWriter } from '../../lib/plan/writer.js';
import * as syscalls from '../../lib/syscalls.js';

describe('plan layout', () => {
  const n = native().layout;
  it('header, op and report sizes match the addon', () => {
    expect(L.PLAN_MAGIC).toBe(n.magic);
    expect(L.PLAN_VERSION).toBe(n.version);
    expect(L.HEADER_SIZE).toBe(n.headerSize);
    expect(L.OP_SIZE).toBe(n.opSize);
    expect(L.REPORT_SIZE).toBe(n.reportSize);
  });
  it('op kinds, syscall ids and steps match', () => {
    expect(L.Op.SETSID).toBe(n.OP_SETSID);
    expect(L.Op.SETCTTY).toBe(n.OP_SETCTTY);
    expect(L.Op.EXEC).toBe(n.OP_EXEC);
    expect(L.Op.PRCTL).toBe(n.OP_PRCTL);
    expect(L.syscallNames[n.SYS_EXECVE]).toBe('execve');
    expect(L.syscallNames[n.SYS_WAITID]).toBe('waitid');
    expect(L.Step.EXEC).toBe(n.STEP_EXEC);
    expect(L.Step.PIPES).toBe(n.STEP_PIPES);
    expect(L.EXEC_VIA_INIT).toBe(n.EXEC_VIA_INIT);
  });
  it('the raw constants of nsbind/syscalls are the kernel headers\' values', () => {
    for (const k of ['CLONE_NEWNS', 'CLONE_NEWUSER', 'CLONE_NEWPID', 'CLONE_NEWNET', 'CLONE_NEWTIME', 'CLONE_NEWCGROUP',
      'CLONE_NEWUTS', 'CLONE_NEWIPC', 'MS_BIND', 'MS_REC', 'MS_PRIVATE', 'MS_SLAVE', 'MS_SHARED', 'MS_RDONLY',
      'MNT_DETACH', 'MNT_FORCE', 'UMOUNT_NOFOLLOW'] as const) {
      expect((syscalls as Record<string, unknown>)[k], k).toBe(native().constants[k]);
    }
  });
  it('the writer aligns blobs, dedupes strings and ends the arena with NUL', () => {
    const w = new PlanWriter();
    const a = w.str('abc');
    const b = w.blob(Buffer.from([1, 2, 3, 4]), 8);
    expect(w.str('abc')).toBe(a);
    expect(w.str('')).toBe(0);
    expect(b % 8).toBe(0);
    w.op(L.Op.CHDIR, 'cwd /x', { s: [a], n: [1n << 40n] });
    const buf = w.finish();
    expect(buf.readUInt32LE(0)).toBe(L.PLAN_MAGIC);
    expect(buf.readUInt32LE(8)).toBe(1);
    expect(buf[buf.length - 1]).toBe(0);
    expect(buf.readBigUInt64LE(L.HEADER_SIZE + 24)).toBe(1n << 40n);
    expect(w.steps).toEqual(['cwd /x']);
  });
});
