// Running a sandbox from the command line: stdio inherited, the signals a terminal or a
// supervisor sends forwarded to the sandbox, and the program's end turned into an exit
// status the way shells do it (code, or 128+N for signal N; 127/126 when exec failed).
import { fstatSync, writeSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { NsbindError } from '../errors.js';
import type { ExitResult, SandboxProcess } from '../process.js';
import type { Sandbox } from '../sandbox.js';
import { EXIT_NOT_EXECUTABLE, EXIT_NOT_FOUND, EXIT_NSBIND, UsageError } from './usage.js';

/** What nsbind's init forwards, so the CLI forwards the same set. */
const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/** `{ code: 3 }` -> 3; `{ signal: 'SIGKILL' }` -> 137. */
export function exitStatus(r: ExitResult): number {
  if (r.code !== null) return r.code;
  const n = r.signal ? (osConstants.signals as Record<string, number>)[r.signal] : undefined;
  return 128 + (n ?? 0);
}

/** Options of the spawn the CLI sets besides the sandbox (`--argv0`, `--timeout`). */
export interface SpawnExtras {
  argv0?: string;
  timeout?: number;
  /** `--die-with-parent`/`--kill-child`: end when nsbind's own parent dies. */
  dieWithParent?: boolean;
  /** The command line changes no root: a missing mount point may be a bwrap habit. */
  noRoot?: boolean;
  /** `--pty`: the program on a new pseudo-terminal joined to ours. */
  pty?: boolean;
}

/** For a bwrap command line run as `nsbind run` without a root of its own. */
export const EMPTY_ROOT_HINT =
  "  hint: bwrap starts from an empty root and creates mount points in it; 'nsbind run' keeps the host's tree unless --empty-root is given (or run the line as 'nsbind bwrap ...')";

/** Whether an error is about a mount point or file nsbind would not create on the host. */
export function missingOnHost(message: string): boolean {
  return /destination does not exist inside the sandbox|not inside a filesystem the sandbox made/.test(message);
}

/**
 * Why the program ended, when it was not its own doing: a shell shows only "Killed"
 * (or nothing) for these, so the CLI says it on stderr.
 */
export function endReason(r: ExitResult, timeoutMs?: number): string | undefined {
  if (r.reason === 'oom') {
    const peak = r.usage?.memoryPeakBytes;
    return `nsbind: the program was killed by the OOM killer: it reached the --memory limit${peak ? ` (peak ${Math.round(peak / 1048576)} MiB)` : ''}`;
  }
  if (r.reason === 'timeout') return `nsbind: the program was killed after the --timeout of ${(timeoutMs ?? 0) / 1000} s`;
  return undefined;
}

/** A failed exec is reported as shells do; every other setup failure is nsbind's (125). */
export function errorStatus(e: unknown): number {
  if (e instanceof NsbindError && e.step?.startsWith('execve ')) {
    if (e.code === 'ENOENT') return EXIT_NOT_FOUND;
    if (['EACCES', 'ENOEXEC', 'EPERM', 'EISDIR', 'ETXTBSY', 'ELOOP', 'ENOTDIR'].includes(e.code)) return EXIT_NOT_EXECUTABLE;
  }
  return EXIT_NSBIND;
}

/** Checks a `--json-status-fd` before anything runs. */
export function checkStatusFd(command: string, fd: number): void {
  try {
    fstatSync(fd);
  } catch {
    throw new UsageError(command, `--json-status-fd: ${fd} is not an open file descriptor`);
  }
}

/**
 * Spawns `cmd` in `sb` with inherited stdio and resolves to the exit status. A setup
 * failure is printed on stderr (one NsbindError message) and becomes 125/126/127.
 */
export async function supervise(sb: Sandbox, cmd: string[], statusFd?: number, extras: SpawnExtras = {}): Promise<number> {
  let p: SandboxProcess;
  try {
    const { dieWithParent: _d, noRoot: _n, pty, ...spawnExtras } = extras;
    p = sb.spawn(cmd[0], cmd.slice(1), pty ? { pty: terminalSize(), ...spawnExtras } : { stdio: 'inherit', ...spawnExtras });
  } catch (e) {
    return report(e, extras.noRoot);
  }
  const detach = extras.pty ? connectTerminal(p) : () => Promise.resolve();
  const forward = (sig: NodeJS.Signals) => p.kill(sig);
  for (const sig of FORWARDED) process.on(sig, forward);
  const stopWatch = extras.dieWithParent ? watchParent() : () => {};
  const status = (obj: object) => {
    if (statusFd !== undefined) writeSync(statusFd, `${JSON.stringify(obj)}\n`);
  };
  p.once('spawn', () => status({ 'child-pid': p.pid, isolation: p.isolation, namespaces: p.namespaces }));
  try {
    const r = await p.exited;
    await detach();
    const code = exitStatus(r);
    const why = endReason(r, extras.timeout);
    if (why) process.stderr.write(`${why}\n`);
    status({ 'exit-code': code, ...r });
    return code;
  } catch (e) {
    await detach();
    return report(e, extras.noRoot);
  } finally {
    stopWatch();
    for (const sig of FORWARDED) process.off(sig, forward);
  }
}

/** This terminal's size for the sandbox's pty; 80x24 when ours is not a terminal. */
function terminalSize(): { cols: number; rows: number } | true {
  return process.stdout.isTTY && process.stdout.columns > 0 ? { cols: process.stdout.columns, rows: process.stdout.rows } : true;
}

/**
 * Joins our stdio to the sandbox's pty as a terminal emulator would: our terminal in raw
 * mode (the pty's own line discipline does echo, ^C and ^Z), keystrokes in, screen out,
 * and our window size followed. Returns what undoes it, once the output is drained.
 */
function connectTerminal(p: SandboxProcess): () => Promise<void> {
  const stdin = process.stdin;
  const raw = stdin.isTTY === true;
  if (raw) stdin.setRawMode(true);
  const onData = (d: Buffer) => p.stdin?.write(d);
  // Our input ended (a pipe): the terminal's end-of-file character, not a hangup.
  const onEnd = () => p.stdin?.write('\x04');
  stdin.on('data', onData);
  stdin.once('end', onEnd);
  const onResize = () => {
    if (process.stdout.isTTY) p.pty?.resize(process.stdout.columns, process.stdout.rows);
  };
  process.on('SIGWINCH', onResize);
  const drained = new Promise<void>((resolve) => {
    if (!p.stdout) return resolve();
    p.stdout.on('data', (d: Buffer) => process.stdout.write(d));
    p.stdout.once('close', resolve);
  });
  return async () => {
    await drained;
    process.off('SIGWINCH', onResize);
    stdin.off('data', onData);
    stdin.off('end', onEnd);
    if (raw) stdin.setRawMode(false);
    stdin.pause();
    // A terminal's stdin stays referenced once read from; let the process exit.
    (stdin as unknown as { unref?: () => void }).unref?.();
  };
}

function report(e: unknown, noRoot?: boolean): number {
  if (e instanceof UsageError) throw e;
  const message = e instanceof Error ? e.message : String(e);
  process.stderr.write(`${message}\n${noRoot && missingOnHost(message) ? `${EMPTY_ROOT_HINT}\n` : ''}`);
  return errorStatus(e);
}

/**
 * `--die-with-parent` for the command itself: bwrap sets PR_SET_PDEATHSIG on itself; Node
 * cannot, so the parent is watched (once a second: process.ppid is a getppid() call) and
 * nsbind kills itself when it changes -- the sandbox then dies with nsbind, through its
 * init's own parent-death signal.
 */
export function watchParent(): () => void {
  const parent = process.ppid;
  const t = setInterval(() => {
    if (process.ppid !== parent) process.kill(process.pid, 'SIGKILL');
  }, 1000);
  t.unref();
  return () => clearInterval(t);
}
