// `npm run bench`: builds what it needs, measures, prints a markdown table.
//
// Every figure is a median over interleaved rounds (each round measures every row once,
// rows in turn, so drift in the machine's load hits all rows alike), with min–max. Every
// ratio is taken per round, between rows of the same round, and then summarised the
// same way. Sections that need their own process (big parents, live-sandbox memory)
// run in one, driven from here.
//
// Environment: NSBIND_BENCH_QUICK=1 for a quick pass (the smoke test uses it);
// NSBIND_BENCH_ROUNDS, _BATCH, _THROUGHPUT, _ELD_SECONDS, _LIVE, _HEAP_ROUNDS, _HEAP_BATCH,
// _HEAP_GIB (e.g. '1,4') override single knobs; NSBIND_BENCH_NO_INSTALL=1 never runs
// apt-get; NSBIND_BENCH_JSON=FILE also writes the raw results.
import { execFile, execFileSync, fork, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import {
  benchDir, bwrapArgs, bwrapLikeSandbox, config, cpSpawn, floor, floorBin, have, loadNsbind, nsbindRun,
  outDir, QUICK, rate, ratios, root, sandboxFor, SETS, stats, timeBatch, TYPES, unshareArgs,
} from './lib.mjs';
import { buildSameWork, sameWork, sameWorkArgs, sameWorkBin, sameWorkNoInitArgs } from './same-work.mjs';

const log = (...a) => process.stderr.write(a.join(' ') + '\n');
const started = Date.now();
const loadAtStart = loadavg()[0];

// ------------------------------------------------------------------------------------
// Build.

function build() {
  mkdirSync(outDir, { recursive: true });
  execFileSync('cc', ['-O2', '-Wall', '-o', floorBin, join(benchDir, 'floor.c'), '-lpthread'], { stdio: 'inherit' });
  buildSameWork();
  if (!existsSync(join(root, 'build', 'Release', 'nsbind.node')) && !existsSync(join(root, 'prebuilds'))) {
    log('building the addon (node-gyp rebuild)');
    execFileSync('npx', ['node-gyp', 'rebuild'], { cwd: root, stdio: 'inherit' });
  }
  if (!existsSync(join(root, 'dist', 'index.mjs'))) {
    log('building the TypeScript (npm run build:ts)');
    execFileSync('npm', ['run', 'build:ts'], { cwd: root, stdio: 'inherit' });
  }
}

/** bubblewrap: installed with apt-get when missing and we may; else its rows are n/a. */
function ensureBwrap() {
  if (have('bwrap')) return true;
  if (process.env.NSBIND_BENCH_NO_INSTALL === '1' || process.geteuid?.() !== 0 || !have('apt-get')) return false;
  log('installing bubblewrap (apt-get install -y bubblewrap)');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = spawnSync('apt-get', ['install', '-y', '-q', 'bubblewrap'], { stdio: 'ignore', env });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update', '-q'], { stdio: 'ignore', env });
    r = spawnSync('apt-get', ['install', '-y', '-q', 'bubblewrap'], { stdio: 'ignore', env });
  }
  return r.status === 0 && have('bwrap');
}

// ------------------------------------------------------------------------------------
// Rows: name -> one measurement (ms per spawn) per round.

const rows = new Map(); // key -> { measure: () => Promise<number>, values: number[] }
function row(key, measure) {
  rows.set(key, { measure, values: [] });
}

async function latencySection(sandbox, bwrap) {
  const B = config.batch;
  const floorCount = B * 3; // the floor costs nothing of its own: more spawns, steadier
  for (const set of SETS) {
    row(`floor vfork ${set.name}`, async () => (await floor('vfork', set.types, floorCount)).usPerSpawn / 1000);
    row(`floor fork ${set.name}`, async () => (await floor('fork', set.types, floorCount)).usPerSpawn / 1000);
    const sb = sandboxFor(sandbox, set.types);
    row(`nsbind ${set.name}`, () => timeBatch(B, () => nsbindRun(sb)));
    if (set.types.length > 0) row(`unshare ${set.name}`, () => timeBatch(B, () => cpSpawn('unshare', unshareArgs(set.types))));
  }
  // The same-work floor: nsbind's default work for all 8, in C (same-work.mjs says
  // why it may not apply).
  const same = sameWorkArgs();
  if (same.args) row('same-work all 8', async () => (await sameWork(same.args, floorCount)).usPerSpawn / 1000);
  else log(`same-work floor not measured: ${same.problem}`);
  // The program itself as PID 1 (no nsbind-init): what the C floor does, in kind.
  const noInit = sandboxFor(sandbox, TYPES).pid({ init: false });
  row('nsbind all 8 no init', () => timeBatch(B, () => nsbindRun(noInit)));
  // Its same-work floor: that plan in C, the child exec'ing /bin/true itself as PID 1.
  const sameNoInit = sameWorkNoInitArgs();
  if (sameNoInit.args) row('same-work all 8 no init', async () => (await sameWork(sameNoInit.args, floorCount)).usPerSpawn / 1000);
  else log(`same-work floor (no init) not measured: ${sameNoInit.problem}`);
  row('child_process none', () => timeBatch(B, () => cpSpawn('/bin/true')));
  const like = bwrapLikeSandbox(sandbox);
  row('nsbind bwrap-like', () => timeBatch(B, () => nsbindRun(like.sb)));
  if (bwrap) row('bwrap', () => timeBatch(B, () => cpSpawn('bwrap', [...bwrapArgs, '/bin/true'])));
  return { bwrapExact: like.exact, sameWorkProblem: same.problem, sameNoInitProblem: sameNoInit.problem };
}

async function throughputSection(sandbox) {
  const all = sandboxFor(sandbox, TYPES);
  const T = config.throughput;
  // The same-work floor 8-wide: the physical limit of nsbind's own semantics at that width.
  const same = sameWorkArgs();
  if (same.args) row('tput same-work 8', async () => (await sameWork(same.args, Math.ceil(T / 8), 8)).perSecond);
  for (const w of [1, 2, 8]) {
    // Rates, not times: higher is better.
    row(`tput nsbind ${w}`, () => rate(T, w, () => nsbindRun(all)));
    row(`tput child_process ${w}`, () => rate(T, w, () => cpSpawn('/bin/true')));
    row(`tput floor ${w}`, async () => (await floor('vfork', TYPES, Math.ceil(T / w), w)).perSecond);
  }
}

async function runRounds(keys, label) {
  const list = keys.map((k) => rows.get(k));
  const n = config.rounds;
  for (let r = 0; r < n; r++) {
    // Rotate the starting row so that no row always runs right after the same one.
    for (let i = 0; i < list.length; i++) {
      const x = list[(i + r) % list.length];
      x.values.push(await x.measure());
    }
    log(`${label}: round ${r + 1}/${n} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  }
}

// ------------------------------------------------------------------------------------
// Big parents: three Node processes (bare, 1 GiB, 4 GiB) driven round by round.

async function heapSection() {
  const holds = [0, ...config.heapGiB.map((g) => Math.round(g * 1024 ** 3))];
  const workers = await Promise.all(
    holds.map(
      (hold) =>
        new Promise((resolve, reject) => {
          const w = fork(join(benchDir, 'heap-worker.mjs'), [], {
            env: { ...process.env, NSBIND_BENCH_HOLD: String(hold) },
            stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
          });
          w.once('message', (m) => (m.ready ? resolve({ w, hold, rss: m.rssBytes, rounds: [] }) : reject(m)));
          w.once('error', reject);
          w.once('exit', (code) => reject(new Error(`heap worker (${hold} bytes) exited with ${code}`)));
        }),
    ),
  );
  const ask = (x) =>
    new Promise((resolve) => {
      x.w.once('message', (m) => resolve(m.round));
      x.w.send({ cmd: 'round', batch: config.heapBatch });
    });
  for (let r = 0; r < config.heapRounds; r++) {
    // One worker at a time: they must not compete for the 2 cores while measured.
    for (let i = 0; i < workers.length; i++) {
      const x = workers[(i + r) % workers.length];
      x.rounds.push(await ask(x));
    }
    log(`big parents: round ${r + 1}/${config.heapRounds} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  }
  for (const x of workers) {
    x.w.removeAllListeners('exit');
    x.w.send({ cmd: 'exit' });
  }
  return workers.map((x) => ({
    hold: x.hold,
    rss: x.rss,
    nsbindNone: x.rounds.map((q) => q.nsbindNone),
    nsbindAll: x.rounds.map((q) => q.nsbindAll),
    cp: x.rounds.map((q) => q.cp),
  }));
}

// ------------------------------------------------------------------------------------
// Event-loop delay while 8 sandboxes are kept in flight.

async function eldSection(sandbox) {
  const all = sandboxFor(sandbox, TYPES);
  const measure = async (once) => {
    const h = monitorEventLoopDelay({ resolution: 1 });
    const until = Date.now() + config.eldSeconds * 1000;
    let n = 0;
    const loop = async () => {
      while (Date.now() < until) {
        await once();
        n++;
      }
    };
    h.enable();
    if (once) await Promise.all(Array.from({ length: 8 }, loop));
    else await new Promise((r) => setTimeout(r, config.eldSeconds * 1000));
    h.disable();
    return { p99: h.percentile(99) / 1e6, max: h.max / 1e6, spawns: n };
  };
  const out = { idle: [], nsbind: [], cp: [], sameWork: [] };
  const rounds = QUICK ? 1 : 3;
  const same = sameWorkArgs();
  // This loop idle while the same-work floor keeps 8 sandboxes in flight in another
  // process, for as long: what the kernel's work for those sandboxes alone does to a loop
  // on this machine (the floor runs until killed: a large count, stopped after the window).
  const idleBesideSameWork = async () => {
    const child = execFile(sameWorkBin, [String(1e6), '8', ...same.args], () => {});
    await new Promise((r) => setTimeout(r, 200));
    const m = await measure(null);
    child.kill('SIGKILL');
    await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', r)));
    return m;
  };
  for (let r = 0; r < rounds; r++) {
    out.idle.push(await measure(null));
    if (same.args) out.sameWork.push(await idleBesideSameWork());
    out.nsbind.push(await measure(() => nsbindRun(all)));
    out.cp.push(await measure(() => cpSpawn('/bin/true')));
    log(`event-loop delay: round ${r + 1}/${rounds}`);
  }
  return out;
}

function memorySection() {
  const r = spawnSync(process.execPath, ['--expose-gc', join(benchDir, 'memory.mjs'), String(config.live), String(config.memRounds)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`memory.mjs failed (${r.status})`);
  return JSON.parse(r.stdout);
}

// ------------------------------------------------------------------------------------
// Formatting.

const fmt = (x, digits = 2) => (x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(digits));
function cell(values, digits = 2) {
  const s = stats(values ?? []);
  if (!s) return 'n/a';
  return `${fmt(s.median, digits)} (${fmt(s.min, digits)}–${fmt(s.max, digits)})`;
}
const v = (key) => rows.get(key)?.values;
function ratioCell(a, b, digits = 2) {
  if (!a || !b || a.length === 0 || b.length === 0) return 'n/a';
  return cell(ratios(a, b), digits);
}
function verdict(values, op, target) {
  const s = stats(values ?? []);
  if (!s) return 'n/a';
  return (op === '<=' ? s.median <= target : s.median >= target) ? 'met' : 'missed';
}

const size = (b) => (b >= 1024 ** 3 ? `${+(b / 1024 ** 3).toFixed(2)} GiB` : `${+(b / 1024 ** 2).toFixed(0)} MiB`);

function table(header, lines) {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...lines.map((l) => `| ${l.join(' | ')} |`)].join('\n');
}

// ------------------------------------------------------------------------------------

async function main() {
  build();
  const bwrap = ensureBwrap();
  if (!bwrap) log('bubblewrap is not installed and cannot be: its rows are n/a');
  const { sandbox } = await loadNsbind();

  // Warm up every spawner once (page cache, JIT, nsbind's init binary and stack pool).
  for (const set of SETS) await nsbindRun(sandboxFor(sandbox, set.types));
  await cpSpawn('/bin/true');

  log(`rounds ${config.rounds}, batch ${config.batch}${QUICK ? ' (quick mode)' : ''}`);
  const { bwrapExact, sameWorkProblem, sameNoInitProblem } = await latencySection(sandbox, bwrap);
  await runRounds([...rows.keys()], 'latency');
  const before = new Set(rows.keys());
  await throughputSection(sandbox);
  await runRounds([...rows.keys()].filter((k) => !before.has(k)), 'throughput');

  const heap = await heapSection();
  const eld = await eldSection(sandbox);
  log('memory: spawning', config.live, 'live sandboxes');
  const mem = memorySection();

  const out = [];
  out.push(`nsbind benchmark — ${new Date().toISOString().slice(0, 10)}, Linux ${release()}, Node ${process.version}, ` +
    `${config.rounds} rounds × ${config.batch} spawns${QUICK ? ' (QUICK MODE: not for comparison)' : ''}`);
  // Other work on the machine moves every figure: say how busy it was.
  out.push('');
  out.push(`${cpus().length} CPUs; load average ${loadAtStart.toFixed(1)} at the start, ${loadavg()[0].toFixed(1)} at the end.`);
  out.push('');
  out.push('### Spawn latency: ms per `/bin/true`, median (min–max) over rounds');
  out.push('');
  out.push(table(
    ['namespaces', 'C floor vfork', 'C floor fork', 'nsbind run()', 'spawn unshare', 'nsbind / floor vfork', 'nsbind / unshare'],
    SETS.map((s) => [
      s.name,
      cell(v(`floor vfork ${s.name}`)),
      cell(v(`floor fork ${s.name}`)),
      cell(v(`nsbind ${s.name}`)),
      s.types.length ? cell(v(`unshare ${s.name}`)) : '—',
      ratioCell(v(`nsbind ${s.name}`), v(`floor vfork ${s.name}`)),
      s.types.length ? ratioCell(v(`nsbind ${s.name}`), v(`unshare ${s.name}`)) : '—',
    ]),
  ));
  out.push('');
  out.push(table(
    ['spawner', 'ms', 'nsbind / it'],
    [
      ['`child_process.spawn(\'/bin/true\')`', cell(v('child_process none')), `none: ${ratioCell(v('nsbind none'), v('child_process none'))}; all 8: ${ratioCell(v('nsbind all 8'), v('child_process none'))}`],
      [`\`bwrap ${bwrapArgs.join(' ')}\``, bwrap ? cell(v('bwrap')) : 'n/a (no bubblewrap)', bwrap ? ratioCell(v('nsbind bwrap-like'), v('bwrap')) : 'n/a'],
      [`nsbind with bwrap's isolation${bwrapExact ? '' : ' (namespaces only: this build has no .roBind/.proc/.dev)'}`, cell(v('nsbind bwrap-like')), '—'],
      [
        'same-work floor: what `sandbox().all()` does, in C without Node (`same-work.cc`)',
        sameWorkProblem ? `n/a (${sameWorkProblem})` : cell(v('same-work all 8')),
        sameWorkProblem ? 'n/a' : `all 8: ${ratioCell(v('nsbind all 8'), v('same-work all 8'))}`,
      ],
      ['`sandbox().all().pid({ init: false })`: nsbind', cell(v('nsbind all 8 no init')), '—'],
      [
        'same-work floor no init: that plan in C, the child execs `/bin/true` as PID 1',
        sameNoInitProblem ? `n/a (${sameNoInitProblem})` : cell(v('same-work all 8 no init')),
        sameNoInitProblem ? 'n/a' : `no init: ${ratioCell(v('nsbind all 8 no init'), v('same-work all 8 no init'))}`,
      ],
    ],
  ));
  out.push('');
  out.push('### Big parents: ms per `/bin/true` with the Node process holding touched memory');
  out.push('');
  const bare = heap[0];
  out.push(table(
    ['parent holds', 'nsbind none', 'nsbind all 8', 'child_process', 'nsbind all 8 / bare', 'child_process / bare'],
    heap.map((h) => [
      h.hold === 0 ? 'bare' : `${size(h.hold)} (RSS ${size(h.rss)})`,
      cell(h.nsbindNone),
      cell(h.nsbindAll),
      cell(h.cp),
      ratioCell(h.nsbindAll, bare.nsbindAll),
      ratioCell(h.cp, bare.cp, 1),
    ]),
  ));
  out.push('');
  out.push('### Throughput: spawns per second, all 8 namespaces (child_process: none), N in flight');
  out.push('');
  out.push(table(
    ['in flight', 'nsbind', 'child_process', 'C floor (N threads, vfork)', 'nsbind / floor', 'same-work floor (8 threads)', 'nsbind / same-work', 'same-work / floor'],
    [1, 2, 8].map((w) => [
      String(w), cell(v(`tput nsbind ${w}`), 0), cell(v(`tput child_process ${w}`), 0), cell(v(`tput floor ${w}`), 0), ratioCell(v(`tput nsbind ${w}`), v(`tput floor ${w}`)),
      w === 8 ? cell(v('tput same-work 8'), 0) : '—',
      w === 8 ? ratioCell(v('tput nsbind 8'), v('tput same-work 8')) : '—',
      w === 8 ? ratioCell(v('tput same-work 8'), v('tput floor 8')) : '—',
    ]),
  ));
  out.push('');
  out.push(`### Event loop: \`monitorEventLoopDelay({ resolution: 1 })\` over ${config.eldSeconds} s, ms (the 1 ms timer period is included)`);
  out.push('');
  out.push(table(
    ['load', 'p99', 'max', 'spawns done'],
    [
      ['idle', cell(eld.idle.map((x) => x.p99)), cell(eld.idle.map((x) => x.max)), '—'],
      ['8 nsbind sandboxes (all 8 ns) in flight', cell(eld.nsbind.map((x) => x.p99)), cell(eld.nsbind.map((x) => x.max)), cell(eld.nsbind.map((x) => x.spawns), 0)],
      ['8 child_process.spawn in flight', cell(eld.cp.map((x) => x.p99)), cell(eld.cp.map((x) => x.max)), cell(eld.cp.map((x) => x.spawns), 0)],
      ['idle, while the same-work floor keeps 8 in flight in another process', cell(eld.sameWork.map((x) => x.p99)), cell(eld.sameWork.map((x) => x.max)), '—'],
    ],
  ));
  out.push('');
  out.push(`### Memory with ${mem.live} sandboxes alive (pid namespace, \`sleep\`)`);
  out.push('');
  out.push(`Node's figures: ${mem.live} alive minus the same ${mem.live} just ended, per sandbox, median (min–max) over ${mem.rounds} rounds after a warm-up round (memory.mjs says why).`);
  out.push('');
  const kib = (xs) => xs.map((x) => x / 1024);
  out.push(table(
    ['figure', 'KiB per sandbox'],
    [
      ['Node RSS growth', cell(kib(mem.rssPerSandboxBytes), 1)],
      ['Node V8 heap in use + external, growth (after a full GC)', cell(kib(mem.heapPerSandboxBytes), 1)],
      ['PSS of nsbind\'s init (PID 1)', fmt(mem.initPssPerSandboxKb, 1)],
      ['RSS of nsbind\'s init (PID 1)', fmt(mem.initRssPerSandboxKb, 1)],
    ],
  ));
  out.push('');
  out.push('### Targets');
  out.push('');
  const eldP99 = eld.nsbind.map((x) => x.p99);
  const t = [
    ['nsbind all 8 / C floor all 8 (vfork)', '≤ 1.25', ratios(v('nsbind all 8'), v('floor vfork all 8')), '<=', 1.25],
    ['  limit: same-work floor all 8 / C floor all 8 (vfork)', '≤ 1.25', sameWorkProblem ? [] : ratios(v('same-work all 8'), v('floor vfork all 8')), '<=', 1.25],
    ['nsbind all 8 pid({ init: false }) / C floor all 8', '≤ 1.10', ratios(v('nsbind all 8 no init'), v('floor vfork all 8')), '<=', 1.1],
    ['  limit: same-work floor no init / C floor all 8 (vfork)', '≤ 1.10', sameNoInitProblem ? [] : ratios(v('same-work all 8 no init'), v('floor vfork all 8')), '<=', 1.1],
    ['nsbind all 8 / child_process.spawn none', '≤ 1.0', ratios(v('nsbind all 8'), v('child_process none')), '<=', 1.0],
    ['nsbind none / child_process.spawn none', '≤ 0.50', ratios(v('nsbind none'), v('child_process none')), '<=', 0.5],
    ['nsbind all 8 / spawning unshare all 8', '≤ 0.4', ratios(v('nsbind all 8'), v('unshare all 8')), '<=', 0.4],
    ['nsbind bwrap-like / spawning bwrap', '≤ 0.3', bwrap ? ratios(v('nsbind bwrap-like'), v('bwrap')) : [], '<=', 0.3],
    [`nsbind all 8, ${size(heap.at(-1).hold)} parent / bare parent`, '≤ 1.1', ratios(heap.at(-1).nsbindAll, bare.nsbindAll), '<=', 1.1],
    ['8-in-flight rate / C floor 8-wide rate', '≥ 0.85', ratios(v('tput nsbind 8'), v('tput floor 8')), '>=', 0.85],
    ['  limit: same-work floor 8-wide / C floor 8-wide (nsbind cannot beat its own work)', '≥ 0.85', v('tput same-work 8') ? ratios(v('tput same-work 8'), v('tput floor 8')) : [], '>=', 0.85],
    ['p99 event-loop delay, 8 in flight (ms)', '≤ 2', eldP99, '<=', 2],
    ['  limit: p99 of an idle loop beside the same-work floor 8-wide (ms)', '≤ 2', eld.sameWork.map((x) => x.p99), '<=', 2],
    ['Node RSS growth per live sandbox (KiB)', '≤ 64', kib(mem.rssPerSandboxBytes), '<=', 64],
    ['PSS of helper processes per sandbox (KiB)', '≤ 512', [mem.initPssPerSandboxKb], '<=', 512],
  ];
  out.push(table(['figure', 'target', 'measured', ''], t.map(([name, target, xs, op, lim]) => [name, target, cell(xs), verdict(xs, op, lim)])));
  out.push('');
  out.push(`_${((Date.now() - started) / 1000).toFixed(0)} s in all._`);

  process.stdout.write(out.join('\n') + '\n');
  if (process.env.NSBIND_BENCH_JSON) {
    writeFileSync(process.env.NSBIND_BENCH_JSON, JSON.stringify({ config, rows: Object.fromEntries([...rows].map(([k, x]) => [k, x.values])), heap, eld, mem }, null, 1));
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
