// Where the security steps land in the child's plan, the builder methods, and the
// op/syscall numbers shared with native/plan.h.
import { describe, expect, it } from 'vitest';
import { native } from '../../lib/binding.js';
import { sandbox, type Sandbox } from '../../lib/index.js';
import { compile } from '../../lib/plan.js';
import { CAPS_ALL, HEADER_SIZE, Op, OP_SIZE, syscallNames } from '../../lib/plan/layout.js';
import { compileSeccomp } from '../../lib/security/seccomp.js';

interface DecodedOp {
  kind: number;
  flags: number;
  s: number[];
  n: bigint[];
  step: string;
}

function plan(sb: Sandbox) {
  const p = compile(sb.options, { file: '/bin/true', args: [], env: {}, nfds: 3 });
  const buf = p.request.plan;
  const nops = buf.readUInt32LE(8);
  const arena = HEADER_SIZE + nops * OP_SIZE;
  const ops: DecodedOp[] = [];
  for (let i = 0; i < nops; i++) {
    const b = HEADER_SIZE + i * OP_SIZE;
    ops.push({
      kind: buf.readUInt32LE(b),
      flags: buf.readUInt32LE(b + 4),
      s: [0, 1, 2, 3].map((k) => buf.readUInt32LE(b + 8 + 4 * k)),
      n: [0, 1, 2].map((k) => buf.readBigUInt64LE(b + 24 + 8 * k)),
      step: p.steps[i],
    });
  }
  return { ops, steps: p.steps, buf, arena };
}

const indexOf = (steps: string[], re: RegExp) => steps.findIndex((s) => re.test(s));

describe('the plan', () => {
  it('ends with capabilities, no_new_privs, seccomp, exec by default', () => {
    const { steps } = plan(sandbox());
    expect(steps.slice(-4)).toEqual(['capabilities none', 'no_new_privs', 'seccomp', 'execve /bin/true']);
  });

  it('restores NOFILE before the credentials, and keeps capabilities across the uid switch', () => {
    const { steps } = plan(sandbox().as({ uid: 1000, gid: 1000 }).capabilities(['CAP_KILL']));
    const rlimit = indexOf(steps, /^rlimit nofile \d+:\d+$/);
    const keep = indexOf(steps, /^keep capabilities across the uid switch$/);
    const setgid = indexOf(steps, /^setgid 1000$/);
    const setuid = indexOf(steps, /^setuid 1000$/);
    const caps = indexOf(steps, /^capabilities CAP_KILL$/);
    expect(rlimit).toBeGreaterThanOrEqual(0);
    expect(rlimit).toBeLessThan(keep);
    expect(keep).toBeLessThan(setgid);
    expect(setgid).toBeLessThan(setuid);
    expect(setuid).toBeLessThan(caps);
    expect(steps.at(-2)).toBe('seccomp');
  });

  it('without no_new_privs installs the filter while the child is still privileged', () => {
    const { steps } = plan(sandbox().noNewPrivileges(false).as({ uid: 1000 }));
    expect(steps).not.toContain('no_new_privs');
    expect(indexOf(steps, /^seccomp$/)).toBeLessThan(indexOf(steps, /^setuid 1000$/));
    expect(steps.slice(-2)).toEqual(['capabilities none', 'execve /bin/true']);
  });

  it("has no filter for seccomp('none')", () => {
    expect(plan(sandbox().seccomp('none')).steps).not.toContain('seccomp');
  });

  it('carries the filter as an 8-byte aligned blob', () => {
    for (const sb of [sandbox(), sandbox().seccomp({ deny: ['ptrace'], errno: 'EACCES' })]) {
      const { ops, buf, arena } = plan(sb);
      const op = ops.find((o) => o.kind === Op.SECCOMP)!;
      const want = compileSeccomp(sb.options.seccomp ?? 'default')!;
      expect(op.n[0]).toBe(BigInt(want.length / 8));
      expect((arena + op.s[0]) % 8).toBe(0);
      expect(Buffer.compare(buf.subarray(arena + op.s[0], arena + op.s[0] + want.length), want)).toBe(0);
    }
  });

  it('gives the capability mask, or CAPS_ALL', () => {
    const kept = plan(sandbox().capabilities(['CAP_NET_ADMIN', 'CAP_SYSLOG'])).ops.find((o) => o.kind === Op.CAPS)!;
    expect(kept.n[0]).toBe((1n << 12n) | (1n << 34n));
    expect(kept.flags).toBe(0);
    expect(kept.n[1]).toBeGreaterThanOrEqual(40n); // cap_last_cap
    expect(plan(sandbox().capabilities('all')).ops.find((o) => o.kind === Op.CAPS)!.flags).toBe(CAPS_ALL);
    expect(plan(sandbox()).ops.find((o) => o.kind === Op.CAPS)!.n[0]).toBe(0n);
  });

  it('sets the limits asked for, with RLIM_INFINITY for unlimited', () => {
    const { ops } = plan(sandbox().rlimits({ core: 0, cpu: [5, 'unlimited'], nofile: 64 }));
    const rl = ops.filter((o) => o.kind === Op.RLIMIT).map((o) => [o.n[0], o.n[1], o.n[2]]);
    expect(rl).toEqual([
      [4n, 0n, 0n],
      [0n, 5n, 0xffffffffffffffffn],
      [7n, 64n, 64n],
    ]);
  });
});

describe('the builder', () => {
  it('keeps the security options as JSON and rebuilds them', () => {
    const sb = sandbox()
      .capabilities(['net_admin'])
      .seccomp({ deny: ['ptrace'], errno: 'EACCES' })
      .noNewPrivileges(false)
      .rlimits({ nofile: 100 })
      .rlimits({ core: 0 });
    expect(sb.options).toMatchObject({
      capabilities: ['CAP_NET_ADMIN'],
      seccomp: { deny: ['ptrace'], errno: 13, base: 'default' },
      noNewPrivileges: false,
      rlimits: { nofile: [100, 100], core: [0, 0] },
    });
    const again = sandbox(JSON.parse(JSON.stringify(sb.options)));
    expect(again.options).toEqual(sb.options);
    const bpf = sandbox().seccomp(compileSeccomp('default')!);
    expect(sandbox(JSON.parse(JSON.stringify(bpf.options))).options).toEqual(bpf.options);
  });

  it('refuses bad input at once, naming the option', () => {
    const cases: [() => unknown, string][] = [
      [() => sandbox().capabilities(['CAP_FLY']), 'capabilities'],
      [() => sandbox().seccomp({ deny: ['nope'] }), 'seccomp.deny'],
      [() => sandbox().seccomp(new Uint8Array(9)), 'seccomp'],
      [() => sandbox().noNewPrivileges('yes' as unknown as boolean), 'noNewPrivileges'],
      [() => sandbox().rlimits({ nofile: [10, 5] }), 'rlimits.nofile'],
      [() => sandbox().rlimits({ nproc: -1 }), 'rlimits.nproc'],
      [() => sandbox({ rlimits: { bogus: 1 } } as never), 'rlimits.bogus'],
    ];
    for (const [fn, option] of cases) {
      expect(fn, option).toThrow(expect.objectContaining({ code: 'ERR_NSBIND_INVALID', option }));
    }
  });
});

describe('layout', () => {
  it('matches the numbers the addon was built with', () => {
    const l = native().securityLayout as Record<string, number>;
    expect(l.OP_RLIMIT).toBe(Op.RLIMIT);
    expect(l.OP_CAPS).toBe(Op.CAPS);
    expect(l.OP_SECCOMP).toBe(Op.SECCOMP);
    expect(l.CAPS_ALL).toBe(CAPS_ALL);
    expect(syscallNames[l.SYS_PRLIMIT]).toBe('prlimit64');
    expect(syscallNames[l.SYS_CAPGET]).toBe('capget');
    expect(syscallNames[l.SYS_CAPSET]).toBe('capset');
    expect(syscallNames[l.SYS_CAPBSET_DROP]).toBe('prctl(PR_CAPBSET_DROP)');
    expect(syscallNames[l.SYS_CAP_AMBIENT]).toBe('prctl(PR_CAP_AMBIENT)');
    expect(syscallNames[l.SYS_SECCOMP]).toBe('seccomp');
    expect(l.PR_SET_NO_NEW_PRIVS).toBe(38);
    expect(l.PR_SET_KEEPCAPS).toBe(8);
  });
});
