// compilePlan (lib/plan.ts) is a pure function of the options, the spawn's input and the
// resolved facts (lib/plan/resolve.ts): these tests give it facts by hand, with the addon
// and the host's state out of reach, and read the plan it writes.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { distModule } from '../helpers/index.js';

vi.mock('../../lib/binding.js', () => {
  const refuse = () => {
    throw new Error('compilePlan touched the addon');
  };
  return { native: refuse, initBinary: refuse };
});

import { sandbox, type Sandbox } from '../../lib/index.js';
import { compilePlan, type Facts } from '../../lib/plan.js';
import { createdNamespaces } from '../../lib/namespaces/created.js';
import { CHDIR_FALLBACK_ROOT, EXEC_VIA_INIT, FsFlag, HEADER_SIZE, Op, OP_SIZE } from '../../lib/plan/layout.js';
import type { SandboxOptions } from '../../lib/options.js';

/** An unprivileged caller (uid 1000) on a recent kernel with Landlock 4, no I/O needed. */
function factsFor(options: Readonly<SandboxOptions>, over: Partial<Facts> = {}): Facts {
  const privileged = over.privileged ?? false;
  const created = createdNamespaces(options as SandboxOptions);
  return {
    privileged,
    euid: 1000,
    egid: 1000,
    created,
    user: created.has('user')
      ? { maps: { uidMap: [{ inside: 0, outside: 1000, count: 1 }], gidMap: [{ inside: 0, outside: 1000, count: 1 }], uid: 0, gid: 0 }, setgroups: 'deny' }
      : undefined,
    joins: [],
    idmapTrees: new Map(),
    kernelRelease: '6.12.0',
    capLastCap: 40,
    nofile: [1024, 4096],
    landlockAbi: 4,
    initPath: '/opt/nsbind/nsbind-init',
    cwd: '/home/me/project',
    execPath: '/usr/bin:/bin',
    transientFds: [],
    ...over,
  };
}

const input = { file: 'true', args: ['-x'], nfds: 3 };

function compiled(sb: Sandbox, over: Partial<Facts> = {}, extra: Partial<typeof input> & { pty?: boolean; env?: Record<string, string> } = {}) {
  const plan = compilePlan(sb.options as SandboxOptions, { ...input, ...extra }, factsFor(sb.options, over));
  const buf = plan.request.plan;
  const ops = plan.steps.map((step, i) => {
    const b = HEADER_SIZE + i * OP_SIZE;
    return { step, kind: buf.readUInt32LE(b), flags: buf.readUInt32LE(b + 4), n0: buf.readBigUInt64LE(b + 24) };
  });
  return { plan, ops };
}

// Host state compilePlan must not read: any read fails the test.
let restore: (() => void)[] = [];
beforeEach(() => {
  const trap = <K extends 'cwd' | 'geteuid' | 'getegid'>(k: K) => {
    const orig = process[k];
    (process as unknown as Record<string, unknown>)[k] = () => {
      throw new Error(`compilePlan read process.${k}()`);
    };
    restore.push(() => ((process as unknown as Record<string, unknown>)[k] = orig));
  };
  trap('cwd');
  trap('geteuid');
  trap('getegid');
});
afterEach(() => {
  for (const r of restore) r();
  restore = [];
});

describe('compilePlan', () => {
  it('writes the maps as the facts say (own ids: by the parent; beyond them: the helper found)', () => {
    const own = compiled(sandbox()).plan.request;
    expect(own).toMatchObject({ uidMap: '0 1000 1\n', gidMap: '0 1000 1\n', setgroups: 'deny' });
    expect(own.newuidmap).toBeUndefined();
    const range = { uidMap: [{ inside: 0, outside: 1000, count: 1 }, { inside: 1, outside: 100000, count: 10 }], gidMap: [{ inside: 0, outside: 1000, count: 1 }], uid: 0, gid: 0 };
    const helper = compiled(sandbox(), { user: { maps: range, setgroups: 'deny', newuidmap: '/usr/bin/newuidmap' } }).plan.request;
    expect(helper.newuidmap).toEqual(['/usr/bin/newuidmap', '0', '1000', '1', '1', '100000', '10']);
    expect(helper.uidMap).toBeUndefined();
    expect(helper.gidMap).toBe('0 1000 1\n');
  });

  it('puts the ops in the one order, with the facts where they belong (cwd, PATH, cap_last_cap, init)', () => {
    const { plan, ops } = compiled(sandbox().uts({ hostname: 'box' }).net().tmpfs('/tmp'));
    expect(plan.steps).toEqual([
      'make / private',
      'hostname box',
      'bring lo up',
      'tmpfs /tmp',
      'setsid',
      'rlimit nofile 1024:4096',
      'cwd /home/me/project',
      'capabilities none',
      'no_new_privs',
      'seccomp',
      'execve true',
    ]);
    expect(ops.find((o) => o.kind === Op.CHDIR)!.flags).toBe(CHDIR_FALLBACK_ROOT);
    expect(ops.find((o) => o.kind === Op.CAPS)).toBeDefined();
    expect(plan.request.plan.includes(Buffer.from('/usr/bin:/bin\0'))).toBe(true);
    expect(plan.request.initPath).toBe('/opt/nsbind/nsbind-init');
    expect(plan.request.argv).toEqual(['true', '-x']);
    expect([...plan.isolation].sort()).toEqual(['mnt', 'net', 'user', 'uts']);
  });

  it('is a function of its arguments: the same facts give the same bytes, other facts other bytes', () => {
    const sb = sandbox().pid().tmpfs('/tmp');
    expect(compiled(sb).plan.request.plan.equals(compiled(sb).plan.request.plan)).toBe(true);
    expect(compiled(sb, { cwd: '/elsewhere' }).plan.steps).toContain('cwd /elsewhere');
    expect(compiled(sb, { capLastCap: 41 }).plan.request.plan.equals(compiled(sb).plan.request.plan)).toBe(false);
  });

  it('joins with the descriptors resolve opened, first, and passes them on', () => {
    // Written as data: the builder checks a join target on the host (the addon), compile does not.
    const sb = { options: { namespaces: { net: { join: '/run/netns/blue' } } } } as unknown as Sandbox;
    const { plan, ops } = compiled(sb, { joins: [{ type: 'net', step: 'join net namespace /run/netns/blue', fd: 42 }] });
    expect(plan.steps[0]).toBe('join net namespace /run/netns/blue');
    expect(ops[0].kind).toBe(Op.SETNS);
    expect(plan.request.extraFds).toEqual([42]);
  });

  it('enters a new time namespace by a fork of the init only on kernels that need it', () => {
    const sb = sandbox().time({ monotonic: 5 });
    const exec = (release: string) => compiled(sb, { kernelRelease: release }).ops.find((o) => o.kind === Op.EXEC)!.flags & EXEC_VIA_INIT;
    expect(exec('6.1.0')).toBe(EXEC_VIA_INIT);
    expect(exec('6.12.0')).toBe(0);
    expect(compiled(sb).plan.request.timeOffsets).toBe('monotonic 5 0\nboottime 0 0\n');
  });

  it('masks files by attaching the empty file\'s tmpfs over the root only on kernels that need it (before 6.15)', () => {
    const sb = sandbox().proc().mask('/etc/hostname').files({ read: { deny: ['/etc/passwd'] } });
    const masks = (release: string) => compiled(sb, { kernelRelease: release }).ops.filter((o) => o.kind === Op.FS_MASK).map((o) => o.flags & FsFlag.MASK_ATTACH);
    expect(masks('6.1.0-57-amd64').length).toBeGreaterThan(3);
    expect(new Set(masks('6.1.0-57-amd64'))).toEqual(new Set([FsFlag.MASK_ATTACH]));
    expect(new Set(masks('6.14.0'))).toEqual(new Set([FsFlag.MASK_ATTACH]));
    expect(new Set(masks('6.15.0'))).toEqual(new Set([0]));
  });

  it('refuses what only the facts rule out, naming the option', () => {
    expect(() => compiled(sandbox().landlock({ write: ['/tmp'] }), { landlockAbi: 0 })).toThrow(
      expect.objectContaining({ code: 'ERR_NSBIND_INVALID', option: 'landlock' }),
    );
    expect(compiled(sandbox().landlock({ write: ['/tmp'] })).plan.isolation.landlock).toBe(4);
  });

  it('a pty gets a controlling terminal instead of setsid; a program with a path is not looked up', () => {
    const { plan } = compiled(sandbox(), { execPath: '' }, { pty: true, file: '/bin/true' });
    expect(plan.steps).toContain('controlling terminal');
    expect(plan.steps).not.toContain('setsid');
    expect(plan.steps.at(-1)).toBe('execve /bin/true');
  });

  it('mounts a kernel filesystem from its row in lib/fs/kinds.ts (.mqueue(): type, attributes, implied namespace)', async () => {
    const { STEP_KINDS, NOSUID, NODEV, NOEXEC } = await import('../../lib/fs/kinds.js');
    expect(STEP_KINDS.mqueue.mount).toEqual({ type: 'mqueue', attrs: NOSUID | NODEV | NOEXEC });
    const { plan, ops } = compiled(sandbox().mqueue());
    const i = plan.steps.indexOf('mqueue /dev/mqueue');
    expect(ops[i].kind).toBe(Op.FS_MOUNT);
    expect(ops[i].n0).toBe(0n);
    expect(plan.request.plan.includes(Buffer.from('\0mqueue\0'))).toBe(true);
    expect([...plan.isolation].sort()).toEqual(['ipc', 'mnt', 'user']);
    // Stored and replayed through the same row: its keys, and no others.
    expect(sandbox(JSON.parse(JSON.stringify(sandbox().mqueue('/q').options))).options.fs).toEqual([{ op: 'mqueue', dst: '/q' }]);
    expect(() => sandbox({ fs: [{ op: 'mqueue', dst: '/q', size: 1 }] } as never)).toThrow(expect.objectContaining({ code: 'ERR_NSBIND_INVALID' }));
  });

  it("every step kind is a method of Sandbox's own: loading lib/sandbox.js alone has them (no module adds them by being imported)", async () => {
    const { STEP_KINDS } = await import('../../lib/fs/kinds.js');
    const methods = [...Object.keys(STEP_KINDS), 'roBind', 'landlock', 'lockFile', 'joinCgroup'];
    // A process of its own, which loads dist/sandbox.js and nothing else of nsbind first.
    const { execFileSync } = await import('node:child_process');
    const out = execFileSync(process.execPath, ['-e', `const { Sandbox } = require(${JSON.stringify(distModule('sandbox'))}); console.log(JSON.stringify(${JSON.stringify(methods)}.filter((m) => typeof Sandbox.prototype[m] !== 'function')))`], { encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual([]);
  });
});
