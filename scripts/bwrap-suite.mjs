#!/usr/bin/env node
// Runs the bwrap drop-in cases with the system's bwrap and with `nsbind bwrap`, as the
// current user and (when root) as nobody, and prints which pass where.
//
//   node scripts/bwrap-suite.mjs                 nsbind's own cases (scripts/bwrap-cases.mjs)
//   node scripts/bwrap-suite.mjs --upstream DIR  bubblewrap's tests/test-run.sh from a
//                                                checkout (dev only: `fetch` it; not in CI),
//                                                run case by case (see splitUpstream)
//   --json                                       the results as JSON (for the vitest test)
//   --only root|nobody                           one caller
//   --jobs N                                     cases run at once (default 3)
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CASES } from './bwrap-cases.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const MAIN = join(ROOT, 'dist', 'cli', 'main.js');

/** A directory nobody may use too, with the nsbind shim in it. */
function workspace(asNobody) {
  const dir = mkdtempSync(join(tmpdir(), 'nsbind-bwrap-suite-'));
  chmodSync(dir, 0o755);
  const shim = join(dir, 'nsbind-bwrap');
  // Named in bwrap's usage line as bwrap names itself (its argv[0]).
  writeFileSync(shim, `#!/bin/sh\nNSBIND_BWRAP_ARGV0="$0" exec '${process.execPath}' '${MAIN}' bwrap "$@"\n`, { mode: 0o755 });
  if (asNobody) chownSync(dir, 65534, 65534);
  return { dir, shim };
}

/** Runs one case's script with BWRAP=`bwrap` (the tool) in a fresh directory. */
async function runCase(script, bwrap, asNobody, timeoutMs = 60_000, extraEnv = {}) {
  const { dir } = workspace(asNobody);
  try {
    const child = spawn('bash', ['-c', `set -euo pipefail\nRUN="$BWRAP --bind / / --tmpfs /tmp"\n${script}`], {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: timeoutMs,
      ...(asNobody ? { uid: 65534, gid: 65534 } : {}),
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: asNobody ? '/nonexistent' : (process.env.HOME ?? '/root'), BWRAP: bwrap, LANG: 'C', ...extraEnv },
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr = (stderr + d).slice(-2000)));
    const status = await new Promise((resolve) => {
      child.on('error', () => resolve(null));
      child.on('close', (code) => resolve(code));
    });
    return { ok: status === 0, status, stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * bubblewrap's test-run.sh as separate cases: the prelude (everything before the first
 * test) followed by one test's lines, cut at each `ok "..."`. A case inside a loop gets
 * the loop's header and its own body; cases that depend on files an earlier one made
 * (a few do) may fail here for that reason alone -- it is a dev aid, not a verdict.
 */
export function splitUpstream(dir) {
  const text = readFileSync(join(dir, 'tests', 'test-run.sh'), 'utf8').replace('. ${srcd}/libtest.sh', `. '${join(dir, 'tests', 'libtest.sh')}'`);
  const lines = text.split('\n');
  const first = lines.findIndex((l) => l.startsWith('# Test help'));
  const prelude = lines.slice(0, first).join('\n').replace('set -xeuo pipefail', 'set -euo pipefail');
  const cases = [];
  let body = [];
  for (const l of lines.slice(first)) {
    body.push(l);
    const m = /^\s*ok(?:_skip)? "(.*)"/.exec(l);
    if (m && !l.trim().startsWith('ok_skip')) {
      cases.push({ name: m[1], script: `${prelude}\n${body.join('\n')}\nexit 0`, env: { G_TEST_SRCDIR: dir } });
      body = /^\s/.test(l) ? body.filter((x) => /^(for|if|else|fi|done)\b/.test(x.trim())) : [];
    }
  }
  return cases.filter((c) => !/\$ALT|\$OPT|\$die_with_parent_argv/.test(c.name));
}

/**
 * Every case with every tool, as each caller. Cases run `jobs` at a time (each in its own
 * directory; a case's tools one after the other): the cases are mostly Node's start-up
 * and waiting for processes, and one at a time they were the slowest file of `npm test`.
 * The results come back in the cases' order.
 */
export async function runSuite({ cases = CASES, who = ['me', ...(process.getuid() === 0 ? ['nobody'] : [])], tools, jobs = 3 } = {}) {
  const shimDir = workspace(false);
  chmodSync(shimDir.dir, 0o755);
  const tools_ = tools ?? { bwrap: 'bwrap', nsbind: shimDir.shim };
  const work = [];
  for (const w of who) {
    const asNobody = w === 'nobody';
    const caller = asNobody || process.getuid() !== 0 ? 'user' : 'root';
    for (const c of cases) {
      if ((c.rootOnly && caller !== 'root') || (c.userOnly && caller !== 'user')) continue;
      work.push(async () => {
        const row = { who: w, name: c.name, hostFs: !!c.hostFs };
        for (const [tool, cmd] of Object.entries(tools_)) row[tool] = await runCase(c.script, cmd, asNobody, 60_000, c.env);
        return row;
      });
    }
  }
  const results = new Array(work.length);
  let next = 0;
  const worker = async () => {
    while (next < work.length) {
      const i = next++;
      results[i] = await work[i]();
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, jobs) }, worker));
  } finally {
    rmSync(shimDir.dir, { recursive: true, force: true });
  }
  return results;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const up = args.indexOf('--upstream');
  const only = args.indexOf('--only');
  const cases = up >= 0 ? splitUpstream(args[up + 1]) : CASES;
  const jobsAt = args.indexOf('--jobs');
  const who = only >= 0 ? [args[only + 1] === 'nobody' ? 'nobody' : 'me'] : undefined;
  const results = await runSuite({ cases, ...(who ? { who } : {}), ...(jobsAt >= 0 ? { jobs: Number(args[jobsAt + 1]) } : {}) });
  if (args.includes('--json')) {
    process.stdout.write(JSON.stringify(results));
  } else {
    for (const r of results) {
      process.stdout.write(`${r.who.padEnd(7)} bwrap ${r.bwrap.ok ? 'ok  ' : 'FAIL'} nsbind ${r.nsbind.ok ? 'ok  ' : 'FAIL'}${r.hostFs ? ' (host fs)' : ''}  ${r.name}\n`);
      if (r.bwrap.ok && !r.nsbind.ok) process.stdout.write(`        nsbind: ${r.nsbind.stderr.trim().split('\n').slice(-3).join(' | ')}\n`);
    }
    for (const w of [...new Set(results.map((r) => r.who))]) {
      const mine = results.filter((r) => r.who === w);
      process.stdout.write(`${w}: bwrap ${mine.filter((r) => r.bwrap.ok).length}/${mine.length}, nsbind ${mine.filter((r) => r.nsbind.ok).length}/${mine.length}\n`);
    }
  }
}
