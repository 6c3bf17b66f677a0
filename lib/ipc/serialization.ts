// Node's IPC wire formats, for the parent's end of a forked sandbox's channel.
//
// The child is a plain Node process: it finds its channel through NODE_CHANNEL_FD and
// speaks whatever NODE_CHANNEL_SERIALIZATION_MODE says. child_process's own parent side
// (setupChannel) is not public, so the parent speaks the same bytes here:
//
//   'json'     one JSON document per message, '\n'-terminated, UTF-8 (a message never
//              contains a raw newline: JSON.stringify escapes them);
//   'advanced' a 4-byte big-endian length, then a v8 serialization (header + value).
//              ArrayBufferViews are host objects, each preceded by a uint32 tag (0 = a
//              view, written by v8.DefaultSerializer as: uint32 index into Node's list
//              of typed-array constructors, uint32 byteLength, raw bytes; 1 = another
//              host object, written as a plain-object copy of it).
//
// This follows Node 20's lib/internal/child_process/serialization.js. The tagging is
// done by subclassing the public v8.DefaultSerializer, which writes the view itself, so
// the bytes are Node's own and stay so when Node changes the constructor list.
//
// The reader takes a limit on the size of one message: the peer is untrusted, and a
// message must be held whole before it can be parsed, so without a limit a JSON line
// that never ends (or an 'advanced' length prefix of 4 GiB) grows the parent without
// bound. Over the limit, decode throws ERR_NSBIND_IPC_OVERFLOW as soon as it knows:
// at the length prefix, or when an unfinished line passes the limit.
import { types } from 'node:util';
import * as v8 from 'node:v8';
import { nsbindError, type NsbindError } from '../errors.js';

export type Serialization = 'json' | 'advanced';

/** One message read from the wire, and the bytes it took there. */
export interface Decoded {
  message: unknown;
  bytes: number;
}

/** Turns messages into bytes and a byte stream back into messages. */
export interface Codec {
  /** The message as it goes on the wire. */
  encode(message: unknown): Buffer | string;
  /**
   * Feeds the bytes just read; yields every message they complete. Throws on malformed
   * input, and ERR_NSBIND_IPC_OVERFLOW for a message larger than the limit.
   */
  decode(chunk: Buffer): Generator<Decoded>;
  /** Whether a message has been started but not finished (bytes are held back). */
  readonly buffering: boolean;
}

/** The error for a message over the limit; the channel ends with it. */
function overflow(limit: number, size: string): NsbindError {
  return nsbindError('ERR_NSBIND_IPC_OVERFLOW', `the child sent an IPC message of ${size}, more than maxMessageSize (${limit} bytes)`, {
    option: 'fork.maxMessageSize',
    hint: 'raise fork\'s maxMessageSize (bytes; Infinity for no limit) if the child is trusted to send larger messages',
  });
}

const ARRAY_BUFFER_VIEW_TAG = 0;
const NOT_ARRAY_BUFFER_VIEW_TAG = 1;

// @types/node does not declare the host-object hooks the Default* classes implement.
const DefaultSerializer = v8.DefaultSerializer as unknown as new () => v8.Serializer & {
  _writeHostObject(object: object): void;
};
const DefaultDeserializer = v8.DefaultDeserializer as unknown as new (buffer: Buffer) => v8.Deserializer & {
  _readHostObject(): unknown;
};

class ChildProcessSerializer extends DefaultSerializer {
  override _writeHostObject(object: object): void {
    if (types.isArrayBufferView(object)) {
      this.writeUint32(ARRAY_BUFFER_VIEW_TAG);
      super._writeHostObject(object);
      return;
    }
    this.writeUint32(NOT_ARRAY_BUFFER_VIEW_TAG);
    this.writeValue({ ...object });
  }
}

class ChildProcessDeserializer extends DefaultDeserializer {
  override _readHostObject(): unknown {
    const tag = this.readUint32();
    if (tag === ARRAY_BUFFER_VIEW_TAG) return super._readHostObject();
    if (tag !== NOT_ARRAY_BUFFER_VIEW_TAG) throw new Error(`unknown host object tag ${tag}`);
    return this.readValue();
  }
}

class JsonCodec implements Codec {
  // The unfinished line, split as it was read. Lines are split on the byte 0x0a, which
  // never occurs inside a multi-byte UTF-8 sequence, so bytes are counted exactly.
  private parts: Buffer[] = [];
  private size = 0;

  constructor(private readonly limit: number) {}

  get buffering(): boolean {
    return this.size !== 0;
  }

  encode(message: unknown): string {
    return `${JSON.stringify(message)}\n`;
  }

  *decode(chunk: Buffer): Generator<Decoded> {
    let start = 0;
    for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a, start)) {
      const tail = chunk.subarray(start, nl);
      const bytes = this.size + tail.length;
      if (bytes > this.limit) throw overflow(this.limit, `${bytes} bytes`);
      const line = this.size === 0 ? tail : Buffer.concat([...this.parts, tail], bytes);
      this.parts = [];
      this.size = 0;
      start = nl + 1;
      yield { message: JSON.parse(line.toString('utf8')), bytes: bytes + 1 };
    }
    if (start === chunk.length) return;
    this.size += chunk.length - start;
    if (this.size > this.limit) throw overflow(this.limit, `more than ${this.limit} bytes (the line is not finished)`);
    this.parts.push(chunk.subarray(start));
  }
}

class AdvancedCodec implements Codec {
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(private readonly limit: number) {}

  get buffering(): boolean {
    return this.size > 0;
  }

  encode(message: unknown): Buffer {
    const ser = new ChildProcessSerializer();
    ser.writeRawBytes(Buffer.alloc(4)); // the length, filled in below
    ser.writeHeader();
    ser.writeValue(message);
    const out = ser.releaseBuffer();
    out.writeUInt32BE(out.length - 4, 0);
    return out;
  }

  *decode(chunk: Buffer): Generator<Decoded> {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size >= 4) {
      if (this.chunks[0].length < 4) this.chunks = [Buffer.concat(this.chunks, this.size)];
      const length = this.chunks[0].readUInt32BE(0);
      // Refused at the prefix, before a byte of the body is held.
      if (length > this.limit) throw overflow(this.limit, `${length} bytes`);
      const total = length + 4;
      if (this.size < total) return;
      const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.size);
      const body = all.subarray(4, total);
      const rest = all.subarray(total);
      this.chunks = rest.length ? [rest] : [];
      this.size = rest.length;
      const des = new ChildProcessDeserializer(body);
      des.readHeader();
      yield { message: des.readValue(), bytes: total };
    }
  }
}

/**
 * A fresh codec for one channel (decoders keep the partial message between reads).
 * `limit`: the largest message it reads, in bytes on the wire (without the JSON newline
 * or the 'advanced' length prefix).
 */
export function createCodec(mode: Serialization, limit = Infinity): Codec {
  return mode === 'json' ? new JsonCodec(limit) : new AdvancedCodec(limit);
}
