// Limits validation, limit-file contents and layout detection, without touching the kernel.
import { describe, expect, it } from 'vitest';
import { NsbindError } from '../../lib/errors.js';
import { layoutFrom, parseMountinfo, parseProcCgroup } from '../../lib/cgroup/layout.js';
import { controllersFor, normalizeLimits, parseBytes, weightToShares } from '../../lib/cgroup/limits.js';
import { v1HierarchiesFor, v1Settings } from '../../lib/cgroup/v1.js';
import { v2Settings } from '../../lib/cgroup/v2.js';
import { chooseHierarchies } from '../../lib/cgroup/sandbox-cgroup.js';
import { ownerOf } from '../../lib/cgroup/reclaim.js';
import { pathOfDir, planV2, type CgroupView } from '../../lib/cgroup/placement.js';
import { invalidOption as invalidLimits } from '../helpers/index.js';
import { noInternalProcessesHint, systemdRuns } from '../../lib/cgroup/hints.js';
// Where systemd runs the hint is systemd-run; elsewhere an administrator's delegation.
const DELEGATE_HINT = systemdRuns() ? 'systemd-run --user --scope -p Delegate=yes' : 'have an administrator create a cgroup for you';


const invalidOption = (fn: () => unknown) => invalidLimits(fn, /^nsbind: limits/);

describe('parseBytes', () => {
  it.each([
    [4096, 4096],
    ['4096', 4096],
    ['512K', 512 * 1024],
    ['256M', 256 * 2 ** 20],
    ['256m', 256 * 2 ** 20],
    ['256MiB', 256 * 2 ** 20],
    ['256MB', 256 * 2 ** 20],
    ['1.5G', 1.5 * 2 ** 30],
    ['2T', 2 * 2 ** 40],
    [' 64M ', 64 * 2 ** 20],
  ])('%j is %d bytes', (input, bytes) => {
    expect(parseBytes('limits.memory', input)).toBe(bytes);
  });

  it.each(['12bogus', '', 'M', '-1M', '1e3', '0x10', '1.5.2G', '10 P'])('%j is refused', (input) => {
    expect(invalidOption(() => parseBytes('limits.memory', input))).toBe('limits.memory');
  });

  it.each([0, -1, 1.5, NaN, Infinity, 2 ** 60, null, {}, [], true])('%j is refused', (input) => {
    expect(invalidOption(() => parseBytes('limits.memory', input))).toBe('limits.memory');
  });
});

describe('normalizeLimits: bad input names the option', () => {
  it.each([
    [{ memory: '12bogus' }, 'limits.memory'],
    [{ memory: 0 }, 'limits.memory'],
    [{ memory: -5 }, 'limits.memory'],
    [{ memory: '-5M' }, 'limits.memory'],
    [{ memory: 100 }, 'limits.memory'], // below one page
    [{ pids: 0 }, 'limits.pids'],
    [{ pids: -3 }, 'limits.pids'],
    [{ pids: 2.5 }, 'limits.pids'],
    [{ pids: '32' }, 'limits.pids'],
    [{ pids: 5_000_000 }, 'limits.pids'],
    [{ cpu: 0 }, 'limits.cpu'],
    [{ cpu: -1 }, 'limits.cpu'],
    [{ cpu: NaN }, 'limits.cpu'],
    [{ cpu: Infinity }, 'limits.cpu'],
    [{ cpu: '0.5' }, 'limits.cpu'],
    [{ cpu: 0.005 }, 'limits.cpu'], // 500us < the kernel's 1000us minimum quota
    [{ memorySwap: '1G' }, 'limits.memorySwap'],
    [{ memory: '1G', memorySwap: '512M' }, 'limits.memorySwap'],
    [{ memory: '1G', memorySwap: 'lots' }, 'limits.memorySwap'],
    [{ cpuWeight: 0 }, 'limits.cpuWeight'],
    [{ cpuWeight: 10_001 }, 'limits.cpuWeight'],
    [{ cpuWeight: 1.5 }, 'limits.cpuWeight'],
    [{ cpuWeight: '100' }, 'limits.cpuWeight'],
    [{ memroy: '1G' }, 'limits.memroy'],
  ])('%j -> %s', (input, option) => {
    expect(invalidOption(() => normalizeLimits(input))).toBe(option);
  });

  it.each([null, 'memory', 42, []])('%j is not a limits object', (input) => {
    expect(invalidOption(() => normalizeLimits(input))).toBe('limits');
  });

  it('the minimum cpu is one quota of 1000us per 100ms period', () => {
    expect(normalizeLimits({ cpu: 0.01 })).toEqual({ cpuQuotaUs: 1000, cpuPeriodUs: 100_000 });
  });
});

describe('normalizeLimits: kernel units', () => {
  it('memory alone means no swap', () => {
    expect(normalizeLimits({ memory: '64M' })).toEqual({ memory: 64 * 2 ** 20, memorySwap: 64 * 2 ** 20 });
  });

  it('memorySwap is memory plus swap', () => {
    expect(normalizeLimits({ memory: '64M', memorySwap: '96M' })).toEqual({
      memory: 64 * 2 ** 20,
      memorySwap: 96 * 2 ** 20,
      memorySwapExplicit: true,
    });
  });

  it('cpu cores become a CFS quota per 100ms period', () => {
    expect(normalizeLimits({ cpu: 0.25 })).toEqual({ cpuQuotaUs: 25_000, cpuPeriodUs: 100_000 });
    expect(normalizeLimits({ cpu: 2 })).toEqual({ cpuQuotaUs: 200_000, cpuPeriodUs: 100_000 });
  });

  it('pids and cpuWeight pass through', () => {
    expect(normalizeLimits({ pids: 32, cpuWeight: 50 })).toEqual({ pids: 32, cpuWeight: 50 });
  });

  it('lists the controllers needed', () => {
    expect(controllersFor(normalizeLimits({}))).toEqual([]);
    expect(controllersFor(normalizeLimits({ memory: '1G', pids: 3, cpuWeight: 5 }))).toEqual(['memory', 'pids', 'cpu']);
  });
});

describe('weightToShares (runc mapping)', () => {
  it('meets v1 at the ends and at the defaults', () => {
    expect(weightToShares(1)).toBe(2);
    expect(weightToShares(100)).toBe(1024);
    expect(weightToShares(10_000)).toBe(262_144);
  });

  it('is monotonic', () => {
    let last = 0;
    for (let w = 1; w <= 10_000; w += 7) {
      const s = weightToShares(w);
      expect(s).toBeGreaterThanOrEqual(last);
      last = s;
    }
  });
});

describe('limit files', () => {
  it('v2 per Documentation/admin-guide/cgroup-v2.rst', () => {
    const l = normalizeLimits({ memory: '64M', memorySwap: '96M', pids: 32, cpu: 0.25, cpuWeight: 200 });
    expect(v2Settings(l).map((s) => [s.file, s.value])).toEqual([
      ['memory.max', String(64 * 2 ** 20)],
      ['memory.swap.max', String(32 * 2 ** 20)], // swap alone
      ['pids.max', '32'],
      ['cpu.max', '25000 100000'],
      ['cpu.weight', '200'],
    ]);
  });

  it('v2 without memorySwap: no swap, skipped where the kernel has no swap accounting', () => {
    const s = v2Settings(normalizeLimits({ memory: '64M' }));
    expect(s).toEqual([
      { file: 'memory.max', value: String(64 * 2 ** 20), required: true },
      { file: 'memory.swap.max', value: '0', required: false },
    ]);
  });

  it('v1: memory before memsw, period before quota, weight as shares', () => {
    const l = normalizeLimits({ memory: '64M', memorySwap: '96M', pids: 32, cpu: 0.25, cpuWeight: 100 });
    const s = v1Settings(l);
    expect([...s.keys()]).toEqual(['memory', 'pids', 'cpu']);
    expect(s.get('memory')!.map((x) => [x.file, x.value])).toEqual([
      ['memory.limit_in_bytes', String(64 * 2 ** 20)],
      ['memory.memsw.limit_in_bytes', String(96 * 2 ** 20)], // memory plus swap
    ]);
    expect(s.get('pids')!.map((x) => [x.file, x.value])).toEqual([['pids.max', '32']]);
    expect(s.get('cpu')!.map((x) => [x.file, x.value])).toEqual([
      ['cpu.cfs_period_us', '100000'],
      ['cpu.cfs_quota_us', '25000'],
      ['cpu.shares', '1024'],
    ]);
  });
});

// ---------------------------------------------------------------------------------
// Layout fixtures.

const HYBRID_MOUNTINFO = `22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;
const HYBRID_CGROUP = `9:name=systemd:/user.slice
8:pids:/user.slice/session-1.scope
4:memory:/process_api/fa39
2:cpuacct:/
1:cpu:/
0::/user.slice/session-1.scope
`;

const V2_MOUNTINFO = `24 1 0:22 / / rw shared:1 - btrfs /dev/nvme0n1p3 rw
35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`;
const V2_CGROUP = '0::/user.slice/user-1000.slice/user@1000.service/app.slice/node.scope\n';

const V1_MOUNTINFO = `25 18 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:8 - tmpfs tmpfs ro,mode=755
26 25 0:23 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:9 - cgroup cgroup rw,xattr,release_agent=/usr/lib/systemd/systemd-cgroups-agent,name=systemd
28 25 0:25 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,cpu,cpuacct
29 25 0:26 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,memory
30 25 0:27 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:12 - cgroup cgroup rw,pids
`;
const V1_CGROUP = `11:pids:/system.slice/app.service
4:memory:/system.slice/app.service
3:cpu,cpuacct:/system.slice/app.service
1:name=systemd:/system.slice/app.service
`;

describe('parsing', () => {
  it('reads cgroup mounts, their controllers and unescapes paths', () => {
    const m = parseMountinfo(
      V1_MOUNTINFO + '50 25 0:40 /sub /mnt/my\\040cgroups ro,relatime - cgroup2 cgroup2 rw\n',
    );
    expect(m.map((x) => [x.version, x.mountPoint, x.controllers])).toEqual([
      [1, '/sys/fs/cgroup/systemd', []],
      [1, '/sys/fs/cgroup/cpu,cpuacct', ['cpu', 'cpuacct']],
      [1, '/sys/fs/cgroup/memory', ['memory']],
      [1, '/sys/fs/cgroup/pids', ['pids']],
      [2, '/mnt/my cgroups', []],
    ]);
    expect(m[0].name).toBe('systemd');
    expect(m[4]).toMatchObject({ root: '/sub', readOnly: true });
  });

  it('reads /proc/self/cgroup lines', () => {
    expect(parseProcCgroup(V1_CGROUP + '0::/\n')).toEqual([
      { id: 11, controllers: ['pids'], path: '/system.slice/app.service' },
      { id: 4, controllers: ['memory'], path: '/system.slice/app.service' },
      { id: 3, controllers: ['cpu', 'cpuacct'], path: '/system.slice/app.service' },
      { id: 1, controllers: [], name: 'systemd', path: '/system.slice/app.service' },
      { id: 0, controllers: [], path: '/' },
    ]);
  });

  it('recognises sandbox cgroup names', () => {
    expect(ownerOf('nsbind-1234-7')).toBe(1234);
    expect(ownerOf('nsbind-x-7')).toBeUndefined();
    expect(ownerOf('user.slice')).toBeUndefined();
  });
});

describe('layout detection', () => {
  it('hybrid: v1 controllers plus a cgroup2 mount', () => {
    const l = layoutFrom(HYBRID_MOUNTINFO, HYBRID_CGROUP, () => ['hugetlb']);
    expect(l.kind).toBe('hybrid');
    expect(l.v2).toMatchObject({
      mountPoint: '/sys/fs/cgroup/unified',
      ownDir: '/sys/fs/cgroup/unified/user.slice/session-1.scope',
      controllers: ['hugetlb'],
    });
    expect(l.v1.get('memory')!.ownDir).toBe('/sys/fs/cgroup/memory/process_api/fa39');
    expect(l.v1.get('pids')!.ownDir).toBe('/sys/fs/cgroup/pids/user.slice/session-1.scope');
    expect(l.v1.get('cpu')!.ownDir).toBe('/sys/fs/cgroup/cpu');
    expect(l.v1.has('systemd')).toBe(false);
  });

  it('pure v2: our cgroup under the one cgroup2 mount', () => {
    const l = layoutFrom(V2_MOUNTINFO, V2_CGROUP, (dir) => {
      expect(dir).toBe('/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/app.slice/node.scope');
      return ['memory', 'pids', 'cpu'];
    });
    expect(l.kind).toBe('v2');
    expect(l.v1.size).toBe(0);
    expect(l.v2!.ownPath).toBe('/user.slice/user-1000.slice/user@1000.service/app.slice/node.scope');
  });

  it('v1 only, with cpu and cpuacct co-mounted', () => {
    const l = layoutFrom(V1_MOUNTINFO, V1_CGROUP, () => []);
    expect(l.kind).toBe('v1');
    expect(l.v2).toBeUndefined();
    expect(l.v1.get('cpu')).toBe(l.v1.get('cpuacct'));
    expect(l.v1.get('cpu')!.ownDir).toBe('/sys/fs/cgroup/cpu,cpuacct/system.slice/app.service');
  });

  it('a container whose mounts show a sub-tree', () => {
    const mi = '40 30 0:38 /docker/abc /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n';
    expect(layoutFrom(mi, '0::/docker/abc/worker\n', () => []).v2!.ownDir).toBe('/sys/fs/cgroup/worker');
    expect(layoutFrom(mi, '0::/docker/abc\n', () => []).v2!.ownDir).toBe('/sys/fs/cgroup');
    // Our cgroup is not visible through this mount.
    expect(layoutFrom(mi, '0::/docker/other\n', () => []).v2).toBeUndefined();
    // Outside our cgroup namespace's root.
    expect(layoutFrom('40 30 0:38 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n', '0::/../x\n', () => []).v2).toBeUndefined();
  });

  it('nothing mounted', () => {
    expect(layoutFrom('', '', () => []).kind).toBe('none');
  });
});

describe('choosing the hierarchy', () => {
  const hybrid = layoutFrom(HYBRID_MOUNTINFO, HYBRID_CGROUP, () => []);
  const v2 = layoutFrom(V2_MOUNTINFO, V2_CGROUP, () => ['memory', 'pids', 'cpu']);
  const v2NoMemory = layoutFrom(V2_MOUNTINFO, V2_CGROUP, () => ['pids', 'cpu']);

  it('hybrid without v2 controllers: v1 for limits, v2 first for placement only', () => {
    expect(chooseHierarchies(hybrid, normalizeLimits({ memory: '1G' }), 'auto')).toEqual(['v1']);
    expect(chooseHierarchies(hybrid, normalizeLimits({}), 'auto')).toEqual(['v2', 'v1']);
  });

  it('pure v2 is v2, even when a controller is missing (so v2 explains what is missing)', () => {
    expect(chooseHierarchies(v2, normalizeLimits({ memory: '1G', pids: 4 }), 'auto')).toEqual(['v2']);
    expect(chooseHierarchies(v2NoMemory, normalizeLimits({ memory: '1G' }), 'auto')).toEqual(['v2']);
  });

  it('a forced hierarchy must exist', () => {
    expect(chooseHierarchies(hybrid, normalizeLimits({ pids: 3 }), 'v2')).toEqual(['v2']);
    expect(() => chooseHierarchies(v2, normalizeLimits({}), 'v1')).toThrow(/no cgroup v1 hierarchy/);
    const none = layoutFrom('', '', () => []);
    expect(() => chooseHierarchies(none, normalizeLimits({ pids: 3 }), 'auto')).toThrow(
      expect.objectContaining({ code: 'ERR_NSBIND_CGROUP', hint: expect.stringContaining(DELEGATE_HINT) }),
    );
  });

  it('v1 uses one directory per hierarchy: the needed ones, pids to track, cpuacct to account', () => {
    const dirs = v1HierarchiesFor(normalizeLimits({ memory: '1G', cpu: 1 }), hybrid.v1).map((h) => h.mountPoint);
    expect(dirs).toEqual(['/sys/fs/cgroup/memory', '/sys/fs/cgroup/cpu', '/sys/fs/cgroup/pids', '/sys/fs/cgroup/cpuacct']);
    const v1 = layoutFrom(V1_MOUNTINFO, V1_CGROUP, () => []);
    expect(v1HierarchiesFor(normalizeLimits({ cpu: 1 }), v1.v1).map((h) => h.mountPoint)).toEqual([
      '/sys/fs/cgroup/cpu,cpuacct',
      '/sys/fs/cgroup/pids',
    ]);
  });
});

describe('planV2: where sandbox cgroups go on cgroup v2', () => {
  const NODE = 4242;
  /** A cgroupfs made of a map; missing files do not exist, `locked` are not writable. */
  function view(files: Record<string, string>, locked: string[] = [], systemd = true): CgroupView {
    return {
      read: (p) => files[p],
      exists: (p) => p in files,
      writable: (p) => !locked.some((l) => p === l || p.startsWith(l + '/')) && (p in files || Object.keys(files).some((f) => f.startsWith(p + '/'))),
      systemd,
    };
  }
  const cg = (dir: string, procs: string, type = 'domain') => ({
    [`${dir}/cgroup.procs`]: procs,
    [`${dir}/cgroup.type`]: type,
    [`${dir}/cgroup.subtree_control`]: '',
    [`${dir}/cgroup.controllers`]: 'cpu memory pids',
  });
  const scope = '/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/app.slice/run-r1.scope';
  const h = { version: 2 as const, mountPoint: '/sys/fs/cgroup', ownDir: scope, ownPath: scope.slice(14), controllers: [], readOnly: false };
  const err = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(NsbindError);
      return e as NsbindError;
    }
    throw new Error('did not throw');
  };

  it('Node alone in a delegated scope: Node moves into nsbind-node, sandboxes go beside it', () => {
    expect(planV2(h, 'v2', undefined, NODE, view(cg(scope, `${NODE}\n`)))).toEqual({
      parentDir: scope, parentPath: h.ownPath, via: 'leaf', moveNodeTo: `${scope}/nsbind-node`,
    });
  });

  it('after the move, the parent of nsbind-node holds the sandboxes and nothing moves again', () => {
    const leaf = { ...h, ownDir: `${scope}/nsbind-node`, ownPath: `${h.ownPath}/nsbind-node` };
    expect(planV2(leaf, 'v2', undefined, NODE, view({ ...cg(scope, ''), ...cg(leaf.ownDir, `${NODE}\n`) }))).toEqual({
      parentDir: scope, parentPath: h.ownPath, via: 'leaf',
    });
  });

  it('Node shares its cgroup: no process moves, the hint gives the systemd recipe and NSBIND_CGROUP_PARENT', () => {
    const e = err(() => planV2(h, 'v2', undefined, NODE, view(cg(scope, `17\n${NODE}\n`))));
    expect(e.code).toBe('ERR_NSBIND_CGROUP');
    expect(e.message).toMatch(/shares its cgroup .* with 1 other process/);
    expect(e.hint).toMatch(/systemd-run --user --scope -p Delegate=yes/);
    expect(e.hint).toMatch(/NSBIND_CGROUP_PARENT=/);
    expect(e.hint).not.toMatch(/system\.slice/);
    // Without systemd the hint does not suggest it.
    expect(err(() => planV2(h, 'v2', undefined, NODE, view(cg(scope, `17\n${NODE}\n`), [], false))).hint).not.toMatch(/systemd/);
  });

  it('a cgroup not delegated to us, or already a thread root, is refused', () => {
    expect(err(() => planV2(h, 'v2', undefined, NODE, view(cg(scope, `${NODE}\n`), [scope]))).message).toMatch(/not writable/);
    expect(err(() => planV2(h, 'v2', undefined, NODE, view(cg(scope, `${NODE}\n`, 'domain threaded')))).message).toMatch(/domain threaded/);
  });

  it('the real root (no cgroup.type) is exempt from the rule; a cgroup namespace root is not', () => {
    const root = { ...h, ownDir: '/sys/fs/cgroup', ownPath: '/' };
    const files = { '/sys/fs/cgroup/cgroup.procs': `1\n${NODE}\n`, '/sys/fs/cgroup/cgroup.subtree_control': '' };
    expect(planV2(root, 'v2', undefined, NODE, view(files))).toMatchObject({ parentDir: '/sys/fs/cgroup', via: 'root' });
    // A container with its own cgroup namespace: "0::/" but a cgroup.type file.
    expect(planV2(root, 'v2', undefined, NODE, view(cg('/sys/fs/cgroup', `${NODE}\n`)))).toMatchObject({ via: 'leaf', moveNodeTo: '/sys/fs/cgroup/nsbind-node' });
  });

  it('hybrid hosts: nothing moves', () => {
    expect(planV2(h, 'hybrid', undefined, NODE, view(cg(scope, `${NODE}\n`)))).toEqual({ parentDir: scope, parentPath: h.ownPath, via: 'own' });
  });

  it('NSBIND_CGROUP_PARENT: an empty delegated cgroup of the hierarchy, checked', () => {
    const svc = '/sys/fs/cgroup/system.slice/app.service';
    const hs = { ...h, ownDir: `${svc}/main`, ownPath: '/system.slice/app.service/main' };
    const files = { ...cg(`${svc}/main`, `${NODE}\n9\n`), ...cg(`${svc}/sandboxes`, '') };
    expect(planV2(hs, 'v2', `${svc}/sandboxes/`, NODE, view(files))).toEqual({
      parentDir: `${svc}/sandboxes`, parentPath: '/system.slice/app.service/sandboxes', via: 'env',
    });
    expect(err(() => planV2(hs, 'v2', 'relative/x', NODE, view(files))).message).toMatch(/not a directory of the cgroup2 hierarchy/);
    expect(err(() => planV2(hs, 'v2', '/tmp/x', NODE, view(files))).message).toMatch(/not a directory of the cgroup2 hierarchy/);
    expect(err(() => planV2(hs, 'v2', `${svc}/nope`, NODE, view(files))).message).toMatch(/not a cgroup/);
    expect(err(() => planV2(hs, 'v2', `${svc}/main`, NODE, view(files))).message).toMatch(/holds processes/);
    expect(err(() => planV2(hs, 'v2', `${svc}/sandboxes`, NODE, view(files, [`${svc}/sandboxes`]))).message).toMatch(/not writable/);
  });

  it('cgroup paths inside a cgroup namespace whose mount root is not /', () => {
    const ns = { ...h, mountPoint: '/sys/fs/cgroup', ownDir: '/sys/fs/cgroup/a', ownPath: '/ns/a' };
    expect(pathOfDir(ns, '/sys/fs/cgroup/b')).toBe('/ns/b');
    expect(pathOfDir({ ...ns, ownDir: '/sys/fs/cgroup', ownPath: '/' }, '/sys/fs/cgroup/b')).toBe('/b');
  });
});

describe('hints', () => {
  it('suggest systemd-run only where systemd runs', () => {
    expect(noInternalProcessesHint('/sys/fs/cgroup/x', ['memory'], true)).toContain('systemd-run --user --scope -p Delegate=yes');
    const without = noInternalProcessesHint('/sys/fs/cgroup/x', ['memory'], false);
    expect(without).not.toContain('systemd');
    expect(without).toContain('only process of a cgroup delegated to you');
  });
});
