// The one helpers module of the test suite: the host's view to compare with, leak
// counters, running a script as an unprivileged user (the rootless path most users are
// on), running the built CLI, the filesystem tests' sandbox shells, and the escape suite's
// attacker. (test/helpers/bpf.ts is the seccomp tests' BPF interpreter; temp-dirs.ts is
// vitest's global setup.)
import { execFileSync, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, expect } from 'vitest';
import { NsbindError } from '../../lib/errors.js';
import type { Sandbox } from '../../lib/index.js';
import { unavailable, type Need } from '../../lib/vitest.js';

export const root = join(__dirname, '..', '..');
const FIXTURES = join(root, 'test', 'fixtures');
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
    const { dir, probe } = buildProbe(prefix);
    ready(dir, probe);
    scratch.push(dir);
  });
  const scratch: string[] = [];
  afterAll(() => {
    for (const d of scratch) rmSync(d, { recursive: true, force: true });
  });
}

/**
 * Compiles test/fixtures/escape-probe.c into a fresh directory that uid 65534 can enter
 * (the rootless cases run as nobody); returns its path and a function that removes it.
 */
export function buildProbe(prefix = 'nsbind-escape-'): { probe: string; dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  const probe = join(dir, 'probe');
  execFileSync('cc', ['-O1', '-o', probe, join(FIXTURES, 'escape-probe.c'), '-lpthread']);
  chmodSync(probe, 0o755);
  return { probe, dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

// ---- dist/: what child processes of a test load ----------------------------------------
// Child processes of a test (a node script run under `unshare`, or as another uid) load the
// compiled library from dist/. `npm test` builds it first; when a single test file is run by
// hand, distModule() builds it if lib/ is newer than dist/.

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** Absolute path of dist/<name>.js, built if stale. */
export function distModule(name: string): string {
  const out = join(root, 'dist', `${name}.js`);
  if (!existsSync(out) || newest(join(root, 'lib')) > newest(join(root, 'dist'))) {
    execFileSync('npm', ['run', 'build:ts'], { cwd: root, stdio: 'ignore' });
  }
  return out;
}

// ---- the CLI: running the built `nsbind` command as users do (a process of its own) ----

export const MAIN = join(root, 'dist', 'cli', 'main.js');

export interface CliResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  output: (string | null)[];
}

/** `nsbind ARGS...`, waited for. */
export function nsbind(args: string[], o: SpawnSyncOptions = {}): CliResult {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run 'npm run build:ts' before these tests`);
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 60_000, ...o });
  return {
    status: r.status,
    signal: r.signal,
    stdout: String(r.stdout ?? ''),
    stderr: String(r.stderr ?? ''),
    output: (r.output ?? []).map((x) => (x == null ? null : String(x))),
  };
}

/** Whether this build's library has `name` (filled in by other parts of nsbind as they land). */
export function libraryHas(name: string): boolean {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require(join(root, 'dist', 'index.js')) as Record<string, unknown>)[name] !== undefined;
}

/** Whether the Sandbox builder has this method. */
export function builderHas(method: string): boolean {
  const { sandbox } = require(join(root, 'dist', 'index.js')) as typeof import('../../lib/index.js');
  return typeof (sandbox() as unknown as Record<string, unknown>)[method] === 'function';
}

// ---- filesystem tests: run a shell script in a sandbox and read its view ----------------

/** Runs `sh -c script` in the sandbox; expects exit 0 unless told otherwise. */
export async function sh(sb: Sandbox, script: string, code = 0): Promise<string> {
  const r = await sb.run('/bin/sh', ['-c', script]);
  expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code });
  return r.stdout;
}

/** The setup error of a sandbox that must fail. */
export async function setupError(sb: Sandbox): Promise<NsbindError> {
  const e = await sb.run('/bin/true').then(
    () => undefined,
    (err: NsbindError) => err,
  );
  expect(e, 'the sandbox should have failed to start').toBeDefined();
  return e!;
}

/** A fresh directory for one test, on the host's /tmp (the test removes it). */
export function scratch(prefix = 'nsbind-fs-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  // A root caller's program runs as an unprivileged host id (SPEC 2.1): it must be able to
  // reach what the tests bind for it, as any other user's program would.
  chmodSync(d, 0o755);
  return d;
}

/**
 * A sandbox whose root is a tmpfs with the host's /usr bound read-only and the usual
 * merged-/usr links, so /bin/sh runs inside.
 */
export function minimalRoot(sb: Sandbox): Sandbox {
  return sb.roBind('/usr').symlink('usr/bin', '/bin').symlink('usr/sbin', '/sbin').symlink('usr/lib', '/lib').symlink('usr/lib64', '/lib64');
}
