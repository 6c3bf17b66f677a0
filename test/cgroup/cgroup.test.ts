// Real sandbox cgroups beneath this test process's own cgroup, on v1 and on v2, filled with
// processes this test started (`sleep`), then destroyed. Nothing here moves a process the
// test did not start, and everything created is removed.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readlinkSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NsbindError } from '../../lib/errors.js';
import { normalizeLimits, weightToShares } from '../../lib/cgroup/limits.js';
import { isAlive, reclaimStale } from '../../lib/cgroup/reclaim.js';
import { currentLayout, prepareCgroup, type SandboxCgroup } from '../../lib/cgroup/sandbox-cgroup.js';
import { cgroupTree } from '../../lib/cgroup/teardown.js';
import { systemdRuns } from '../../lib/cgroup/hints.js';
import { PARENT_ENV, planV2, realView } from '../../lib/cgroup/placement.js';
import { requires } from '../helpers/index.js';
// Where systemd runs the hint is systemd-run; elsewhere an administrator's delegation.
const DELEGATE_HINT = systemdRuns() ? 'systemd-run --user --scope -p Delegate=yes' : 'have an administrator create a cgroup for you';


const layout = currentLayout();
const hasV1 = ['memory', 'pids', 'cpu'].every((c) => layout.v1.has(c));
const hasV2 = layout.v2 !== undefined && !layout.v2.readOnly;
/**
 * Where v2 sandbox cgroups go on this host (lib/cgroup/placement.ts): our own cgroup, or
 * on a pure v2 host where Node shares it, the cgroup Node's leaf was made in, or
 * NSBIND_CGROUP_PARENT. Read when asked: a placement may have moved Node since.
 */
function v2Parent(): string {
  try {
    return planV2(layout.v2!, layout.kind, process.env[PARENT_ENV], process.pid, realView).parentDir.replace(/\/$/, '');
  } catch {
    return layout.v2!.ownDir.replace(/\/$/, '');
  }
}
const isRoot = process.getuid?.() === 0;

// Every case makes cgroups beneath ours: doctor() says whether we may (and how to).
requires('cgroup');

const started: ChildProcess[] = [];
const made: SandboxCgroup[] = [];

afterAll(async () => {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const cg of made) await cg.destroy().catch(() => {});
});

/** A `sleep` this test owns, and a promise of how it ended. */
function sleeper(): { child: ChildProcess; ended: Promise<NodeJS.Signals | number | null> } {
  const child = spawn('sleep', ['1000'], { stdio: 'ignore' });
  started.push(child);
  const ended = new Promise<NodeJS.Signals | number | null>((resolve) =>
    child.on('exit', (code, signal) => resolve(signal ?? code)),
  );
  return { child, ended };
}

async function prepare(...args: Parameters<typeof prepareCgroup>): Promise<SandboxCgroup> {
  const cg = await prepareCgroup(...args);
  made.push(cg);
  return cg;
}

const read = (path: string) => readFileSync(path, 'utf8').trim();
const pidsIn = (procs: string) => read(procs).split('\n').filter(Boolean).map(Number);

describe.skipIf(!hasV1)(hasV1 ? 'v1' : 'v1 (skipped: no v1 memory, pids and cpu hierarchies here)', () => {
  it('creates one directory per hierarchy beneath our own cgroups, with the limit files written', async () => {
    const cg = await prepare(
      normalizeLimits({ memory: '64M', pids: 32, cpu: 0.5, cpuWeight: 50 }),
      { hierarchy: 'v1' },
    );
    expect(cg.version).toBe(1);
    expect(cg.cloneIntoFd).toBeUndefined();
    const dirOf = (c: string) => cg.dirs.find((d) => d.startsWith(layout.v1.get(c)!.ownDir + '/'))!;
    for (const c of ['memory', 'pids', 'cpu']) {
      expect(dirOf(c)).toMatch(new RegExp(`/nsbind-${process.pid}-\\d+$`));
      expect(existsSync(dirOf(c))).toBe(true);
    }
    expect(read(join(dirOf('memory'), 'memory.limit_in_bytes'))).toBe(String(64 * 2 ** 20));
    if (existsSync(join(dirOf('memory'), 'memory.memsw.limit_in_bytes'))) {
      expect(read(join(dirOf('memory'), 'memory.memsw.limit_in_bytes'))).toBe(String(64 * 2 ** 20));
    }
    expect(read(join(dirOf('pids'), 'pids.max'))).toBe('32');
    expect(read(join(dirOf('cpu'), 'cpu.cfs_period_us'))).toBe('100000');
    expect(read(join(dirOf('cpu'), 'cpu.cfs_quota_us'))).toBe('50000');
    expect(read(join(dirOf('cpu'), 'cpu.shares'))).toBe(String(weightToShares(50)));
    expect(cg.procsFiles).toEqual(cg.dirs.map((d) => join(d, 'cgroup.procs')));

    await cg.destroy();
    for (const d of cg.dirs) expect(existsSync(d)).toBe(false);
  });

  it('holds processes placed through procsFiles, counts them, and destroy() kills them and removes every directory', async () => {
    const cg = await prepare(normalizeLimits({ memory: '64M', pids: 32 }), { hierarchy: 'v1' });
    const a = sleeper();
    const b = sleeper();
    for (const s of [a, b]) for (const f of cg.procsFiles) writeFileSync(f, String(s.child.pid));
    const own = read(`/proc/${a.child.pid}/cgroup`);
    for (const line of cg.procCgroupLines) expect(own).toContain(line);
    // A sub-cgroup, as a sandboxed program could make one, holding one of them.
    const pidsDir = cg.dirs.find((d) => d.startsWith(layout.v1.get('pids')!.ownDir + '/'))!;
    mkdirSync(join(pidsDir, 'inner'));
    writeFileSync(join(pidsDir, 'inner', 'cgroup.procs'), String(b.child.pid));
    expect(pidsIn(join(pidsDir, 'cgroup.procs'))).toEqual([a.child.pid]);

    const usage = await cg.finish();
    expect(usage.oom).toBe(false);
    // v1 does not move charges with a process (move_charge_at_immigrate), so only the
    // presence of the counter can be checked here; limits.test.ts checks its value.
    expect(usage.memoryPeakBytes).toBeTypeOf('number');
    // (Moving into a child cgroup charges it before uncharging the old one: the peak may read 3.)
    if (existsSync(join(pidsDir, 'pids.peak'))) expect(usage.pidsPeak).toBeGreaterThanOrEqual(2);

    await cg.destroy();
    expect(await a.ended).toBe('SIGKILL');
    expect(await b.ended).toBe('SIGKILL');
    for (const d of cg.dirs) expect(existsSync(d)).toBe(false);
    await cg.destroy(); // idempotent
  });

  it('refuses memorySwap where there is no swap accounting, or writes it', async () => {
    const memDir = layout.v1.get('memory')!.ownDir;
    const limits = normalizeLimits({ memory: '64M', memorySwap: '96M' });
    // Our own memory cgroup tells whether the kernel keeps swap accounting.
    if (existsSync(join(memDir, 'memory.memsw.limit_in_bytes'))) {
      const cg = await prepare(limits, { hierarchy: 'v1' });
      const dir = cg.dirs.find((d) => d.startsWith(memDir + '/'))!;
      expect(read(join(dir, 'memory.memsw.limit_in_bytes'))).toBe(String(96 * 2 ** 20));
      await cg.destroy();
    } else {
      await expect(prepareCgroup(limits, { hierarchy: 'v1' })).rejects.toMatchObject({ code: 'ENOENT', hint: expect.stringMatching(/swapaccount/) });
    }
  });

  it('a bad limit value leaves nothing behind', async () => {
    const hierarchies = ['memory', 'pids', 'cpu', 'cpuacct'].flatMap((c) => layout.v1.get(c)?.ownDir ?? []);
    const snapshot = async () => (await Promise.all(hierarchies.map((d) => cgroupTree(d)))).flat().sort();
    const before = await snapshot();
    // normalizeLimits() would refuse this quota (below the kernel's 1000us minimum): pass
    // it as is, so the kernel refuses the write and the half-made cgroup must be undone.
    await expect(
      prepareCgroup({ cpuQuotaUs: 10, cpuPeriodUs: 100_000 }, { hierarchy: 'v1' }),
    ).rejects.toMatchObject({ code: 'EINVAL', step: 'limits: write cpu.cfs_quota_us' });
    expect(await snapshot()).toEqual(before);
  });
});

describe.skipIf(!hasV2)(hasV2 ? 'v2' : 'v2 (skipped: no writable cgroup2 mount here)', () => {
  it('placement, cgroup.kill and cleanup, with a sub-cgroup the sandbox made', async () => {
    const cg = await prepare(normalizeLimits({}), { hierarchy: 'v2' });
    expect(cg.version).toBe(2);
    const [dir] = cg.dirs;
    expect(dir.startsWith(v2Parent() + '/nsbind-')).toBe(true);
    expect(cg.procsFiles).toEqual([]);
    // The fd the addon places the sandbox's init with is the directory itself.
    expect(cg.cloneIntoFd).toBeGreaterThanOrEqual(0);
    expect(readlinkSync(`/proc/self/fd/${cg.cloneIntoFd}`)).toBe(dir);

    const a = sleeper();
    const b = sleeper();
    writeFileSync(join(dir, 'cgroup.procs'), String(a.child.pid));
    mkdirSync(join(dir, 'inner'));
    writeFileSync(join(dir, 'inner', 'cgroup.procs'), String(b.child.pid));
    expect(read(`/proc/${a.child.pid}/cgroup`)).toContain(`0:${cg.procCgroupLines[0]}\n`.trim());
    expect(read(`/proc/${b.child.pid}/cgroup`)).toContain(`0:${cg.procCgroupLines[0]}/inner`);
    expect(read(join(dir, 'cgroup.events'))).toContain('populated 1');

    const usage = await cg.finish();
    expect(usage.oom).toBe(false);
    expect(usage.cpuUsageUs).toBeGreaterThanOrEqual(0);

    const fd = cg.cloneIntoFd!;
    await cg.destroy();
    expect(await a.ended).toBe('SIGKILL');
    expect(await b.ended).toBe('SIGKILL');
    expect(existsSync(dir)).toBe(false);
    expect(() => readlinkSync(`/proc/self/fd/${fd}`)).toThrow(); // closed
  });

  const v2HasMemory = layout.v2?.controllers.includes('memory') === true;
  it.skipIf(v2HasMemory)(
    `a limit v2 cannot apply is an error, never dropped${v2HasMemory ? ' (skipped: this v2 has the memory controller)' : ''}`,
    async () => {
      const before = (await cgroupTree(layout.v2!.ownDir)).length;
      const err = await prepareCgroup(normalizeLimits({ memory: '64M' }), { hierarchy: 'v2' }).catch((e) => e);
      expect(err).toBeInstanceOf(NsbindError);
      expect(err.code).toBe('ERR_NSBIND_CGROUP');
      expect(err.message).toMatch(/memory/);
      expect(err.hint).toMatch(/cgroup\.controllers/);
      expect((await cgroupTree(layout.v2!.ownDir)).length).toBe(before);
    },
  );
});

describe('stale sandbox cgroups of dead Node processes', () => {
  async function deadPid(): Promise<number> {
    const c = spawn('true');
    await new Promise((r) => c.on('exit', r));
    expect(isAlive(c.pid!)).toBe(false);
    return c.pid!;
  }

  it.skipIf(!hasV1 && !hasV2)(`are removed by the next prepareCgroup beneath the same parent; live or busy ones stay${hasV1 || hasV2 ? '' : ' (skipped: no cgroup hierarchy)'}`, async () => {
    const which = hasV1 ? 'v1' : 'v2';
    const parent = which === 'v1' ? layout.v1.get('pids')!.ownDir : v2Parent();
    const dead = await deadPid();
    const stale = join(parent, `nsbind-${dead}-1`);
    const staleNested = join(parent, `nsbind-${dead}-2`);
    const live = sleeper();
    const ofLive = join(parent, `nsbind-${live.child.pid}-1`);
    const busy = join(parent, `nsbind-${dead}-3`);
    const other = join(parent, `not-nsbind-${dead}-1`);
    for (const d of [stale, staleNested, join(staleNested, 'inner'), ofLive, busy, other]) mkdirSync(d);
    const inBusy = sleeper();
    writeFileSync(join(busy, 'cgroup.procs'), String(inBusy.child.pid));
    try {
      const cg = await prepare(normalizeLimits({ pids: 8 }), { hierarchy: which });
      expect(existsSync(stale)).toBe(false);
      expect(existsSync(staleNested)).toBe(false);
      expect(existsSync(ofLive)).toBe(true);
      expect(existsSync(busy)).toBe(true);
      expect(existsSync(other)).toBe(true);
      await cg.destroy();
    } finally {
      inBusy.child.kill('SIGKILL');
      await inBusy.ended;
      for (const d of [ofLive, busy, other]) if (existsSync(d)) rmdirSync(d);
    }
    expect(reclaimStale(parent)).toEqual([]);
  });
});

describe.skipIf(!isRoot)(`where no hierarchy is writable${isRoot ? '' : ' (skipped: needs root to run a child as nobody)'}`, () => {
  it('fails with a hint to get a delegated cgroup', () => {
    // A separate process as uid nobody: our own cgroups are root's, so nothing is writable.
    const script = `
      const { prepareCgroup } = require('./dist/cgroup/sandbox-cgroup.js');
      const { normalizeLimits } = require('./dist/cgroup/limits.js');
      (async () => {
        const out = [];
        for (const [limits, hierarchy] of [[{ pids: 4 }, 'auto'], [{}, 'auto'], [{}, 'v2'], [{ memory: '8M' }, 'v1']]) {
          try { await prepareCgroup(normalizeLimits(limits), { hierarchy, cloneInto: false }); out.push('created'); }
          catch (e) { out.push({ code: e.code, hint: e.hint, message: e.message }); }
        }
        console.log(JSON.stringify(out));
      })();`;
    const r = spawnSync(process.execPath, ['-e', script], {
      cwd: join(__dirname, '..', '..'),
      uid: 65534,
      gid: 65534,
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    const results = JSON.parse(r.stdout) as Array<{ code: string; hint: string; message: string }>;
    expect(results).toHaveLength(4);
    for (const e of results) {
      // A refused write (EACCES/EPERM/EROFS), or on a pure v2 host the placement's own typed
      // refusal (ERR_NSBIND_CGROUP: no cgroup there may take a sandbox); the hint is the same.
      expect(['EACCES', 'EPERM', 'EROFS', 'ERR_NSBIND_CGROUP'], e.message).toContain(e.code);
      // (With NSBIND_CGROUP_PARENT set, a v2 refusal names that parent: delegate that one.)
      const hints = process.env[PARENT_ENV] ? [DELEGATE_HINT, 'delegate it (chown the directory'] : [DELEGATE_HINT];
      expect(hints.some((h) => e.hint.includes(h)), e.hint).toBe(true);
      expect(e.message).toMatch(/^nsbind: limits: /);
    }
  });
});
