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
export async function supervise(sb: Sandbox, cmd: string[], statusFd?: number, o: { pty?: boolean } = {}): Promise<number> {
  let p: SandboxProcess;
  try {
    p = sb.spawn(cmd[0], cmd.slice(1), o.pty ? { pty: terminalSize() } : { stdio: 'inherit' });
  } catch (e) {
    return report(e);
  }
  const detach = o.pty ? connectTerminal(p) : () => Promise.resolve();
  const forward = (sig: NodeJS.Signals) => p.kill(sig);
  for (const sig of FORWARDED) process.on(sig, forward);
  const status = (obj: object) => {
    if (statusFd !== undefined) writeSync(statusFd, `${JSON.stringify(obj)}\n`);
  };
  p.once('spawn', () => status({ 'child-pid': p.pid, isolation: p.isolation, namespaces: p.namespaces }));
  try {
    const r = await p.exited;
    await detach();
    const code = exitStatus(r);
    status({ 'exit-code': code, ...r });
    return code;
  } catch (e) {
    await detach();
    return report(e);
  } finally {
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

function report(e: unknown): number {
  if (e instanceof UsageError) throw e;
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  return errorStatus(e);
}
