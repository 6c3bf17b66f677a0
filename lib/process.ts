// SandboxProcess: a running sandbox, shaped like child_process's ChildProcess, and
// ExitResult: how the program ended.
import type { Pty } from './pty.js';
import { EventEmitter } from 'node:events';
import { constants as osConstants } from 'node:os';
import type { Socket } from 'node:net';
import type { NativeExit, NativeProcess, NativeSpawnResult } from './binding.js';
import { NsbindError, nsbindError, systemError } from './errors.js';
import { NAMESPACE_TYPES, type NamespaceType } from './options.js';
import { Step, syscallNames } from './plan/layout.js';
import { signal as parseSignal } from './validate.js';
import type { Violation } from './violations.js';

/** One namespace, as `/proc/PID/ns/<type>` identifies it. */
export interface NamespaceId {
  type: NamespaceType;
  inode: number;
  dev: number;
}

export type NamespaceIds = Record<NamespaceType, NamespaceId>;

export interface Usage {
  /** CPU time in user mode, of the program and every descendant it waited for. */
  userMs: number;
  systemMs: number;
  /** Largest resident set of the sandbox's processes. */
  maxRssBytes: number;
  /** Peak memory of the sandbox's cgroup (with `.limits()`, where the kernel keeps it). */
  memoryPeakBytes?: number;
  /** Peak number of tasks in the sandbox's cgroup (with `.limits()`, where kept). */
  pidsPeak?: number;
}


export type ExitReason = 'exit' | 'signal' | 'oom' | 'timeout' | 'aborted';

/** How the program ended (not nsbind's init). */
export interface ExitResult {
  /** Exit code, or null when a signal ended it. */
  code: number | null;
  /** The signal's name (`'SIGKILL'`), or null. */
  signal: string | null;
  reason: ExitReason;
  usage: Usage;
  /**
   * What a policy refused (`.net({ egress })`; `.files()` where the kernel reports it):
   * the first MAX_VIOLATIONS, in order (see lib/violations.ts).
   */
  violations?: Violation[];
}

const signalNames = new Map<number, string>();
for (const [name, num] of Object.entries(osConstants.signals)) if (!signalNames.has(num)) signalNames.set(num, name);

/** The addon's flat [inode, dev, ...] (NAMESPACE_TYPES order) as {@link NamespaceIds}. */
function namespacesFrom(flat: number[]): NamespaceIds {
  const out = {} as NamespaceIds;
  NAMESPACE_TYPES.forEach((type, i) => {
    out[type] = { type, inode: flat[2 * i], dev: flat[2 * i + 1] };
  });
  return out;
}

/** Context the process needs to explain a failed setup. */
export interface SpawnContext {
  steps: string[];
  execStep: string;
  isolation: NamespaceType[] & { landlock?: number };
  /** Called once the sandbox is fully gone (cgroups etc.); may refine the result. */
  finish?: (r: ExitResult) => Promise<ExitResult> | ExitResult;
  /** Called when setup failed, to undo what the parent prepared. */
  abandon?: () => Promise<void> | void;
  /** Called when setup failed, before abandon: may explain the error better (e.g. an OOM kill). */
  refineError?: (e: NsbindError) => Promise<NsbindError> | NsbindError;
  /** Called once the program runs, with what the addon reported (e.g. a veth's index). */
  spawned?: (r: NativeSpawnResult & { pid: number }) => void;
}

/**
 * A running sandbox. Like child_process's `ChildProcess`: `pid`, `stdin`, `stdout`,
 * `stderr`, `kill()`, the events `spawn`, `exit`, `close` and `error` (in child_process's
 * order: 'spawn', and `pid`, before any output); plus `exited`, a Promise of the
 * {@link ExitResult}, and `namespaces`/`isolation`.
 *
 * @example
 * const p = sandbox().net().spawn('sleep', ['10']);
 * p.on('spawn', () => console.log(p.pid, p.namespaces?.net.inode));
 * p.kill();
 * console.log(await p.exited); // { code: null, signal: 'SIGTERM', reason: 'signal', ... }
 */
export class SandboxProcess extends EventEmitter {
  /** Host pid of the sandbox's top process (nsbind's init when there is one); set at 'spawn'. */
  pid: number | undefined;
  stdin: Socket | null = null;
  stdout: Socket | null = null;
  stderr: Socket | null = null;
  /** With `spawn(..., { pty })`: the terminal's size and `resize()`; else undefined. */
  pty: Pty | undefined;
  /** Every stdio slot's stream (null where not a pipe). */
  stdio: (Socket | null)[] = [];
  /** The namespaces of the sandbox's top process, read once it runs. */
  namespaces: NamespaceIds | undefined;
  /** Namespace types really applied. */
  isolation: NamespaceType[] & { landlock?: number };
  /** With `.net({ egress })`: the proxy's ports on 127.0.0.1 inside the sandbox. */
  egress: { http: number; socks: number } | undefined;
  /** Set once the sandbox has ended. */
  exitCode: number | null = null;
  signalCode: string | null = null;
  killed = false;
  /**
   * Resolves when the sandbox is gone; rejects with an NsbindError if setup failed.
   * Reading it is handling the failure: a process whose `exited` was never read and that
   * has no `'error'` listener throws the error, as child_process does.
   */
  get exited(): Promise<ExitResult> {
    this.exitedRead = true;
    return this._exited;
  }

  /** @internal */ _native: NativeProcess;
  /** @internal */ _reason: ExitReason | undefined;
  private spawned = false;
  private releaseOutput: (() => void) | undefined;
  private stdioOpen: Promise<void>[] = [];
  private done = false;
  private pendingSignals: number[] = [];
  private timers: NodeJS.Timeout[] = [];
  private cleanups: (() => void)[] = [];
  /** @internal The same promise as `exited`, for nsbind's own readers (not a user's handling). */
  readonly _exited: Promise<ExitResult>;
  private exitedRead = false;
  private resolveExit!: (r: ExitResult) => void;
  private rejectExit!: (e: unknown) => void;

  /** @internal */
  constructor(nativeProcess: NativeProcess, private readonly ctx: SpawnContext) {
    super();
    this._native = nativeProcess;
    this.isolation = ctx.isolation;
    this._exited = new Promise<ExitResult>((res, rej) => {
      this.resolveExit = res;
      this.rejectExit = rej;
    });
    // A caller may listen to 'error' only; the rejection must not crash the process
    // (an unhandled failure is thrown as an 'error' event instead, see emitError).
    this._exited.catch(() => {});
    nativeProcess.onspawn = (r) => this.onSpawn(r);
    nativeProcess.onexit = (r) => void this.onExit(r);
  }

  /**
   * Sends a signal to the sandbox (race-free, through a pidfd). With nsbind's init, it
   * forwards SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 to the program;
   * SIGKILL ends the whole sandbox.
   * @default signal 'SIGTERM'
   * @returns whether the signal was sent (or queued until the sandbox has started).
   */
  kill(signal: NodeJS.Signals | number = 'SIGTERM'): boolean {
    const sig = parseSignal(signal, 'kill.signal').number;
    if (this.done) return false;
    if (!this.spawned) {
      this.pendingSignals.push(sig);
      return true;
    }
    const r = this._native.kill(sig);
    if (r === 0) this.killed = true;
    return r === 0;
  }

  /** Keeps the event loop alive until the sandbox ends (the default). */
  ref(): void {
    this._native.ref();
    for (const s of this.stdio) s?.ref();
  }

  /** Lets the event loop end while the sandbox still runs. */
  unref(): void {
    this._native.unref();
    for (const s of this.stdio) s?.unref();
  }

  /** Kills the sandbox (SIGKILL) and waits until it is gone. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.kill('SIGKILL');
    await this.exited.catch(() => {});
  }

  /** @internal Kill after `ms`, with this reason. */
  _deadline(ms: number, sig: number, reason: ExitReason): void {
    const t = setTimeout(() => this._end(sig, reason), ms);
    this.timers.push(t);
  }

  /** @internal Ends the sandbox for a reason of ours (timeout, abort, maxBuffer). */
  _end(sig: number, reason: ExitReason): void {
    if (this.done) return;
    this._reason ??= reason;
    this.kill(sig);
  }

  /** @internal Starts reading the program's output at 'spawn' (at once if it was already). */
  _releaseOutputAtSpawn(release: () => void): void {
    if (this.spawned || this.done) release();
    else this.releaseOutput = release;
  }

  /** @internal */
  _onCleanup(fn: () => void): void {
    this.cleanups.push(fn);
  }

  private onSpawn(r: NativeSpawnResult): void {
    if (r.pid === undefined) {
      void this.fail(this.explain(r));
      return;
    }
    this.pid = r.pid;
    this.spawned = true;
    this.ctx.spawned?.(r);
    this.namespaces = r.ns ? namespacesFrom(r.ns) : undefined; // null: already gone
    for (const sig of this.pendingSignals) this._native.kill(sig);
    this.pendingSignals = [];
    this.emit('spawn');
    this.releaseOutput?.();
    this.releaseOutput = undefined;
    if (this.namespaces) this.emit('namespaces', this.namespaces);
  }

  /** @internal Setup failed before the native spawn: report it as the spawn would. */
  _failSoon(err: unknown): void {
    setImmediate(() => void this.fail(err as NsbindError));
  }

  private async fail(err: NsbindError): Promise<void> {
    this.done = true;
    this.clear();
    for (const s of this.stdio) s?.destroy();
    try {
      if (this.ctx.refineError) err = await this.ctx.refineError(err);
    } catch {
      // keep the error as the addon reported it
    }
    try {
      await this.ctx.abandon?.();
    } catch {
      // the setup error is the one to report
    }
    this.emitError(err);
    this.rejectExit(err);
    this.closeAfterStdio(null, null);
  }

  /**
   * 'close', as child_process emits it: after 'exit' (or a setup 'error'), once every
   * stream over the program's stdio has closed — the event to wait for when all the output
   * must have been read. A stream a daemon of the program still holds delays it, as there.
   */
  private closeAfterStdio(code: number | null, signal: string | null): void {
    void Promise.all(this.stdioOpen).then(() => process.nextTick(() => this.emit('close', code, signal)));
  }

  /** @internal Called once `stdio` is set: 'close' waits for these streams. */
  _watchStdio(): void {
    this.stdioOpen = [...new Set(this.stdio)].filter((s): s is Socket => s !== null).map((s) => new Promise<void>((r) => s.once('close', () => r())));
  }

  private async onExit(r: NativeExit): Promise<void> {
    this.done = true;
    this.clear();
    // Never without 'spawn' first; should that change, the output must still be read.
    this.releaseOutput?.();
    this.releaseOutput = undefined;
    let code: number | null = null;
    let signal: string | null = null;
    if (r.programStatus >= 0) {
      const st = r.programStatus;
      if ((st & 0x7f) === 0) code = (st >> 8) & 0xff;
      else signal = signalNames.get(st & 0x7f) ?? `SIG${st & 0x7f}`;
    } else if (r.code !== undefined) {
      code = r.code;
    } else if (r.signal !== undefined) {
      signal = signalNames.get(r.signal) ?? `SIG${r.signal}`;
    }
    let result: ExitResult = {
      code,
      signal,
      reason: this._reason ?? (signal ? 'signal' : 'exit'),
      usage: { userMs: r.userUs / 1000, systemMs: r.systemUs / 1000, maxRssBytes: r.maxRssKb * 1024 },
    };
    try {
      if (this.ctx.finish) result = await this.ctx.finish(result);
    } catch (e) {
      this.emitError(e);
    }
    // As child_process: nobody will read what is still written to the program's stdin,
    // and a caller that never ended it would otherwise keep the pipe open forever.
    // A pty's master is stdin and stdout at once: it closes itself once its output is read
    // (EIO, lib/pty.ts); destroying it here would drop the program's last output.
    if (this.stdin !== this.stdout) this.stdin?.destroy();
    this.exitCode = result.code;
    this.signalCode = result.signal;
    this.emit('exit', result.code, result.signal, result);
    this.resolveExit(result);
    this.closeAfterStdio(result.code, result.signal);
  }

  /**
   * As child_process: an 'error' nobody listens to is thrown (EventEmitter does that when
   * emitting with no listener), never dropped. A caller that read `exited` handles it
   * there; emitting then would crash a program that did everything right.
   */
  private emitError(e: unknown): void {
    if (this.listenerCount('error') > 0) this.emit('error', e);
    else if (!this.exitedRead) process.nextTick(() => this.emit('error', e)); // thrown uncaught, unless a listener came meanwhile
  }

  private clear(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    for (const fn of this.cleanups) fn();
    this.cleanups = [];
  }

  private explain(r: { op: number; sys: number; errno: number }): NsbindError {
    if (r.op === Step.KILLED) {
      // The setup process died of a signal before the program ran (errno is the signal).
      const sig = signalNames.get(r.errno) ?? `SIG${r.errno}`;
      return nsbindError('ERR_NSBIND_SETUP_KILLED', `setup: killed by ${sig} before the program started`, {
        step: 'setup',
      });
    }
    const syscall = syscallNames[r.sys] || undefined;
    const step =
      r.op >= 0
        ? this.ctx.steps[r.op] ?? `step ${r.op}`
        : r.op === Step.EXEC
          ? this.ctx.execStep
          : stepName(r.op);
    return systemError(r.errno, { step, ...(syscall ? { syscall } : {}) });
  }
}

function stepName(op: number): string {
  switch (op) {
    case Step.FDS: return 'stdio';
    case Step.START: return 'start';
    case Step.INIT: return 'init';
    case Step.SETUP_EXEC: return 'start the setup in nsbind-init';
    case Step.PLAN: return 'send the plan to nsbind-init';
    case Step.CLONE: return 'create namespaces';
    case Step.SETGROUPS: return 'setgroups';
    case Step.UID_MAP: return 'uid_map';
    case Step.GID_MAP: return 'gid_map';
    case Step.TIME_OFFSETS: return 'time offsets';
    case Step.CGROUP: return 'join cgroup';
    case Step.PIPES: return 'stdio pipes';
    case Step.TIME_NS: return 'create the time namespace';
    case Step.VETH_CREATE: return 'veth: create the pair';
    case Step.VETH_PEER: return 'veth: configure the peer end';
    case Step.VETH_SANDBOX: return 'veth: configure the sandbox end';
    case Step.EGRESS_RECEIVE: return 'egress: take the listening sockets';
    case Step.FORWARD_SOCKET: return 'forward: socket in the sandbox';
    default: return `step ${op}`;
  }
}
