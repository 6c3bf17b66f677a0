// Memory per live sandbox, in a Node process of its own (run with --expose-gc):
//   - how much the Node process's RSS grows per sandbox kept alive;
//   - the PSS of nsbind's helper process per sandbox: the PID-1 init of each sandbox's
//     pid namespace (from /proc/PID/smaps_rollup; PSS shares the pages of the one init
//     binary among all its copies, as the kernel accounts them).
// Prints one JSON object.
import { readFileSync } from 'node:fs';
import { loadNsbind } from './lib.mjs';

const live = Number(process.argv[2] ?? 1000);
const { sandbox } = await loadNsbind();
const sb = sandbox().pid();
const opts = { stdio: 'ignore' };

function pssKb(pid) {
  const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
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

// Warm up (JIT, the stack pool, the first libuv handles), then the baseline.
await endAll(await spawnLive(Math.min(50, live)));
await settle();
const before = process.memoryUsage().rss;
const ps = await spawnLive(live);
await settle();
const after = process.memoryUsage().rss;
const pss = ps.map((p) => pssKb(p.pid));
const rssInit = ps.map((p) => Number(/^Rss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${p.pid}/smaps_rollup`, 'utf8'))[1]));
const sum = (xs) => xs.reduce((a, b) => a + b, 0);
await endAll(ps);
process.stdout.write(
  JSON.stringify({
    live,
    rssBeforeBytes: before,
    rssAfterBytes: after,
    rssPerSandboxBytes: (after - before) / live,
    initPssPerSandboxKb: sum(pss) / live,
    initRssPerSandboxKb: sum(rssInit) / live,
  }) + '\n',
);
