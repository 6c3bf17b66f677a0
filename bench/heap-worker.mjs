// A Node process that holds NSBIND_BENCH_HOLD bytes of touched memory and, on each
// 'round' message from run.mjs, times nsbind and child_process spawns. Run in its own
// process so that the big heap does not slow down the other rows. The memory is a
// Buffer outside the V8 heap, filled so that every page is really mapped (a fork must
// copy its page tables; a CLONE_VM spawn must not care).
import { cpSpawn, loadNsbind, nsbindRun, sandboxFor, timeBatch, TYPES } from './lib.mjs';

const hold = Number(process.env.NSBIND_BENCH_HOLD ?? 0);
const GiB = 1024 ** 3;
const chunks = [];
for (let left = hold; left > 0; left -= GiB) chunks.push(Buffer.alloc(Math.min(left, GiB)).fill(1));

const { sandbox } = await loadNsbind();
const bare = sandbox();
const all = sandboxFor(sandbox, TYPES);
// Warm up: the first spawn loads the init binary, the stack pool, the JIT.
for (let i = 0; i < 3; i++) {
  await nsbindRun(bare);
  await nsbindRun(all);
  await cpSpawn('/bin/true');
}

process.on('message', async (m) => {
  if (m.cmd === 'round') {
    const r = {
      nsbindNone: await timeBatch(m.batch, () => nsbindRun(bare)),
      nsbindAll: await timeBatch(m.batch, () => nsbindRun(all)),
      cp: await timeBatch(m.batch, () => cpSpawn('/bin/true')),
    };
    process.send({ round: r });
  } else if (m.cmd === 'exit') {
    process.disconnect();
  }
});
process.send({ ready: true, rssBytes: process.memoryUsage().rss });
