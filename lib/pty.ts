// spawn({ pty }): the program runs on a new pseudo-terminal that is its controlling
// terminal, as under a terminal emulator or `script`. The parent keeps the master;
// stdin writes to it (keystrokes) and stdout reads from it (the screen: the program's
// stdout and stderr both, as on any terminal). The terminal side goes to the sandbox as
// fds 0-2 and NSB_OP_SETCTTY makes it the session's terminal in the child.
import { constants as osConstants } from 'node:os';
import tty from 'node:tty';
import type { Socket } from 'node:net';
import { native } from './binding.js';
import { invalid, systemError } from './errors.js';
import { UNSAFE, unsafeTestBits } from './unsafe-test.js';
import * as v from './validate.js';

/** `pty: true` or the terminal's size. */
export type PtyOption = boolean | { cols?: number; rows?: number };

/** What `SandboxProcess.pty` offers. */
export interface Pty {
  /** Columns and rows now. */
  readonly cols: number;
  readonly rows: number;
  /** Sets the terminal's size; the program's foreground process group gets SIGWINCH. */
  resize(cols: number, rows: number): void;
}

const DEFAULT = { cols: 80, rows: 24 };
const { EAGAIN, EINTR } = osConstants.errno;
/** Only where a test switched the protection off (lib/unsafe-test.ts pty-blocking-write). */
const blockingWrites = (unsafeTestBits & UNSAFE.PTY_BLOCKING_WRITE) !== 0;

/** Validates `spawn.pty`; undefined when no pty is wanted. */
export function ptySize(pty: unknown): { cols: number; rows: number } | undefined {
  if (pty === undefined || pty === false) return undefined;
  if (pty === true) return { ...DEFAULT };
  const o = v.plainObject(pty, 'spawn.pty');
  for (const k of Object.keys(o)) if (k !== 'cols' && k !== 'rows') throw invalid(`spawn.pty.${k}`, 'unknown option (cols, rows)');
  return { cols: dimension(o.cols, 'spawn.pty.cols', DEFAULT.cols), rows: dimension(o.rows, 'spawn.pty.rows', DEFAULT.rows) };
}

function dimension(n: unknown, option: string, dflt: number): number {
  if (n === undefined) return dflt;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535) {
    throw invalid(option, `expected an integer from 1 to 65535, not ${v.describe(n)}`);
  }
  return n;
}

/** Opens the pair: [master, terminal], both close-on-exec. */
export function openPty(size: { cols: number; rows: number }): { master: number; terminal: number } {
  // Non-blocking: Node's thread must never wait on the master. libuv reads it; writes go
  // through masterStream's _write, since libuv writes to a master (it cannot reopen one)
  // in a blocking-writes mode, which would spin on EAGAIN.
  const r = native().ptyOpen(size.cols, size.rows, !blockingWrites);
  if (typeof r === 'number') throw systemError(-r, { step: 'open a pseudo-terminal', syscall: 'open /dev/ptmx', option: 'spawn.pty' });
  return { master: r[0], terminal: r[1] };
}

/**
 * The master as one stream for both directions. When the sandbox's last holder of the
 * terminal side is gone, reading the master fails with EIO: that is the terminal's end
 * of file, not an error.
 */
export function masterStream(master: number): Socket {
  const s = new tty.ReadStream(master, { readable: true, writable: true } as never) as unknown as Socket;
  // libuv ends a stream whose poll says "hung up" after a short read, without reading
  // again; a pty's reads are always short (4 KiB at most), so the last output still in
  // the terminal's buffer when the program closed it was dropped (measured: about one
  // spawn in ten lost up to 3 KiB of 200 KB). Before the end, read what is left (without
  // waiting: native/pty.cc ptyDrain).
  const push = s.push;
  s.push = function (this: Socket, chunk: unknown, encoding?: BufferEncoding) {
    if (chunk === null) for (const rest of native().ptyDrain(master)) push.call(this, rest);
    return push.call(this, chunk, encoding);
  } as Socket['push'];
  // Input: written by hand on the non-blocking master, retried while the program does not
  // read it (its terminal's input full), so that waiting never holds Node's thread.
  if (!blockingWrites) s._write = function (this: Socket, chunk: Buffer | string, encoding: BufferEncoding, cb: (e?: Error | null) => void) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk;
    let off = 0;
    let wait = 1;
    const attempt = (): void => {
      while (off < buf.length) {
        if (this.destroyed) return cb(systemError(9, { step: 'write to the pseudo-terminal', syscall: 'write' }));
        const n = native().ptyWrite(master, buf, off);
        if (n > 0) {
          off += n;
          wait = 1;
        } else if (n === -EAGAIN) {
          setTimeout(attempt, wait);
          wait = Math.min(wait * 2, 50);
          return;
        } else if (n !== -EINTR) {
          return cb(systemError(-n, { step: 'write to the pseudo-terminal', syscall: 'write' }));
        }
      }
      cb();
    };
    attempt();
  };
  if (!blockingWrites) (s as unknown as { _writev: unknown })._writev = null; // one chunk at a time, through _write
  const destroy = s.destroy;
  s.destroy = function (this: Socket, err?: Error, ...rest: unknown[]) {
    if (err && (err as NodeJS.ErrnoException).code === 'EIO') {
      // End of the output: let a reader take what is buffered (or still held back until
      // 'spawn', lib/stdio.ts holdReading) first, then close.
      this.push(null);
      if (this.readableFlowing && !this.readableEnded) {
        this.once('end', () => (destroy as (...a: unknown[]) => Socket).call(this));
        return this;
      }
      err = undefined;
    }
    return (destroy as (...a: unknown[]) => Socket).call(this, err, ...rest);
  } as Socket['destroy'];
  return s;
}

export function ptyControl(stream: Socket, master: number, size: { cols: number; rows: number }): Pty {
  let { cols, rows } = size;
  return {
    get cols() {
      return cols;
    },
    get rows() {
      return rows;
    },
    resize(c: number, r: number) {
      c = dimension(c, 'pty.resize.cols', cols);
      r = dimension(r, 'pty.resize.rows', rows);
      // Once the stream is gone its descriptor number may be another file's.
      if (stream.destroyed) throw systemError(9, { step: 'resize the pseudo-terminal', syscall: 'ioctl TIOCSWINSZ' });
      const e = native().ptyResize(master, c, r);
      if (e < 0) throw systemError(-e, { step: 'resize the pseudo-terminal', syscall: 'ioctl TIOCSWINSZ' });
      cols = c;
      rows = r;
    },
  };
}
