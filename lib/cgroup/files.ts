// Reading and writing cgroupfs files. Every write is one write(2) on a file opened without
// O_CREAT/O_TRUNC: the kernel parses each write as one value, and errors (EINVAL for a bad
// value, EBUSY for the no-internal-process rule) come back from that write.
import { closeSync, openSync, promises as fsp, readFileSync, readdirSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { errnoNumber, systemError } from '../errors.js';

/** The positive errno of a Node fs error, or EIO when it has none. */
export function errnoOf(e: unknown): number {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return (code && errnoNumber(code)) || 5;
}

/** The code of a Node fs error (`'ENOENT'`), or undefined. */
export function codeOf(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * Writes `text` to a cgroup file in one write(2); throws a system error naming `step`.
 * Synchronous: creating a sandbox cgroup is a handful of metadata operations on a
 * pseudo-filesystem, done while spawn() prepares its request.
 */
export function writeCgroupFileSync(path: string, text: string, step: string, hint?: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r+');
    writeSync(fd, text);
  } catch (e) {
    throw systemError(errnoOf(e), { step, syscall: fd === undefined ? 'open' : 'write', path, ...(hint ? { hint } : {}) });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** A cgroup file's text, or undefined when it does not exist. */
export function readCgroupFileSync(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** The pids of a `cgroup.procs` file, synchronously. */
export function readPidsSync(procsFile: string): number[] {
  return (readCgroupFileSync(procsFile) ?? '').split('\n').filter((x) => /^\d+$/.test(x)).map(Number);
}

/** `dir` and every directory beneath it, parents before children, synchronously. */
export function cgroupTreeSync(dir: string): string[] {
  const out = [dir];
  for (let i = 0; i < out.length; i++) {
    try {
      for (const e of readdirSync(out[i], { withFileTypes: true })) if (e.isDirectory()) out.push(join(out[i], e.name));
    } catch {
      // removed meanwhile
    }
  }
  return out;
}

/** The text of a cgroup file, or undefined when it does not exist (an absent controller). */
export async function readCgroupFile(path: string): Promise<string | undefined> {
  try {
    return await fsp.readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** A flat-keyed file (`memory.events`, `cpu.stat`, v1 `memory.oom_control`) as a map. */
export function parseKeyed(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^\d+$/.test(v)) m.set(k, Number(v));
  }
  return m;
}

/** A single-number file (`memory.peak`, `pids.peak`), or undefined when absent or `max`. */
export async function readNumber(path: string): Promise<number | undefined> {
  const t = (await readCgroupFile(path))?.trim();
  return t !== undefined && /^\d+$/.test(t) ? Number(t) : undefined;
}

/** The pids listed in a `cgroup.procs` file (empty when the cgroup is gone). */
export async function readPids(procsFile: string): Promise<number[]> {
  const t = await readCgroupFile(procsFile);
  if (!t) return [];
  return t.split('\n').filter((s) => /^\d+$/.test(s)).map(Number);
}

/** Whether a path exists. */
export async function exists(path: string): Promise<boolean> {
  try {
    await fsp.access(path);
    return true;
  } catch {
    return false;
  }
}
