// `node bench/same-work-breakdown.mjs`: where the no-init same-work floor's time goes,
// by difference. The floor for `sandbox().all().pid({ init: false })` runs in full and
// then with one step left out (SAME_WORK_SKIP, bench/same-work.cc), in interleaved
// rounds beside the bare C floor (bench/floor.c, vfork); each step's cost is the full
// run's time minus the run without it, per round, summarised as median (min–max). A run
// with a step left out is no longer the same work: it only prices that step.
//
// Environment: NSBIND_BENCH_ROUNDS (default 7), NSBIND_BENCH_COUNT spawns per run
// (default 300). Needs the built nsbind (dist/), as run.mjs.
import { execFile, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { benchDir, floor, floorBin, root, stats, TYPES } from './lib.mjs';
import { buildSameWork, sameWorkBin, sameWorkNoInitArgs } from './same-work.mjs';

const rounds = Number(process.env.NSBIND_BENCH_ROUNDS ?? 7);
const count = Number(process.env.NSBIND_BENCH_COUNT ?? 300);
execFileSync('cc', ['-O2', '-Wall', '-o', floorBin, join(benchDir, 'floor.c'), '-lpthread'], { stdio: 'inherit' });
buildSameWork();
const same = sameWorkNoInitArgs();
if (!same.args) throw new Error(same.problem);
const { Op } = createRequire(join(root, 'dist', 'index.js'))('./plan/layout.js');
const kinds = (...names) => names.map((n) => Op[n]).join(',');

const run = (skip) =>
  new Promise((resolve, reject) => {
    execFile(sameWorkBin, [String(count), '1', ...same.args], { env: { ...process.env, SAME_WORK_SKIP: skip } }, (err, stdout, stderr) =>
      err ? reject(new Error(stderr || err.message)) : resolve(JSON.parse(stdout).usPerSpawn / 1000),
    );
  });

// Each variant leaves one step out ('' leaves nothing out). The id maps go with the
// identity ops: setresuid(0) needs a uid 0 mapped.
const variants = [
  ['full', ''],
  ['id maps + setgroups/setresgid/setresuid', 'maps,' + kinds('SETGROUPS', 'SETRESGID', 'SETRESUID')],
  ['seccomp filter load', kinds('SECCOMP')],
  ['capability drop (CAPS)', kinds('CAPS')],
  ['loopback up', kinds('LOOPBACK_UP')],
  ['mount propagation', kinds('PROPAGATION')],
  ['unshare (time ns)', kinds('UNSHARE')],
  ['setsid, rlimit, chdir, die-with-parent (no_new_privs stays: seccomp needs it)', kinds('SETSID', 'RLIMIT', 'CHDIR', 'DIE_WITH_PARENT')],
  ['every op and the maps (pipes, fds, ns stat, exec, wait left)', 'maps,' + kinds(...same.ops.filter((n) => n !== 'EXEC'))],
];
const values = new Map(variants.map(([name]) => [name, []]));
const floorValues = [];
for (let r = 0; r < rounds; r++) {
  floorValues.push((await floor('vfork', TYPES, count)).usPerSpawn / 1000);
  for (const [name, skip] of variants) values.get(name).push(await run(skip));
  process.stderr.write(`round ${r + 1}/${rounds}\n`);
}
const cell = (xs) => {
  const s = stats(xs);
  return `${s.median.toFixed(3)} (${s.min.toFixed(3)}–${s.max.toFixed(3)})`;
};
const full = values.get('full');
const lines = [
  `same-work floor no init, ${rounds} rounds × ${count} spawns; load average ${loadavg()[0].toFixed(1)} at the end`,
  '',
  '| run | ms per spawn | cost of the step left out, ms |',
  '|---|---|---|',
  `| C floor vfork all 8 | ${cell(floorValues)} | — |`,
  `| same-work no init, full | ${cell(full)} | — |`,
  ...variants.slice(1).map(([name]) => {
    const xs = values.get(name);
    return `| without ${name} | ${cell(xs)} | ${cell(full.map((f, i) => f - xs[i]))} |`;
  }),
  '',
  `full / floor: ${cell(full.map((f, i) => f / floorValues[i]))}`,
];
process.stdout.write(lines.join('\n') + '\n');
