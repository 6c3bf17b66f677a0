// `stdio` as child_process takes it -> the child's descriptor slots, and the streams
// the caller gets for the slots that are pipes.
import { openSync } from 'node:fs';
import { Socket } from 'node:net';
import type { Readable, Writable, Stream } from 'node:stream';
import type { StdioSlot } from './binding.js';
import { invalid } from './errors.js';

export type StdioEntry = 'pipe' | 'inherit' | 'ignore' | 'ipc' | 'overlapped' | number | Stream | null | undefined;
export type StdioOption = 'pipe' | 'inherit' | 'ignore' | 'overlapped' | StdioEntry[];

export interface PreparedStdio {
  slots: StdioSlot[];
  /** Index of the 'ipc' slot, if any. */
  ipc?: number;
}

function streamFd(s: Stream): number | undefined {
  const anyS = s as unknown as { fd?: unknown; _handle?: { fd?: unknown } };
  if (typeof anyS.fd === 'number' && anyS.fd >= 0) return anyS.fd;
  if (anyS._handle && typeof anyS._handle.fd === 'number' && anyS._handle.fd >= 0) return anyS._handle.fd;
  return undefined;
}

export function prepareStdio(stdio: StdioOption | undefined, option = 'stdio'): PreparedStdio {
  let entries: StdioEntry[];
  if (stdio === undefined || stdio === 'pipe' || stdio === 'overlapped') entries = ['pipe', 'pipe', 'pipe'];
  else if (stdio === 'inherit') entries = [0, 1, 2];
  else if (stdio === 'ignore') entries = ['ignore', 'ignore', 'ignore'];
  else if (Array.isArray(stdio)) entries = [...stdio];
  else throw invalid(option, `expected 'pipe', 'inherit', 'ignore' or an array`);
  while (entries.length < 3) entries.push(undefined);
  if (entries.length > 64) throw invalid(option, 'at most 64 descriptors can be passed');

  const out: PreparedStdio = { slots: [] };
  entries.forEach((e, i) => {
    if (e === undefined || e === null) e = i < 3 ? 'pipe' : 'ignore';
    if (e === 'pipe' || e === 'overlapped') {
      out.slots.push(i === 0 ? { kind: 'in' } : i < 3 ? { kind: 'out' } : { kind: 'duplex' });
    } else if (e === 'ipc') {
      if (out.ipc !== undefined) throw invalid(`${option}[${i}]`, "only one 'ipc' slot is allowed");
      out.ipc = i;
      out.slots.push({ kind: 'duplex' });
    } else if (e === 'inherit') {
      out.slots.push({ kind: 'fd', fd: i });
    } else if (e === 'ignore') {
      if (i < 3) {
        // The program still gets a valid descriptor: reading gives EOF, writing is dropped.
        out.slots.push({ kind: 'fd', fd: devNull() });
      } else {
        out.slots.push({ kind: 'close' });
      }
    } else if (typeof e === 'number') {
      if (!Number.isInteger(e) || e < 0) throw invalid(`${option}[${i}]`, `expected a file descriptor, got ${e}`);
      out.slots.push({ kind: 'fd', fd: e });
    } else if (typeof e === 'object' && typeof (e as Stream).pipe === 'function') {
      const fd = streamFd(e);
      if (fd === undefined) throw invalid(`${option}[${i}]`, 'a stream passed as stdio must have an underlying file descriptor');
      out.slots.push({ kind: 'fd', fd });
    } else {
      throw invalid(`${option}[${i}]`, `unsupported stdio value ${String(e)}`);
    }
  });
  return out;
}

/**
 * One /dev/null for the process (close-on-exec), opened on first use: the addon takes
 * its own copy at spawn(), so there is no need to open and close one per spawn on the JS
 * thread.
 */
let devNullFd: number | undefined;
function devNull(): number {
  devNullFd ??= openSync('/dev/null', 'r+');
  return devNullFd;
}

/**
 * Streams over the parent's ends of the pipes, as child_process gives them. The ones that
 * read deliver nothing until `release` is called (at 'spawn'): the program's first output and
 * the spawn's completion reach the event loop separately, and child_process's order —
 * 'spawn' and `pid` before any 'data' — is what users' handlers rely on.
 */
export function wrapParentFds(slots: StdioSlot[], fds: (number | null)[]): { streams: (Socket | null)[]; release: () => void } {
  const held: (() => void)[] = [];
  const streams = slots.map((slot, i) => {
    const fd = fds[i];
    if (fd === null || fd === undefined) return null;
    if (slot.kind === 'in') return new Socket({ fd, readable: false, writable: true });
    const s = new Socket({ fd, readable: true, writable: slot.kind !== 'out' });
    held.push(holdReading(s));
    return s;
  });
  return { streams, release: () => held.splice(0).forEach((f) => f()) };
}

/**
 * Holds back what a socket reads until the returned function is called. The socket reads
 * from the start (so what the program wrote before it exited is in hand when its exit is
 * seen, as with child_process), but the chunks reach the stream, and so its readers, only
 * at the release, in order, end of file included. Past the high-water mark the socket
 * stops reading, as a stream whose reader is slow does.
 */
export function holdReading(s: Socket): () => void {
  const held: (Buffer | null)[] = [];
  let bytes = 0;
  const own = Object.hasOwn(s, 'push') ? s.push : undefined; // a pty master's (lib/pty.ts)
  (s as { push: Socket['push'] }).push = (chunk: Buffer | null) => {
    held.push(chunk);
    bytes += chunk?.length ?? 0;
    return bytes < s.readableHighWaterMark;
  };
  return () => {
    if (own) s.push = own;
    else delete (s as { push?: unknown }).push; // the prototype's again
    if (s.destroyed) return;
    for (const c of held.splice(0)) s.push(c);
    // Reading stopped at the mark: start again unless the stream is full now.
    if (bytes >= s.readableHighWaterMark && s.readableLength < s.readableHighWaterMark && !s.readableEnded) s.read(0);
  };
}

export type { Readable, Writable };
