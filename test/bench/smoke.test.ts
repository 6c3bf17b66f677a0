// `npm run bench` in its quick mode: it builds what it needs, runs every section and
// prints the table in its documented shape. Timings are never asserted (they depend on
// the machine); only that every figure is there and is a number (or says n/a and why).
import { spawnSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { root, skipUnless } from '../helpers/index.js';

const FIGURE = /^\d+(\.\d+)? \(\d+(\.\d+)?–\d+(\.\d+)?\)$/;

function tableAfter(out: string, heading: string, nth = 0): string[][] {
  const start = out.indexOf(heading);
  expect(start, `section '${heading}'`).toBeGreaterThanOrEqual(0);
  const lines = out.slice(start).split('\n');
  const tables: string[][][] = [];
  let cur: string[][] | undefined;
  for (const l of lines.slice(1)) {
    if (l.startsWith('### ')) break;
    if (l.startsWith('|')) {
      cur ??= [];
      cur.push(l.slice(1, -1).split(' | ').map((c) => c.trim()));
    } else if (cur) {
      tables.push(cur);
      cur = undefined;
    }
  }
  if (cur) tables.push(cur);
  // Drop the header and the |---| line.
  return tables[nth].slice(2);
}

describe('npm run bench (quick mode)', () => {
  it('prints every section of the table with a median (min–max) in every cell', { timeout: 240_000 }, async (ctx) => {
    // Its C floor and `unshare` rows make each namespace type alone, with no user
    // namespace, as root does (bench/README.md).
    await skipUnless(ctx, 'root');
    const r = spawnSync(process.execPath, [join(root, 'bench', 'run.mjs')], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, NSBIND_BENCH_QUICK: '1', NSBIND_BENCH_NO_INSTALL: '1', NSBIND_BENCH_LIVE: '20' },
    });
    expect(r.status, r.stderr).toBe(0);
    const out = r.stdout;
    expect(out).toContain('QUICK MODE');

    const latency = tableAfter(out, '### Spawn latency');
    expect(latency.map((row) => row[0])).toEqual(['none', 'user', 'pid', 'mnt', 'uts', 'ipc', 'net', 'cgroup', 'time', 'all 8']);
    for (const row of latency) {
      expect(row).toHaveLength(7);
      for (const c of [row[1], row[2], row[3], row[5]]) expect(c).toMatch(FIGURE);
      if (row[0] !== 'none') expect(row[4]).toMatch(FIGURE); // unshare is part of util-linux
    }
    const spawners = tableAfter(out, '### Spawn latency', 1);
    expect(spawners[0][1]).toMatch(FIGURE); // child_process
    expect(spawners[1][1]).toMatch(/^(\d.*\)|n\/a \(no bubblewrap\))$/);
    // The same-work floor: measured whenever nsbind's default plan is the one it does
    // (when nsbind's defaults change, bench/same-work.cc must follow: n/a fails here).
    expect(spawners[3][0]).toMatch(/^same-work floor/);
    expect(spawners[3][1]).toMatch(FIGURE);
    expect(spawners[3][2].replace(/^all 8: /, '')).toMatch(FIGURE);
    // pid({ init: false }) and its own same-work floor (the child execs /bin/true as PID 1).
    expect(spawners[4][0]).toMatch(/pid\(\{ init: false \}\)/);
    expect(spawners[4][1]).toMatch(FIGURE);
    expect(spawners[5][0]).toMatch(/^same-work floor no init/);
    expect(spawners[5][1]).toMatch(FIGURE);
    expect(spawners[5][2]).toMatch(/^no init: /);
    expect(spawners[5][2].replace(/^no init: /, '')).toMatch(FIGURE);

    const heap = tableAfter(out, '### Big parents');
    expect(heap).toHaveLength(3);
    for (const row of heap) for (const c of row.slice(1)) expect(c).toMatch(FIGURE);

    const tput = tableAfter(out, '### Throughput');
    expect(tput.map((row) => row[0])).toEqual(['1', '2', '8']);
    // The same-work floor runs 8-wide only: its three columns are figures in the 8 row.
    for (const row of tput) for (const c of row.slice(1, 5)) expect(c).toMatch(FIGURE);
    for (const c of tput[2].slice(5)) expect(c).toMatch(FIGURE);
    for (const row of tput.slice(0, 2)) expect(row.slice(5)).toEqual(['—', '—', '—']);

    const eld = tableAfter(out, '### Event loop');
    expect(eld).toHaveLength(4);
    for (const row of eld) expect(row[1]).toMatch(FIGURE);
    expect(eld[3][0]).toMatch(/same-work floor/);

    // Node's growth per live sandbox is a measurement of a few hundred bytes whose rounds
    // scatter around it (pages the V8 heap and malloc keep or give back): a figure, whatever
    // its sign; the init's own pages are always there.
    const mem = tableAfter(out, '### Memory with 20 sandboxes alive');
    expect(mem.map((row) => row[0])).toEqual([
      'Node RSS growth',
      'Node V8 heap in use + external, growth (after a full GC)',
      "PSS of nsbind's init (PID 1)",
      "RSS of nsbind's init (PID 1)",
    ]);
    for (const row of mem.slice(0, 2)) expect(row[1]).toMatch(/^-?\d+\.\d \(-?\d+\.\d–-?\d+\.\d\)$/);
    for (const row of mem.slice(2)) expect(Number(row[1])).toBeGreaterThan(0);

    // The floor really makes the namespaces it is timed with, CLONE_NEWTIME included
    // (which clone() cannot express: the floor unshares it in the child before exec).
    for (const mode of ['vfork', 'fork']) {
      const probe = spawnSync(join(root, 'bench', 'out', 'floor'), [mode, '0x80', '1'], {
        encoding: 'utf8',
        env: { FLOOR_PROBE: '1' },
      });
      expect(probe.status, probe.stderr).toBe(0);
      const link = probe.stdout.split('\n')[0];
      expect(link).toMatch(/^time:\[\d+\]$/);
      expect(link).not.toBe(readlinkSync('/proc/self/ns/time'));
    }

    const targets = tableAfter(out, '### Targets');
    expect(targets).toHaveLength(15); // 11 targets and the 4 same-work limits under them
    for (const row of targets) expect(row[3]).toMatch(/^(met|missed|n\/a)$/);
    // The no-init target's limit is right under it, and computed (not n/a).
    const noInit = targets.findIndex((row) => row[0].startsWith('nsbind all 8 pid({ init: false })'));
    expect(targets[noInit + 1][0]).toBe('limit: same-work floor no init / C floor all 8 (vfork)');
    expect(targets[noInit + 1][2]).toMatch(FIGURE);
    expect(targets[noInit + 1][3]).toMatch(/^(met|missed)$/);
  });
});
