#!/usr/bin/env node
// Die-with-parent under stress (issue 14 item 8): a Node process keeps sandboxes of
// several kinds in setup and running, and is SIGKILLed at a random moment; afterwards
// no process of any of its sandboxes may be left, background children included, and
// the next call that uses limits reclaims its cgroups.
//
//   node scripts/die-with-parent-stress.mjs [ITERATIONS=500] [--nobody] [--jobs N]
//
// --nobody (as root): the victim runs as uid 65534, the unprivileged creator.
// Prints one line per 50 iterations and a summary; exits 1 when anything survived.
// test/die-with-parent.test.ts runs a bounded version (stress({ iterations: 40 })).
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist', 'index.js');

/**
 * The kinds of sandbox the victim keeps busy. A sandbox without a pid namespace and
 * without a cgroup only guarantees its top process (SPEC 2.3): it runs no background child.
 */
const KINDS = (root) => [
  "sandbox()",
  "sandbox().pid()",
  "sandbox().user().pid().net()",
  "sandbox().user({ uidMap: [{ inside: 0, outside: process.geteuid(), count: 1 }] }).as({ uid: 0, gid: 0 })",
  ...(root ? ["sandbox().limits({ pids: 32 })", "sandbox().pid().limits({ pids: 32 })", "sandbox().user().limits({ pids: 32, memory: '64M' })"] : []),
];

function victimScript(marker, privileged) {
  return `
    const { sandbox } = require(${JSON.stringify(dist)});
    const kinds = [${KINDS(privileged).join(', ')}];
    const background = [false, true, true, false, true, true, true];
    let i = 0;
    const one = () => {
      const k = i++ % kinds.length;
      const cmd = background[k] ? 'sleep 1000 & sleep 1000 & wait' : 'exec sleep 1000';
      const p = kinds[k].env({ NSBIND_STRESS: ${JSON.stringify(marker)} }).spawn('sh', ['-c', cmd], { stdio: 'ignore' });
      p.exited.catch(() => {});
      // a new one as soon as this one runs: there is always a setup in flight
      p.once('spawn', one);
      p.once('error', one);
    };
    for (let n = 0; n < 4; n++) one();
    setTimeout(() => console.log('go'), 20);`;
}

/** Pids of every process whose environment carries the marker. */
function marked(marker) {
  const out = [];
  const needle = `NSBIND_STRESS=${marker}\0`;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/environ`, 'latin1').includes(needle)) out.push(Number(d));
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** One victim Node process, SIGKILLed after a random delay: its pid and the survivors' pids. */
async function once(n, nobody) {
  const marker = `${process.pid}-${n}-${Math.random().toString(36).slice(2)}`;
  const privileged = process.geteuid?.() === 0 && !nobody;
  const child = spawn(process.execPath, ['-e', victimScript(marker, privileged)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    ...(nobody ? { uid: 65534, gid: 65534, cwd: '/' } : {}),
  });
  await new Promise((resolve, reject) => {
    child.stdout.once('data', resolve);
    child.once('exit', () => reject(new Error('the victim Node process ended before it started')));
  });
  await sleep(Math.random() * 150);
  child.kill('SIGKILL');
  await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', r)));
  // Dying takes a moment (a parent-death signal, an init taking its pid namespace, a
  // supervisor killing its cgroup): look a few times before calling anything a survivor.
  let left = marked(marker);
  for (let t = 0; t < 40 && left.length > 0; t++) {
    await sleep(50);
    left = marked(marker);
  }
  for (const pid of left) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  return { victim: child.pid, left };
}

/**
 * Runs the stress: `iterations` victims (as uid 65534 with `nobody`, which needs root),
 * `jobs` of them at a time (each victim has its own marker, so victims running at once
 * never see each other's processes; the victim's start-up is most of an iteration).
 * Returns the survivors found (pids, per iteration) and the victims' pids (their sandbox
 * cgroups are named after them).
 */
export async function stress({ iterations = 500, nobody = false, jobs = 1, onProgress } = {}) {
  const survivors = [];
  const victims = [];
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < iterations) {
      const n = next++;
      const { victim, left } = await once(n, nobody);
      victims.push(victim);
      if (left.length) survivors.push({ iteration: n, pids: left });
      onProgress?.(++done, survivors.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, jobs) }, worker));
  return { survivors, victims };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const iterations = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 500);
  const nobody = process.argv.includes('--nobody');
  const jobsAt = process.argv.indexOf('--jobs');
  const jobs = jobsAt > 0 ? Number(process.argv[jobsAt + 1]) : 1;
  const t0 = Date.now();
  const { survivors, victims } = await stress({
    iterations,
    nobody,
    jobs,
    onProgress: (n, bad) => {
      if (n % 50 === 0 || n === iterations) console.log(`${n}/${iterations} parent SIGKILLs, ${bad} with survivors`);
    },
  });
  // Their cgroups: empty, and removed by the next call that uses limits beneath ours.
  let cgroupsLeft = 0;
  if (process.geteuid?.() === 0) {
    const { sandbox } = await import(dist);
    await sandbox().limits({ pids: 8, memory: '64M' }).run('true');
    const { currentLayout } = await import(join(root, 'dist', 'cgroup', 'sandbox-cgroup.js'));
    const layout = currentLayout();
    const dirs = [...new Set(layout.v1.values())].concat(layout.v2 ? [layout.v2] : []).map((h) => h.ownDir);
    const names = new Set(victims.map((v) => `nsbind-${v}-`));
    for (const d of dirs) for (const n of readdirSync(d)) if ([...names].some((p) => n.startsWith(p))) cgroupsLeft++;
  }
  console.log(JSON.stringify({ iterations, survivors, cgroupsLeft, seconds: Math.round((Date.now() - t0) / 1000) }));
  process.exit(survivors.length || cgroupsLeft ? 1 : 0);
}
