// Die-with-parent (SPEC 2.3, issue 14 item 8): when the Node process is SIGKILLed at any
// moment, its sandboxes die with it: every process of a sandbox that has a pid namespace
// or a cgroup (background children included), the top process of any other; and the
// empty cgroups are reclaimed by the next call that uses limits.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Hierarchy } from '../lib/cgroup/layout.js';
import { currentLayout } from '../lib/cgroup/sandbox-cgroup.js';
import { sandbox } from '../lib/index.js';
import { isRoot, root, until } from './helpers/index.js';

const layout = currentLayout();
/** Whether limits work here for this process (a writable hierarchy with pids). */
const limitsHere = isRoot && (layout.v1.has('pids') || (layout.v2?.controllers.includes('pids') ?? false));

/** Every hierarchy's directory of our own cgroup. */
function ownDirs(): string[] {
  const hs: Hierarchy[] = [...new Set(layout.v1.values())];
  if (layout.v2) hs.push(layout.v2);
  return hs.map((h) => h.ownDir);
}
const cgroupsOf = (pid: number) =>
  ownDirs().flatMap((d) => (existsSync(d) ? readdirSync(d) : []).filter((n) => n.startsWith(`nsbind-${pid}-`)).map((n) => join(d, n)));

/** Pids whose environment carries NSBIND_DWP=marker. */
function marked(marker: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/environ`, 'latin1').includes(`NSBIND_DWP=${marker}\0`)) out.push(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}

/**
 * A Node process spawns `sandboxes` (builder expressions), each running two background
 * sleeps and waiting for them; once every sandbox's processes exist, it is SIGKILLed.
 * Returns what is still alive after a moment, and the Node process's pid.
 */
async function killParentOf(sandboxes: string[], perSandbox: number, nobody = false): Promise<{ left: number[]; nodePid: number; marker: string }> {
  const marker = `${process.pid}-${Math.random().toString(36).slice(2)}`;
  const script = `
    const { sandbox } = require(${JSON.stringify(join(root, 'dist', 'index.js'))});
    const sbs = [${sandboxes.join(', ')}];
    for (const sb of sbs) {
      const p = sb.env({ NSBIND_DWP: ${JSON.stringify(marker)} }).spawn('sh', ['-c', 'sleep 1000 & sleep 1000 & wait'], { stdio: 'ignore' });
      p.on('error', (e) => { console.error(e.message); process.exit(1); });
    }
    console.log('spawned');`;
  const node = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'], ...(nobody ? { uid: 65534, gid: 65534, cwd: '/' } : {}) });
  await new Promise((r) => node.stdout!.once('data', r));
  // sh and its two sleeps (and an init) per sandbox, all running
  await until('the sandboxes to run', () => (marked(marker).length >= sandboxes.length * perSandbox ? true : undefined));
  node.kill('SIGKILL');
  await new Promise((r) => node.once('exit', r));
  let left = marked(marker);
  for (let t = 0; t < 40 && left.length > 0; t++) {
    await new Promise((r) => setTimeout(r, 50));
    left = marked(marker);
  }
  return { left, nodePid: node.pid!, marker };
}

describe('die with parent', () => {
  it('background children of a sandbox with a pid namespace die with the Node process', async () => {
    const { left } = await killParentOf(['sandbox().pid()', 'sandbox().user().pid()'], 3);
    expect(left).toEqual([]);
  });

  it.skipIf(!isRoot)(`so they do when the Node process is unprivileged (uid 65534)${isRoot ? '' : ' (skipped: the suite does not run as root)'}`, async () => {
    const { left } = await killParentOf(['sandbox().pid()', 'sandbox().user().pid().net()'], 3, true);
    expect(left).toEqual([]);
  });

  it.skipIf(!limitsHere)(
    `background children of a sandbox with limits but no pid namespace die too, killed through its cgroup, which the next call reclaims${limitsHere ? '' : ' (skipped: no writable cgroup hierarchy with pids for this process)'}`,
    async () => {
      const { left, nodePid } = await killParentOf(["sandbox().limits({ pids: 16 })", "sandbox().user().limits({ pids: 16, memory: '64M' })", 'sandbox().pid().limits({ pids: 16 })'], 3);
      expect(left).toEqual([]);
      expect(cgroupsOf(nodePid).length).toBeGreaterThan(0);
      await until('the stale cgroups to be empty', () =>
        cgroupsOf(nodePid).every((d) => readFileSync(join(d, 'cgroup.procs'), 'utf8').trim() === '') ? true : undefined,
      );
      expect(await sandbox().limits({ pids: 8, memory: '64M' }).run('true')).toMatchObject({ code: 0 });
      expect(cgroupsOf(nodePid)).toEqual([]);
    },
  );

  it('dieWithParent(false) is what keeps them alive (the test can fail)', async () => {
    const { left } = await killParentOf(['sandbox().pid().dieWithParent(false)'], 3);
    expect(left.length).toBeGreaterThanOrEqual(3);
    for (const pid of left) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // its init took it first
      }
    }
  });

  const load = async () =>
    (await import(join(root, 'scripts', 'die-with-parent-stress.mjs'))) as {
      stress: (o: { iterations: number; nobody?: boolean; jobs?: number }) => Promise<{ survivors: unknown[]; victims: number[] }>;
    };

  it.skipIf(!isRoot)(`15 SIGKILLs of an unprivileged Node process (uid 65534) at random moments leave nothing behind${isRoot ? '' : ' (skipped: the suite does not run as root)'}`, async () => {
    const { survivors } = await (await load()).stress({ iterations: 15, nobody: true, jobs: 3 });
    expect(survivors).toEqual([]);
  }, 120_000);

  it(`40 parent SIGKILLs at random moments leave no sandbox process behind${isRoot ? ', and no cgroup' : ''}`, async () => {
    const { stress } = await load();
    const { survivors, victims } = await stress({ iterations: 40, jobs: 3 });
    expect(survivors).toEqual([]);
    if (limitsHere) {
      await until('the stale cgroups to be empty', () =>
        victims.flatMap(cgroupsOf).every((d) => readFileSync(join(d, 'cgroup.procs'), 'utf8').trim() === '') ? true : undefined,
      );
      expect(await sandbox().limits({ pids: 8, memory: '64M' }).run('true')).toMatchObject({ code: 0 });
      expect(victims.flatMap(cgroupsOf)).toEqual([]);
    }
  }, 240_000);
});
