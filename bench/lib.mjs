// What the benchmark's processes share: the namespace sets, one spawn of each kind
// (nsbind, child_process, unshare, bwrap, the C floor), and the statistics.
import { spawn, execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const benchDir = dirname(fileURLToPath(import.meta.url));
export const root = join(benchDir, '..');
export const outDir = join(benchDir, 'out');
export const floorBin = join(outDir, 'floor');

/** `NSBIND_BENCH_QUICK=1`: a few rounds of a few spawns, to check that everything runs. */
export const QUICK = process.env.NSBIND_BENCH_QUICK === '1';
const num = (name, full, quick) => {
  const v = process.env[name];
  return v !== undefined && v !== '' ? Number(v) : QUICK ? quick : full;
};
export const config = {
  /** Interleaved rounds: every row is measured once per round, rows in turn. */
  rounds: num('NSBIND_BENCH_ROUNDS', 9, 2),
  /** Spawns per row per round (the figure of a round is their mean). */
  batch: num('NSBIND_BENCH_BATCH', 30, 3),
  /** Spawns per round in the throughput rows. */
  throughput: num('NSBIND_BENCH_THROUGHPUT', 160, 16),
  /** Seconds of 8-in-flight load while the event-loop delay is recorded. */
  eldSeconds: num('NSBIND_BENCH_ELD_SECONDS', 4, 1),
  /** Live sandboxes for the memory figures. */
  live: num('NSBIND_BENCH_LIVE', 1000, 40),
  /** Rounds of the memory figures (each: N alive, then the same N just ended). */
  memRounds: num('NSBIND_BENCH_MEM_ROUNDS', 5, 3),
  /** Rounds and batch of the big-parent rows (child_process costs ~0.1 s per spawn there). */
  heapRounds: num('NSBIND_BENCH_HEAP_ROUNDS', 5, 2),
  heapBatch: num('NSBIND_BENCH_HEAP_BATCH', 12, 2),
  /** Sizes of the big parents, GiB (quick mode: small ones, only to check the plumbing). */
  heapGiB: (process.env.NSBIND_BENCH_HEAP_GIB ?? (QUICK ? '0.0625,0.25' : '1,4')).split(',').map(Number),
};

export const TYPES = ['user', 'pid', 'mnt', 'uts', 'ipc', 'net', 'cgroup', 'time'];
export const CLONE = {
  user: 0x10000000,
  pid: 0x20000000,
  mnt: 0x00020000,
  uts: 0x04000000,
  ipc: 0x08000000,
  net: 0x40000000,
  cgroup: 0x02000000,
  time: 0x00000080,
};
const UNSHARE_FLAG = {
  user: '--user',
  pid: '--pid',
  mnt: '--mount',
  uts: '--uts',
  ipc: '--ipc',
  net: '--net',
  cgroup: '--cgroup',
  time: '--time',
};
const METHOD = { user: 'user', pid: 'pid', mnt: 'mount', uts: 'uts', ipc: 'ipc', net: 'net', cgroup: 'cgroup', time: 'time' };

/** The sets every spawner is measured with: none, each type alone, all eight. */
export const SETS = [
  { name: 'none', types: [] },
  ...TYPES.map((t) => ({ name: t, types: [t] })),
  { name: 'all 8', types: TYPES },
];

export const bwrapArgs = ['--unshare-all', '--ro-bind', '/', '/', '--proc', '/proc', '--dev', '/dev'];

let nsbind;
export async function loadNsbind() {
  nsbind ??= await import(join(root, 'dist', 'index.mjs'));
  return nsbind;
}

/** nsbind's sandbox with these namespace types. */
export function sandboxFor(sandbox, types) {
  let sb = sandbox();
  for (const t of types) sb = sb[METHOD[t]]();
  return sb;
}

/**
 * nsbind with bubblewrap's `--unshare-all --ro-bind / / --proc /proc --dev /dev`:
 * user, ipc, pid, net, uts, cgroup and mount namespaces, / read-only, a procfs and a
 * minimal /dev. `exact` is false where this build lacks the filesystem steps; the row
 * then has the namespaces only, and says so.
 */
export function bwrapLikeSandbox(sandbox) {
  let sb = sandboxFor(sandbox, ['user', 'ipc', 'pid', 'net', 'uts', 'cgroup', 'mnt']);
  const exact = typeof sb.roBind === 'function' && typeof sb.proc === 'function' && typeof sb.dev === 'function';
  if (exact) sb = sb.roBind('/', '/').proc('/proc').dev('/dev');
  return { sb, exact };
}

// One spawn of each kind, resolved when the program is gone and its pipes are closed.
// Every spawner gets the same stdio: stdin ignored, stdout and stderr piped (what
// nsbind's run() and child_process.execFile do).
export function nsbindRun(sb) {
  return sb.run('/bin/true').then((r) => {
    if (r.code !== 0) throw new Error(`nsbind run: ${JSON.stringify(r)}`);
  });
}

export function cpSpawn(file, args = []) {
  return new Promise((resolve, reject) => {
    const p = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    p.stderr.on('data', (c) => (err += c));
    p.stdout.resume();
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${file} ${args.join(' ')}: exit ${code}: ${err}`))));
  });
}

export function unshareArgs(types) {
  const a = types.map((t) => UNSHARE_FLAG[t]);
  if (types.includes('pid')) a.push('--fork');
  return [...a, '/bin/true'];
}

export function flagsOf(types) {
  return types.reduce((f, t) => f | CLONE[t], 0);
}

/** Runs the C floor; resolves to { usPerSpawn, perSecond, timeByUnshare }. */
export function floor(mode, types, count, width = 1) {
  return new Promise((resolve, reject) => {
    execFile(floorBin, [mode, '0x' + flagsOf(types).toString(16), String(count), String(width)], (err, stdout, stderr) => {
      if (err) return reject(new Error(`floor ${mode} ${types.join(',')}: ${stderr || err.message}`));
      resolve(JSON.parse(stdout));
    });
  });
}

/** Mean milliseconds of `n` sequential calls of `once`. */
export async function timeBatch(n, once) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await once();
  return Number(process.hrtime.bigint() - t0) / 1e6 / n;
}

/** Spawns per second with `width` loops of `once` sharing `total` spawns. */
export async function rate(total, width, once) {
  let left = total;
  const loop = async () => {
    while (left-- > 0) await once();
  };
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: width }, loop));
  return total / (Number(process.hrtime.bigint() - t0) / 1e9);
}

export function stats(xs) {
  const s = [...xs].filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return undefined;
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { median, min: s[0], max: s[s.length - 1], n: s.length };
}

/** Per-round ratios a[i] / b[i] (the same round, so the same machine state). */
export function ratios(a, b) {
  return a.map((x, i) => x / b[i]);
}

export function have(cmd) {
  return ['/usr/bin', '/bin', '/usr/sbin', '/sbin', '/usr/local/bin'].some((d) => existsSync(join(d, cmd)));
}
