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
import { StringDecoder } from 'node:string_decoder';
import { types } from 'node:util';
import * as v8 from 'node:v8';

export type Serialization = 'json' | 'advanced';

/** Turns messages into bytes and a byte stream back into messages. */
export interface Codec {
  /** The message as it goes on the wire. */
  encode(message: unknown): Buffer | string;
  /** Feeds the bytes just read; yields every message they complete. Throws on malformed input. */
  decode(chunk: Buffer): Generator<unknown>;
  /** Whether a message has been started but not finished (bytes are held back). */
  readonly buffering: boolean;
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
  private partial = '';
  private decoder = new StringDecoder('utf8');

  get buffering(): boolean {
    return this.partial.length !== 0;
  }

  encode(message: unknown): string {
    return `${JSON.stringify(message)}\n`;
  }

  *decode(chunk: Buffer): Generator<unknown> {
    if (chunk.length === 0) return;
    const lines = this.decoder.write(chunk).split('\n');
    const last = lines.pop()!;
    if (lines.length === 0) {
      this.partial += last;
      return;
    }
    lines[0] = this.partial + lines[0];
    this.partial = last;
    for (const line of lines) yield JSON.parse(line);
  }
}

class AdvancedCodec implements Codec {
  private chunks: Buffer[] = [];
  private size = 0;

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

  *decode(chunk: Buffer): Generator<unknown> {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size >= 4) {
      if (this.chunks[0].length < 4) this.chunks = [Buffer.concat(this.chunks, this.size)];
      const total = this.chunks[0].readUInt32BE(0) + 4;
      if (this.size < total) return;
      const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.size);
      const body = all.subarray(4, total);
      const rest = all.subarray(total);
      this.chunks = rest.length ? [rest] : [];
      this.size = rest.length;
      const des = new ChildProcessDeserializer(body);
      des.readHeader();
      yield des.readValue();
    }
  }
}

/** A fresh codec for one channel (decoders keep the partial message between reads). */
export function createCodec(mode: Serialization): Codec {
  return mode === 'json' ? new JsonCodec() : new AdvancedCodec();
}
