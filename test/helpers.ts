// Shared test helpers: the host's view to compare with, leak counters, and running a
// script as an unprivileged user (the rootless path most users are on).
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, expect } from 'vitest';
import { NsbindError } from '../lib/errors.js';
import { unavailable, type Need } from '../lib/vitest.js';

export const root = join(__dirname, '..');
export const isRoot = process.geteuid?.() === 0;
export const inCI = process.env.CI === 'true';

/** `/proc/self/ns/<type>` link text of this process, e.g. 'net:[4026531840]'. */
export function ownNs(type: string): string {
  return readlinkSync(`/proc/self/ns/${type}`);
}

export function openFds(): string[] {
  return readdirSync('/proc/self/fd');
}

/** Direct children of this process: [pid, state] (Z = zombie). */
export function children(): { pid: number; state: string }[] {
  const out: { pid: number; state: string }[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(rest[1]) === process.pid) out.push({ pid: Number(d), state: rest[0] });
    } catch {
      // gone
    }
  }
  return out;
}

/** Runs a CommonJS snippet with nsbind required as `nsbind`, as uid/gid 65534. */
export function runAsNobody(script: string, timeoutMs = 60_000): { status: number | null; stdout: string; stderr: string } {
  return runNode(script, { nobody: true, timeoutMs });
}

/**
 * Runs a CommonJS snippet with nsbind required as `nsbind` in a new Node process, as
 * root (this process's user) or as uid/gid 65534, with `env` added to a minimal
 * environment (nsbind reads some test switches once, when it loads).
 */
export function runNode(
  script: string,
  o: { nobody?: boolean; env?: Record<string, string>; timeoutMs?: number } = {},
): { status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string } {
  const code = `const nsbind = require(${JSON.stringify(join(root, 'dist', 'index.js'))});\n(async () => {\n${script}\n})().catch((e) => { console.error(e); process.exit(1); });`;
  const r = spawnSync(process.execPath, ['-e', code], {
    ...(o.nobody ? { uid: 65534, gid: 65534 } : {}),
    cwd: '/',
    encoding: 'utf8',
    timeout: o.timeoutMs ?? 60_000,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: o.nobody ? '/nonexistent' : (process.env.HOME ?? '/root'), ...(o.env ?? {}) },
  });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** Polls `fn` until it returns something other than undefined; throws after `ms`. */
export async function until<T>(what: string, fn: () => T | undefined, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function hasCommand(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Runs fn, which must throw ERR_NSBIND_INVALID; returns the option it names. */
export function invalidOption(fn: () => unknown, message?: RegExp): string | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(NsbindError);
    expect((e as NsbindError).code).toBe('ERR_NSBIND_INVALID');
    expect((e as NsbindError).message).toMatch(message ?? /^nsbind: /);
    return (e as NsbindError).option;
  }
  throw new Error('expected an ERR_NSBIND_INVALID error');
}

/** Awaits a promise that must reject with an NsbindError; returns the error. */
export async function rejection(p: Promise<unknown>): Promise<NsbindError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(NsbindError);
  return e as NsbindError;
}

/**
 * Skips the running test, with doctor()'s reason (and fix), unless the machine has what
 * it needs: `it('x', async (ctx) => { await skipUnless(ctx, 'root'); ... })`. The
 * suite run as an unprivileged user (npm run test:unprivileged) then reports skips with
 * reasons, not failures.
 */
export async function skipUnless(ctx: { skip: (note?: string) => never | void }, ...needs: Need[]): Promise<void> {
  const why = await unavailable(...needs);
  if (why) ctx.skip(why);
}

/**
 * skipUnless for every test of the enclosing describe (or of the file, at its top level):
 * `describe('limits', () => { requires('cgroup'); it(...) })`. Each test is then reported
 * as skipped with doctor()'s reason and fix where the machine lacks what it needs (as an
 * unprivileged user: npm run test:unprivileged), and runs wherever it has it (root, CI).
 */
export function requires(...needs: Need[]): void {
  beforeEach(async (ctx) => {
    await skipUnless(ctx, ...needs);
  });
}

/**
 * Compiles test/fixtures/escape-probe.c once per file into a scratch directory that the
 * rootless cases (uid 65534) can enter, hands both paths to `ready`, removes them after.
 * Does nothing without a C compiler (the callers skip then).
 */
export function escapeProbe(prefix: string, ready: (dir: string, probe: string) => void): void {
  beforeAll(() => {
    if (!hasCommand('cc')) return;
    const dir = mkdtempSync(join(tmpdir(), prefix));
    chmodSync(dir, 0o755); // the rootless cases run as nobody
    const probe = join(dir, 'probe');
    execFileSync('cc', ['-O1', '-o', probe, join(__dirname, 'fixtures', 'escape-probe.c'), '-lpthread']);
    chmodSync(probe, 0o755);
    ready(dir, probe);
    scratch.push(dir);
  });
  const scratch: string[] = [];
  afterAll(() => {
    for (const d of scratch) rmSync(d, { recursive: true, force: true });
  });
}
