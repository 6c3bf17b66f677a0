// No test may leave a temporary directory behind (issue 20 item 13). vitest.config.mts
// runs this twice: as the global setup (main process: `setup`/`teardown` below) and as a
// setup file in every test file's worker (the bottom of this file), which notes each
// directory made with mkdtemp in a log the main process reads at the end. Whatever is
// still there then leaked: it is removed, and the run fails naming it.
//
// Why a log and not `ls /tmp` before and after: other runs (and other programs) use /tmp
// at the same time. Why the main process: a test file whose tests are all skipped runs no
// afterAll, so a directory made at module level would otherwise leak unseen.
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ENV = 'NSBIND_TEST_TEMP_LOG';

/** The directories a log names that still exist. */
export function leftovers(log: string): string[] {
  if (!existsSync(log)) return [];
  const made = new Set(readFileSync(log, 'utf8').split('\n').filter(Boolean));
  return [...made].filter((d) => existsSync(d));
}

/** Removes what leaked and throws naming it; removes the log either way. */
export function check(log: string): void {
  const left = leftovers(log);
  for (const d of left) rmSync(d, { recursive: true, force: true });
  rmSync(join(log, '..'), { recursive: true, force: true });
  if (left.length) {
    throw new Error(`tests left ${left.length} temporary director${left.length === 1 ? 'y' : 'ies'} behind (now removed): ${left.join(', ')}`);
  }
}

// vitest's global setup, in the main process before any worker starts: the workers
// inherit the log's path.
export function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'nsbind-temp-log-'));
  const log = join(dir, 'made');
  process.env[ENV] = log;
  return () => {
    try {
      check(log);
    } catch (e) {
      // vitest reports an error thrown here but still exits 0: fail the run ourselves.
      console.error(`\n${(e as Error).message}\n`);
      process.exitCode = 1;
    }
  };
}

// In a worker: note each directory mkdtemp makes (the ESM named imports of node:fs that
// test files use are refreshed by syncBuiltinESMExports).
const log = process.env[ENV];
if (log && process.env.VITEST_WORKER_ID !== undefined) {
  // The module object itself (an ESM namespace could not be changed).
  const fs = require('node:fs') as typeof import('node:fs');
  const note = (d: string) => {
    try {
      appendFileSync(log, `${d}\n`);
    } catch {
      // the log is gone: the run is ending
    }
    return d;
  };
  const sync = fs.mkdtempSync;
  (fs as { mkdtempSync: typeof fs.mkdtempSync }).mkdtempSync = ((prefix: string, o?: unknown) => note(sync(prefix, o as never) as string)) as typeof fs.mkdtempSync;
  const promised = fs.promises.mkdtemp;
  fs.promises.mkdtemp = (async (prefix: string, o?: unknown) => note((await promised(prefix, o as never)) as string)) as typeof fs.promises.mkdtemp;
  syncBuiltinESMExports();
}
