// Encodes ops and their strings into the one buffer the child walks (see native/plan.h).
// Each op also carries the step name a user reads when it fails ("bind /a -> /b").
import { HEADER_SIZE, OP_SIZE, PLAN_MAGIC, PLAN_VERSION } from './layout.js';

export interface OpArgs {
  flags?: number;
  /** Up to four arena offsets (from {@link PlanWriter.str} or {@link PlanWriter.blob}). */
  s?: number[];
  /** Up to three numbers. */
  n?: (number | bigint)[];
}

interface EncodedOp {
  kind: number;
  flags: number;
  s: number[];
  n: (number | bigint)[];
}

export class PlanWriter {
  private readonly ops: EncodedOp[] = [];
  /** The step name of each op, by index: what an error report's `op` refers to. */
  readonly steps: string[] = [];
  private readonly chunks: Buffer[] = [Buffer.alloc(1)]; // offset 0: the empty string
  private arenaLen = 1;
  private readonly strings = new Map<string, number>();

  /** Adds a NUL-terminated string to the arena (deduplicated); returns its offset. */
  str(value: string): number {
    if (value === '') return 0;
    const known = this.strings.get(value);
    if (known !== undefined) return known;
    const off = this.push(Buffer.from(value + '\0', 'utf8'), 1);
    this.strings.set(value, off);
    return off;
  }

  /** Adds raw bytes (aligned for the child's loads); returns their offset. */
  blob(bytes: Uint8Array, align = 8): number {
    return this.push(Buffer.from(bytes), align);
  }

  op(kind: number, step: string, args: OpArgs = {}): number {
    this.ops.push({ kind, flags: args.flags ?? 0, s: args.s ?? [], n: args.n ?? [] });
    this.steps.push(step);
    return this.ops.length - 1;
  }

  get length(): number {
    return this.ops.length;
  }

  /** The index of the first op of this kind from `from` on (and with this n0, if given), or -1. */
  indexOf(kind: number, n0?: number, from = 0): number {
    for (let i = from; i < this.ops.length; i++) {
      const o = this.ops[i];
      if (o.kind === kind && (n0 === undefined || BigInt(o.n[0] ?? 0) === BigInt(n0))) return i;
    }
    return -1;
  }

  finish(): Buffer {
    // A trailing NUL lets the native side check that no string runs off the end.
    this.push(Buffer.alloc(1), 1);
    const out = Buffer.alloc(HEADER_SIZE + this.ops.length * OP_SIZE + this.arenaLen);
    out.writeUInt32LE(PLAN_MAGIC, 0);
    out.writeUInt32LE(PLAN_VERSION, 4);
    out.writeUInt32LE(this.ops.length, 8);
    out.writeUInt32LE(this.arenaLen, 12);
    this.ops.forEach((o, i) => {
      const base = HEADER_SIZE + i * OP_SIZE;
      out.writeUInt32LE(o.kind, base);
      out.writeUInt32LE(o.flags, base + 4);
      for (let k = 0; k < 4; k++) out.writeUInt32LE(o.s[k] ?? 0, base + 8 + 4 * k);
      for (let k = 0; k < 3; k++) out.writeBigUInt64LE(BigInt.asUintN(64, BigInt(o.n[k] ?? 0)), base + 24 + 8 * k);
    });
    Buffer.concat(this.chunks).copy(out, HEADER_SIZE + this.ops.length * OP_SIZE);
    return out;
  }

  private push(bytes: Buffer, align: number): number {
    const pad = (align - (this.arenaLen % align)) % align;
    if (pad) {
      this.chunks.push(Buffer.alloc(pad));
      this.arenaLen += pad;
    }
    const off = this.arenaLen;
    this.chunks.push(bytes);
    this.arenaLen += bytes.length;
    return off;
  }
}
