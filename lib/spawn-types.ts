// The options of a spawn (spawn, run, fork), and the shape of the parent-side work a
// concern does around one (cgroup, veth, egress: lib/spawn.ts lists them). Types only.
import type { NativeSpawnRequest, NativeSpawnResult } from './binding.js';
import type { NsbindError } from './errors.js';
import type { EgressCallback } from './net/egress/policy.js';
import type { SandboxOptions } from './options.js';
import type { ExitResult, SandboxProcess } from './process.js';
import type { PtyOption } from './pty.js';
import type { StdioOption } from './stdio.js';

export interface SpawnOptions {
  /**
   * As child_process: `'pipe'`, `'inherit'`, `'ignore'`, or one entry per descriptor
   * (`'pipe'`, `'inherit'`, `'ignore'`, a number, a stream with a descriptor).
   * @default 'pipe'
   */
  stdio?: StdioOption;
  /** argv[0] of the program. @default the file */
  argv0?: string;
  /** Ends the sandbox (with `killSignal`) when aborted; `exited` then says `reason: 'aborted'`. */
  signal?: AbortSignal;
  /** Milliseconds, then `killSignal` (`reason: 'timeout'`). 0 means none. @default 0 */
  timeout?: number;
  /** @default 'SIGKILL' */
  killSignal?: NodeJS.Signals | number;
  /**
   * With `.net({ egress })`: decides the destinations no pattern covers (default: refuse).
   * @example sb.spawn('npm', ['install'], { egress: ({ host }) => host.endsWith('.corp.example') })
   */
  egress?: EgressCallback;
  /**
   * With `.net({ egress })`: resolves a name for the policy (all its addresses), for
   * split-horizon DNS or tests. The connection goes to the address it returns.
   * @default the system resolver (dns.lookup, all addresses)
   */
  egressLookup?: (host: string) => Promise<string[]> | string[];
  /**
   * Run the program on a new pseudo-terminal that is its controlling terminal (a new
   * session): `true` (80x24) or `{ cols, rows }`. `stdin` writes to the terminal and
   * `stdout` reads it (the program's stdout and stderr together); `stderr` is null.
   * `p.pty.resize(cols, rows)` changes its size. Not with `stdio` or `newSession(false)`.
   * @default false
   * @example
   * const p = sandbox().pid().spawn('bash', ['-i'], { pty: { cols: 120, rows: 40 } });
   * p.stdout.on('data', (d) => process.stdout.write(d));
   * p.stdin.write('echo $COLUMNS\n');
   */
  pty?: PtyOption;
}

export interface RunOptions extends SpawnOptions {
  /** Written to the program's stdin, which is then closed. */
  input?: string | Uint8Array;
  /** `'buffer'` for Buffers. @default 'utf8' */
  encoding?: BufferEncoding | 'buffer';
  /** Bytes per stream before the sandbox is killed and `run` rejects. @default 64 MiB */
  maxBuffer?: number;
}

/** What `run()` resolves to: the {@link ExitResult} and the collected output. */
export interface RunResult<T = string> extends ExitResult {
  stdout: T;
  stderr: T;
}

/** What a concern prepared on the parent's side of one spawn, and how it ends it. */
export interface PreparedSpawn {
  /** After the sandbox exited: may refine the result (e.g. reason 'oom'), then clean up. */
  finish?: (r: ExitResult) => Promise<ExitResult> | ExitResult;
  /** Setup failed: undo what was prepared. */
  abandon?: () => Promise<void> | void;
  /** The program runs: what the addon reported about the spawn (e.g. a veth's index). */
  spawned?: (r: NativeSpawnResult & { pid: number }) => void;
  /** Setup failed: may explain the error better (before abandon). */
  refineError?: (e: NsbindError) => Promise<NsbindError> | NsbindError;
}
/** The spawn a preparer works for: its options, and the process once it exists. */
export interface SpawnHookContext {
  spawnOptions: SpawnOptions;
  process?: SandboxProcess;
}
/** Prepares the parent's side of a spawn synchronously, before the clone. */
export type SpawnPreparer = (
  options: SandboxOptions,
  request: Omit<NativeSpawnRequest, 'stdio'>,
  spawn: SpawnHookContext,
) => PreparedSpawn | void;

