// `.limits()` end to end: the kernel enforces them on real sandboxes, ExitResult says why
// a sandbox died, and no sandbox cgroup outlives its sandbox. Sandboxes whose programs
// fork run with `.pid()` so that nsbind's init reaps them (no orphan reaches the host's
// PID 1).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NsbindError, sandbox, type SandboxProcess } from '../../lib/index.js';
import type { Hierarchy } from '../../lib/cgroup/layout.js';
import { currentLayout } from '../../lib/cgroup/sandbox-cgroup.js';
import { PARENT_ENV, planV2, realView } from '../../lib/cgroup/placement.js';
import { readCgroupFileSync } from '../../lib/cgroup/files.js';
import { children, isRoot, openFds, requires, runAsNobody, until } from '../helpers/index.js';
import { systemdRuns } from '../../lib/cgroup/hints.js';
// Where systemd runs the hint is systemd-run; elsewhere an administrator's delegation.
const DELEGATE_HINT = systemdRuns() ? 'systemd-run --user --scope -p Delegate=yes' : 'have an administrator create a cgroup for you';


const layout = currentLayout();
/**
 * Where sandbox cgroups go on v2, as the spawn decides (lib/cgroup/placement.ts; looking
 * moves nothing): our own cgroup, the real root, NSBIND_CGROUP_PARENT (how the suite runs
 * on pure v2, where the runner's workers share a cgroup), or beside Node in its leaf.
 */
const v2Place = (() => {
  if (!layout.v2) return undefined;
  try {
    return planV2(layout.v2, layout.kind, process.env[PARENT_ENV], process.pid, realView);
  } catch {
    return undefined;
  }
})();
const v2Controllers = v2Place ? (readCgroupFileSync(join(v2Place.parentDir, 'cgroup.controllers')) ?? '').trim().split(/\s+/) : [];
/**
 * Whether some hierarchy offers all these controllers to the sandboxes. On v2, memory (a
 * domain controller) can be enabled beneath Node's own cgroup only when that is the root
 * cgroup ("no internal processes"); pids and cpu are threaded.
 */
const offers = (...cs: string[]) =>
  cs.every((c) => layout.v1.has(c)) ||
  cs.every((c) => v2Controllers.includes(c) && (c !== 'memory' || v2Place!.via !== 'own' || layout.v2!.ownPath === '/'));
const hybridV2 = layout.kind === 'hybrid' && layout.v2 !== undefined;

/** Every hierarchy's directory sandbox cgroups are made in (on v1 our own cgroup). */
function ownDirs(): string[] {
  const hs: Hierarchy[] = [...new Set(layout.v1.values())];
  const dirs = hs.map((h) => h.ownDir);
  if (v2Place) dirs.push(v2Place.parentDir);
  return dirs;
}

/** The sandbox cgroups of this process that exist now. */
function sandboxDirs(): string[] {
  const out: string[] = [];
  for (const d of ownDirs()) {
    for (const name of spawnSync('ls', [d], { encoding: 'utf8' }).stdout.split('\n')) {
      if (name.startsWith(`nsbind-${process.pid}-`)) out.push(join(d, name));
    }
  }
  return out;
}

/** Resolves once the sandbox runs (or failed to start). */
function started(p: SandboxProcess): Promise<unknown> {
  return new Promise((resolve) => {
    p.once('spawn', resolve);
    p.exited.then(resolve, resolve);
  });
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const read = (p: string) => readFileSync(p, 'utf8');
const keyed = (text: string) =>
  Object.fromEntries(text.trim().split('\n').map((l) => l.split(/\s+/)).map(([k, v]) => [k, Number(v)]));

describe('.limits() input', () => {
  it.each([
    [{ memory: '12bogus' }, 'limits.memory'],
    [{ memory: 0 }, 'limits.memory'],
    [{ pids: 0 }, 'limits.pids'],
    [{ cpu: 0.001 }, 'limits.cpu'],
    [{ memorySwap: '1G' }, 'limits.memorySwap'],
    [{ cpuWeight: 20_000 }, 'limits.cpuWeight'],
  ])('%j is refused before anything runs, naming %s', (l, option) => {
    let err: unknown;
    try {
      sandbox().limits(l as never);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NsbindError);
    expect(err).toMatchObject({ code: 'ERR_NSBIND_INVALID', option });
  });

  it('is plain data that sandbox(options) rebuilds', () => {
    const sb = sandbox().limits({ memory: '64M', pids: 32, cpu: 0.5 });
    expect(sb.options.limits).toEqual({ memory: '64M', pids: 32, cpu: 0.5 });
    expect(sandbox(JSON.parse(JSON.stringify(sb.options))).options).toEqual(sb.options);
    expect(() => sandbox({ limits: { pids: -1 } } as never)).toThrow(expect.objectContaining({ option: 'limits.pids' }));
  });
});

describe.skipIf(!offers('memory'))(`memory${offers('memory') ? '' : ' (skipped: no memory controller for our cgroup)'}`, () => {
  requires('cgroup');
  it("a 64 MiB sandbox allocating 256 MiB ends with reason 'oom'; Node is unharmed and the next sandbox runs", async () => {
    const r = await sandbox()
      .limits({ memory: '64M' })
      .run(process.execPath, ['-e', 'const k = []; for (let i = 0; i < 256; i++) k.push(Buffer.alloc(1 << 20, 1)); console.log("survived")']);
    expect(r.stdout).toBe('');
    expect(r).toMatchObject({ code: null, signal: 'SIGKILL', reason: 'oom' });
    expect(r.usage.memoryPeakBytes).toBeGreaterThan(32 * 2 ** 20);
    expect(r.usage.memoryPeakBytes).toBeLessThanOrEqual(64 * 2 ** 20);

    const next = await sandbox().limits({ memory: '64M' }).run('echo', ['still here']);
    expect(next).toMatchObject({ code: 0, reason: 'exit', stdout: 'still here\n' });
    expect(sandboxDirs()).toEqual([]);
  });

  it('a sandbox that stays below its limit ends normally with its peak reported', async () => {
    const r = await sandbox().limits({ memory: '256M' }).run(process.execPath, ['-e', 'Buffer.alloc(32 << 20, 1)']);
    expect(r).toMatchObject({ code: 0, reason: 'exit' });
    expect(r.usage.memoryPeakBytes).toBeGreaterThan(32 * 2 ** 20);
  });
});

describe.skipIf(!offers('pids'))(`pids${offers('pids') ? '' : ' (skipped: no pids controller for our cgroup)'}`, () => {
  requires('cgroup');
  it('a fork bomb under pids: 32 is contained, the host can still fork, it ends when asked and nothing is left', async () => {
    const p = sandbox().pid().limits({ pids: 32 }).spawn('sh', ['-c', 'f() { f | f & }; f & exec sleep 1000'], { stdio: 'ignore' });
    await started(p);
    // The kernel refused forks at the limit: pids.events counts them.
    const dir = await until('the sandbox cgroup', () => sandboxDirs().find((d) => existsSync(join(d, 'pids.events'))));
    await until('forks refused at pids.max', () => (keyed(read(join(dir, 'pids.events'))).max > 0 ? true : undefined));
    expect(Number(read(join(dir, 'pids.current')))).toBeLessThanOrEqual(32);
    expect(spawnSync('true').status).toBe(0);

    p.kill('SIGKILL');
    const r = await p.exited;
    expect(r.reason).toBe('signal');
    if (r.usage.pidsPeak !== undefined) expect(r.usage.pidsPeak).toBeLessThanOrEqual(32);
    expect(existsSync(dir)).toBe(false);
    expect(sandboxDirs()).toEqual([]);
  });
});

describe.skipIf(!offers('cpu'))(`cpu${offers('cpu') ? '' : ' (skipped: no cpu controller for our cgroup)'}`, () => {
  requires('cgroup');
  it('cpu: 0.25 keeps a busy loop near a quarter of a core, by the cgroup\'s own counters', async () => {
    const p = sandbox().limits({ cpu: 0.25 }).spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' });
    await started(p);
    const dirs = await until('the sandbox cgroup', () => {
      const d = sandboxDirs();
      return d.some((x) => existsSync(join(x, 'cpu.stat')) && /nr_periods/.test(read(join(x, 'cpu.stat')))) ? d : undefined;
    });
    // CPU time used and CFS periods elapsed, both counted by the kernel for this cgroup:
    // with a busy loop the cgroup is runnable in every period, so used / (periods x period)
    // is the share of a core it got.
    const sample = () => {
      let usageUs = 0;
      let periods = 0;
      for (const d of dirs) {
        if (existsSync(join(d, 'cpuacct.usage'))) usageUs = Number(read(join(d, 'cpuacct.usage'))) / 1000;
        const stat = existsSync(join(d, 'cpu.stat')) ? keyed(read(join(d, 'cpu.stat'))) : {};
        if (stat.usage_usec !== undefined) usageUs = stat.usage_usec;
        if (stat.nr_periods !== undefined) periods = stat.nr_periods;
      }
      return { usageUs, periods };
    };
    await new Promise((r) => setTimeout(r, 500));
    const a = sample();
    await new Promise((r) => setTimeout(r, 2500));
    const b = sample();
    p.kill('SIGKILL');
    await p.exited;
    const periods = b.periods - a.periods;
    expect(periods).toBeGreaterThan(10);
    const share = (b.usageUs - a.usageUs) / (periods * 100_000);
    expect(share).toBeGreaterThan(0.15);
    expect(share).toBeLessThan(0.35);
    expect(sandboxDirs()).toEqual([]);
  });
});

describe.skipIf(!offers('pids'))(`placement${offers('pids') ? '' : ' (skipped: no pids controller for our cgroup)'}`, () => {
  requires('cgroup');
  it("`cat /proc/self/cgroup` as the program shows the sandbox's cgroup beneath ours", async () => {
    const r = await sandbox().limits({ pids: 8 }).run('cat', ['/proc/self/cgroup']);
    const lines = r.stdout.split('\n').filter((l) => l.includes('/nsbind-'));
    expect(lines.length).toBeGreaterThan(0);
    const ours = readFileSync('/proc/self/cgroup', 'utf8').split('\n');
    for (const line of lines) {
      const [id, controllers] = line.split(':');
      // v2: beneath the parent the placement picked (ours, unless NSBIND_CGROUP_PARENT or a leaf).
      const own = id === '0' && v2Place ? `0::${v2Place.parentPath}` : ours.find((l) => l.startsWith(`${id}:${controllers}:`))!;
      expect(line).toMatch(new RegExp(`^${escape(own.replace(/\/$/, ''))}/nsbind-${process.pid}-\\d+$`));
    }
    if (layout.v1.has('pids')) expect(lines.some((l) => /^\d+:([^:]*,)?pids(,[^:]*)?:/.test(l))).toBe(true);
  });

  it('with .cgroup(), the sandbox sees its own cgroup as /', async () => {
    const plain = await sandbox().limits({ pids: 8 }).run('cat', ['/proc/self/cgroup']);
    const id = plain.stdout.split('\n').find((l) => l.includes('/nsbind-'))!.split(':')[0];
    const r = await sandbox().cgroup().limits({ pids: 8 }).run('cat', ['/proc/self/cgroup']);
    const line = r.stdout.split('\n').find((l) => l.split(':')[0] === id)!;
    expect(line.endsWith(':/')).toBe(true);
    expect(r.stdout).not.toContain('nsbind-');
  });
});

describe.skipIf(!hybridV2)(`cgroup v2 on a hybrid host${hybridV2 ? '' : ' (skipped: not a hybrid host with a cgroup2 mount)'}`, () => {
  requires('cgroup');
  it('placement (by the cgroup directory\'s fd), kill and cleanup on the cgroup2 mount', async () => {
    // No controller is needed, so the cgroup2 mount is used even without controllers.
    const r = await sandbox().limits({}).run('cat', ['/proc/self/cgroup']);
    const own = readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => l.startsWith('0::'))!;
    const line = r.stdout.split('\n').find((l) => l.startsWith('0::'))!;
    expect(line).toMatch(new RegExp(`^${escape(own.replace(/\/$/, ''))}/nsbind-${process.pid}-\\d+$`));

    const p = sandbox().pid().limits({}).spawn('sh', ['-c', 'sleep 1000 & sleep 1000 & wait'], { stdio: 'ignore' });
    await started(p);
    const dir = await until('the v2 sandbox cgroup', () =>
      sandboxDirs().find((d) => d.startsWith(layout.v2!.ownDir) && read(join(d, 'cgroup.procs')).trim().split('\n').length >= 4),
    );
    expect(read(join(dir, 'cgroup.events'))).toContain('populated 1');
    p.kill('SIGKILL');
    expect((await p.exited).reason).toBe('signal');
    expect(existsSync(dir)).toBe(false);
  });

  it('without clone3, the parent places the setup before it runs; .cgroup() roots there', async () => {
    process.env.NSBIND_NO_CLONE3 = '1';
    try {
      const r = await sandbox().limits({}).run('cat', ['/proc/self/cgroup']);
      expect(r.stdout).toMatch(new RegExp(`^0::.*/nsbind-${process.pid}-\\d+$`, 'm'));
      const ns = await sandbox().cgroup().limits({}).run('cat', ['/proc/self/cgroup']);
      expect(ns.stdout).toMatch(/^0::\/$/m);
    } finally {
      delete process.env.NSBIND_NO_CLONE3;
    }
    expect(sandboxDirs()).toEqual([]);
  });
});

describe.skipIf(!offers('pids', 'memory'))(
  `200 limited sandboxes${offers('pids', 'memory') ? '' : ' (skipped: no pids and memory controllers for our cgroup)'}`,
  () => {
    requires('cgroup');
    it('including failed setups and killed ones, leave no cgroup, fd or zombie behind', async () => {
      const fdsBefore = openFds().length;
      const one = async (i: number) => {
        switch (i % 5) {
          case 0: {
            // Setup failure: the program does not exist.
            const e = await sandbox().limits({ pids: 8 }).run('/nonexistent/program').catch((x) => x);
            expect(e).toMatchObject({ code: 'ENOENT' });
            return;
          }
          case 1: {
            // Killed at once, possibly before it runs.
            const p = sandbox().limits({ memory: '32M', pids: 8 }).spawn('sleep', ['1000'], { stdio: 'ignore' });
            p.kill('SIGKILL');
            expect((await p.exited).reason).toBe('signal');
            return;
          }
          case 2: {
            const p = sandbox().pid().limits({ pids: 8 }).spawn('sh', ['-c', 'sleep 1000 & sleep 1000 & wait'], { stdio: 'ignore' });
            await started(p);
            p.kill('SIGKILL');
            expect((await p.exited).reason).toBe('signal');
            return;
          }
          case 3:
            expect(await sandbox().limits({}).run('true')).toMatchObject({ code: 0 });
            return;
          default:
            expect(await sandbox().limits({ memory: '32M', pids: 8, cpu: 0.5 }).run('true')).toMatchObject({ code: 0 });
        }
      };
      // 20 at a time: creation, placement and removal must not trip over each other.
      for (let batch = 0; batch < 10; batch++) {
        await Promise.all(Array.from({ length: 20 }, (_, j) => one(batch * 20 + j)));
      }
      expect(sandboxDirs()).toEqual([]);
      expect(openFds().length).toBe(fdsBefore);
      expect(children().filter((c) => c.state === 'Z')).toEqual([]);
    }, 120_000);
  },
);

describe.skipIf(!offers('pids'))(`a SIGKILLed Node process${offers('pids') ? '' : ' (skipped: no pids controller for our cgroup)'}`, () => {
  requires('cgroup');
  it('takes its sandbox with it, and the next call beneath the same parent reclaims the empty cgroup', async () => {
    const script = `
      const { sandbox } = require(${JSON.stringify(join(__dirname, '..', '..', 'dist', 'index.js'))});
      const p = sandbox().pid().limits({ pids: 8 }).spawn('sleep', ['1000'], { stdio: 'ignore' });
      p.on('spawn', () => console.log(p.pid));
      p.on('error', (e) => { console.error(e.message); process.exit(1); });`;
    const node = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const sandboxPid = Number(await new Promise<string>((r) => node.stdout!.once('data', (d) => r(String(d)))));
    const dirsOf = () =>
      ownDirs().flatMap((d) => spawnSync('ls', [d], { encoding: 'utf8' }).stdout.split('\n').filter((n) => n.startsWith(`nsbind-${node.pid}-`)).map((n) => join(d, n)));
    const left = dirsOf();
    expect(left.length).toBeGreaterThan(0);
    node.kill('SIGKILL');
    await new Promise((r) => node.once('exit', r));
    // die-with-parent: the sandbox's init gets SIGKILL, and its pid namespace goes with it.
    await until('the sandbox to die', () => (existsSync(`/proc/${sandboxPid}`) ? undefined : true));
    expect(dirsOf()).toEqual(left);
    // Only an empty cgroup can be reclaimed: on a loaded machine the last tasks may still
    // be on their way out when the init's /proc entry is gone.
    await until('the stale cgroup to be empty', () =>
      left.every((d) => readFileSync(join(d, 'cgroup.procs'), 'utf8').trim() === '') ? true : undefined);
    expect(await sandbox().limits({ pids: 8 }).run('true')).toMatchObject({ code: 0 });
    expect(dirsOf()).toEqual([]);
  });
});

describe.skipIf(!isRoot)(`where no hierarchy is writable${isRoot ? '' : ' (skipped: needs root to run a child as nobody)'}`, () => {
  it('limits are never dropped: run() rejects with a hint to get a delegated cgroup, and so does the exited promise of spawn()', () => {
    const r = runAsNobody(`
      const out = {};
      try { await nsbind.sandbox().limits({ pids: 4 }).run('true'); out.run = 'ran'; }
      catch (e) { out.run = { code: e.code, hint: e.hint }; }
      try { await nsbind.sandbox().limits({}).spawn('true').exited; out.spawn = 'spawned'; }
      catch (e) { out.spawn = { code: e.code, hint: e.hint }; }
      console.log(JSON.stringify(out));`);
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout);
    for (const k of ['run', 'spawn']) {
      if (layout.kind === 'v2') {
        // Pure v2: nobody's Node shares the runner's cgroup (or may not write it): the one
        // placement refuses with its own hint (test/vm/cgroup-check.mjs covers each layout).
        expect(out[k].code).toBe('ERR_NSBIND_CGROUP');
        expect(out[k].hint).toMatch(/Delegate=yes|only process of a cgroup/);
      } else {
        expect(['EACCES', 'EPERM', 'EROFS']).toContain(out[k].code);
        expect(out[k].hint).toContain(DELEGATE_HINT);
      }
    }
  });
});
