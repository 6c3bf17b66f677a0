// Memory per live sandbox, in a Node process of its own (run with --expose-gc):
//   - how much the Node process's memory grows per sandbox kept alive: its RSS, and the
//     V8 heap in use (after a full GC), each as (N alive) − (the same N just ended), per
//     sandbox, in several rounds after a warm-up round;
//   - the PSS of nsbind's helper process per sandbox: the PID-1 init of each sandbox's
//     pid namespace (from /proc/PID/smaps_rollup; PSS shares the pages of the one init
//     binary among all its copies, as the kernel accounts them).
// Prints one JSON object.
//
// Why "alive − just ended" and not "alive − before the first spawn": the first spawns of
// a process grow it once (JIT code, the spawn threads' malloc arenas, libuv's handles,
// nsbind's stack pool), and V8 and malloc give pages back to the kernel later, at times of
// their own. Measured against a baseline taken before the N spawns, the figure mixed that
// one-time growth (and its later shrinking) into the per-sandbox cost: with a few dozen
// sandboxes it moved by tens of KiB per sandbox between runs and was often negative. Both
// sides of "alive − just ended" are taken in the same warmed-up state, one right after the
// other, so what differs is what the N live sandboxes hold; the median over rounds drops
// a round in which the heap or malloc happened to shrink in between.
import { readFileSync } from 'node:fs';
import { loadNsbind } from './lib.mjs';

const live = Number(process.argv[2] ?? 1000);
const rounds = Number(process.argv[3] ?? 5);
const { sandbox } = await loadNsbind();
const sb = sandbox().pid();
const opts = { stdio: 'ignore' };

function smapsKb(pid, field) {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}
function settle() {
  for (let i = 0; i < 3; i++) global.gc();
  return new Promise((r) => setTimeout(r, 200));
}
async function spawnLive(n) {
  const ps = [];
  for (let i = 0; i < n; i++) {
    const p = sb.spawn('sleep', ['120'], opts);
    ps.push(p);
    await new Promise((resolve, reject) => {
      p.once('spawn', resolve);
      p.exited.catch(reject);
    });
  }
  return ps;
}
async function endAll(ps) {
  for (const p of ps) p.kill('SIGKILL');
  await Promise.all(ps.map((p) => p.exited));
}
const sum = (xs) => xs.reduce((a, b) => a + b, 0);

// Warm up with as many sandboxes as are measured (JIT, the stack pool, malloc arenas,
// the first libuv handles), then measure.
await endAll(await spawnLive(live));
await settle();
const rssPerSandboxBytes = [];
const heapPerSandboxBytes = [];
let initPssPerSandboxKb = NaN;
let initRssPerSandboxKb = NaN;
for (let r = 0; r < rounds; r++) {
  const ps = await spawnLive(live);
  await settle();
  const alive = process.memoryUsage();
  if (r === 0) {
    initPssPerSandboxKb = sum(ps.map((p) => smapsKb(p.pid, 'Pss'))) / live;
    initRssPerSandboxKb = sum(ps.map((p) => smapsKb(p.pid, 'Rss'))) / live;
  }
  await endAll(ps);
  await settle();
  const ended = process.memoryUsage();
  rssPerSandboxBytes.push((alive.rss - ended.rss) / live);
  heapPerSandboxBytes.push((alive.heapUsed + alive.external - ended.heapUsed - ended.external) / live);
}
process.stdout.write(
  JSON.stringify({ live, rounds, rssPerSandboxBytes, heapPerSandboxBytes, initPssPerSandboxKb, initRssPerSandboxKb }) + '\n',
);
