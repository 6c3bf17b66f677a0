// The parent's end of a Node IPC channel, attached to a SandboxProcess the way
// child_process's setupChannel attaches it to a ChildProcess: `send()`, `disconnect()`,
// `connected`, `channel`, and the events 'message' and 'disconnect'. The behaviour users
// rely on is kept: messages that arrive before anyone listens for 'message' are held and
// delivered to the first listener; internal messages ({ cmd: 'NODE_...' }) never reach
// 'message'; `send` returns false when the child is more than 128 KiB behind; a send
// after the channel closed fails with ERR_IPC_CHANNEL_CLOSED.
//
// What differs, and why: the child is untrusted. Bytes that do not parse end the
// channel with an error instead of throwing inside Node's read path. What the child
// sends is bounded in Node's memory: a message over `maxMessageSize` ends the channel
// with ERR_NSBIND_IPC_OVERFLOW, and reading stops while messages nobody listens for
// yet (or replies the child does not read) pass HOLD_BYTES (see inflow.ts); where
// child_process would hold everything, the child waits instead. Errors the child causes
// are emitted only to an 'error' listener: a hostile child must not be able to crash
// Node by making an unhandled 'error'; 'disconnect' always tells. And handles
// (sockets, servers) cannot cross the channel (the socket is read without SCM_RIGHTS, so
// the kernel drops any descriptor the child attaches; the child is told NODE_HANDLE_NACK,
// as Node tells a sender whose handle did not arrive).
import type { Socket } from 'node:net';
import type { EventEmitter } from 'node:events';
import { NsbindError, nsbindError } from '../errors.js';
import { HOLD_BYTES, Inflow } from './inflow.js';
import { createCodec, type Decoded, type Serialization } from './serialization.js';

/** `child.channel`: keeps the event loop alive while connected, unless unref'd. */
export interface IpcControl {
  /** Keeps the event loop alive while the channel is open (the default). */
  ref(): void;
  /** Lets the event loop end even though the channel is open. */
  unref(): void;
}

export type SendCallback = (error: Error | null) => void;

/** What a forked sandbox has on top of a spawned one, as a ChildProcess from `fork()`. */
export interface IpcMethods {
  /**
   * Sends a message to the child, where `process.on('message')` receives it. Serialised
   * as `serialization` says (`'json'`: JSON; `'advanced'`: the structured clone algorithm,
   * so Maps, Sets, Buffers, typed arrays, Dates, BigInts… arrive as themselves).
   * @returns false when the child is more than 128 KiB behind (wait before sending more),
   *   or when the channel is closed (the callback, or else an 'error' event, then gets
   *   ERR_IPC_CHANNEL_CLOSED).
   * @example
   * child.send({ hello: 'world' }, (err) => { if (err) console.error(err) });
   */
  send(message: unknown, callback?: SendCallback): boolean;
  send(message: unknown, sendHandle: undefined | null, options?: { swallowErrors?: boolean }, callback?: SendCallback): boolean;
  /**
   * Closes the channel: no more messages either way; 'disconnect' is emitted and the
   * child's `process.on('disconnect')` fires. Calling it again emits ERR_IPC_DISCONNECTED.
   */
  disconnect(): void;
  /** Whether messages can still be sent. */
  connected: boolean;
  /** The channel (to `ref()`/`unref()` it), or null once disconnected. */
  channel: IpcControl | null;
}

/** Node's internal messages (`{ cmd: 'NODE_…' }`) are the channel's, not the user's. */
function isInternal(message: unknown): message is { cmd: string } {
  if (message === null || typeof message !== 'object') return false;
  const cmd = (message as { cmd?: unknown }).cmd;
  return typeof cmd === 'string' && cmd.length > 5 && cmd.startsWith('NODE_');
}

/** An error shaped like Node's own (`code`, and `Error [CODE]: message` when printed). */
function nodeError(code: string, message: string): Error & { code: string } {
  const e = new Error(message) as Error & { code: string };
  e.code = code;
  e.stack = e.stack?.replace(/^Error:/, `Error [${code}]:`);
  Object.defineProperty(e, 'toString', {
    value: () => `Error [${code}]: ${message}`,
    enumerable: false,
  });
  return e;
}

/** The error child_process gives for a send on a closed channel. */
export function channelClosedError(): Error & { code: string } {
  return nodeError('ERR_IPC_CHANNEL_CLOSED', 'Channel closed');
}

/** How much of what the child sends the parent holds (see the top of this file). */
export interface ChannelBounds {
  /** The largest message read from the child, in bytes on the wire. */
  maxMessageSize: number;
  /** Bytes held for the child (undelivered messages, unread replies) before reading stops. */
  holdBytes?: number;
}

/**
 * Attaches the channel over `socket` (the parent's end of the socketpair) to `target`.
 * Returns `ended`, to call when the sandbox is gone, and `abandon`, for one that never
 * started.
 */
export function setupChannel<T extends EventEmitter>(
  target: T,
  socket: Socket,
  mode: Serialization,
  { maxMessageSize, holdBytes = HOLD_BYTES }: ChannelBounds,
): { target: T & IpcMethods; ended: () => void; abandon: () => void } {
  const t = target as T & IpcMethods;
  const codec = createCodec(mode, maxMessageSize);
  const inflow = new Inflow(socket);
  let open = true; // the socket is still ours to read and write
  let pending: unknown[] = []; // messages that arrived while nobody listened
  let pendingBytes = 0; // their size on the wire

  const control: IpcControl = {
    ref: () => socket.ref(),
    unref: () => socket.unref(),
  };
  t.connected = true;
  t.channel = control;

  const deliver = ({ message, bytes }: Decoded) => {
    if (!open) return;
    // With messages still held, a listener that just arrived gets them first (its
    // newListener flush is on its way): order is kept.
    if (t.listenerCount('message') > 0 && pending.length === 0) {
      t.emit('message', message, undefined);
      return;
    }
    pending.push(message);
    pendingBytes += bytes;
    if (pendingBytes > holdBytes) inflow.hold('undelivered');
  };

  t.on('newListener', (event) => {
    if (event !== 'message') return;
    process.nextTick(() => {
      if (!pending.length || t.listenerCount('message') === 0) return;
      const held = pending;
      pending = [];
      pendingBytes = 0;
      for (const m of held) t.emit('message', m, undefined);
      if (open) inflow.release('undelivered');
    });
  });

  const write = (message: unknown, callback: SendCallback | undefined, swallowErrors: boolean): boolean => {
    // As child_process: a message that cannot be serialised throws at the call.
    const data = codec.encode(message);
    socket.write(data, (err) => {
      if (!err) return callback?.(null);
      if (swallowErrors) return;
      if (callback) callback(err);
      else t.emit('error', err);
    });
    return socket.writableLength < 65536 * 2;
  };

  const close = (emitDisconnect: boolean) => {
    if (!open) return;
    open = false;
    t.connected = false;
    t.channel = null;
    pending = [];
    pendingBytes = 0;
    // Flush what was sent, then let go; the child sees EOF and disconnects too.
    socket.end(() => socket.destroy());
    if (emitDisconnect) process.nextTick(() => t.emit('disconnect'));
  };

  socket.on('data', (chunk: Buffer) => {
    if (!open) return;
    try {
      for (const decoded of codec.decode(chunk)) {
        const { message } = decoded;
        if (!isInternal(message)) {
          process.nextTick(deliver, decoded);
        } else if (message.cmd === 'NODE_HANDLE') {
          // The descriptor did not come through (see the top of this file). A child that
          // sends these without reading the answers must not queue them in Node.
          write({ cmd: 'NODE_HANDLE_NACK' }, undefined, true);
          if (socket.writableLength > holdBytes && !inflow.held('replies')) {
            inflow.hold('replies');
            socket.once('drain', () => inflow.release('replies'));
          }
        }
        // Other internal messages (acks for handles we never send, cluster's) are ignored.
      }
    } catch (e) {
      const err =
        e instanceof NsbindError
          ? e
          : nsbindError('ERR_NSBIND_IPC', `the child sent a message that is not valid ${mode} IPC`, {
              cause: e,
              hint: `the child must use process.send() with serialization '${mode}' and not write to fd NODE_CHANNEL_FD itself`,
            });
      close(true);
      process.nextTick(() => {
        if (t.listenerCount('error') > 0) t.emit('error', err);
      });
    }
  });
  // EOF: the child disconnected or is gone. Messages already read are delivered first
  // (they were queued with nextTick before this).
  socket.on('end', () => process.nextTick(() => close(true)));
  socket.on('close', () => process.nextTick(() => close(true)));
  // A write to a dead child fails with EPIPE on the socket too; the send's callback (or
  // 'error') reports it, so the socket's own error event must not crash the process.
  socket.on('error', () => {});

  t.send = function send(
    message: unknown,
    handle?: unknown,
    options?: unknown,
    callback?: unknown,
  ): boolean {
    if (typeof handle === 'function') {
      callback = handle;
      handle = undefined;
      options = undefined;
    } else if (typeof options === 'function') {
      callback = options;
      options = undefined;
    } else if (options !== undefined && (options === null || typeof options !== 'object')) {
      throw Object.assign(new TypeError('The "options" argument must be of type object.'), { code: 'ERR_INVALID_ARG_TYPE' });
    }
    const cb = typeof callback === 'function' ? (callback as SendCallback) : undefined;
    if (handle !== undefined && handle !== null) {
      throw nsbindError('ERR_NSBIND_UNSUPPORTED', 'handles (sockets, servers) cannot be sent into a sandbox', {
        option: 'send.sendHandle',
        hint: 'send data, or let the child open its own socket inside its namespaces',
      });
    }
    if (!t.connected) {
      const ex = channelClosedError();
      if (cb) process.nextTick(cb, ex);
      else process.nextTick(() => t.emit('error', ex));
      return false;
    }
    if (message === undefined) {
      throw Object.assign(new TypeError('The "message" argument must be specified'), { code: 'ERR_MISSING_ARGS' });
    }
    if (!['string', 'object', 'number', 'boolean'].includes(typeof message)) {
      throw Object.assign(
        new TypeError('The "message" argument must be one of type string, object, number, or boolean.'),
        { code: 'ERR_INVALID_ARG_TYPE' },
      );
    }
    const swallow = Boolean((options as { swallowErrors?: unknown } | undefined)?.swallowErrors);
    return write(message, cb, swallow);
  } as IpcMethods['send'];

  t.disconnect = function disconnect(): void {
    if (!t.connected) {
      t.emit('error', nodeError('ERR_IPC_DISCONNECTED', 'IPC channel is already disconnected'));
      return;
    }
    close(true);
  };

  // The sandbox is gone. A socket whose reading is stopped never reads its EOF, so if
  // nobody has listened by now the channel ends here; otherwise it and its descriptor
  // would outlive the sandbox. (What was held is dropped, as an EOF drops it.)
  const ended = () => {
    if (inflow.held()) close(true);
  };

  // The sandbox never started: close without events.
  const abandon = () => {
    open = false;
    t.connected = false;
    t.channel = null;
    socket.destroy();
  };
  return { target: t, ended, abandon };
}
