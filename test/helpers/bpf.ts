// A classic-BPF interpreter for seccomp programs, written from the kernel's semantics
// (net/core/filter.c, kernel/seccomp.c) and independent of the generator, so unit tests
// can run a filter against made-up syscalls without a kernel.

/** What the kernel hands a filter (struct seccomp_data). */
export interface SeccompData {
  nr: number;
  arch: number;
  instructionPointer?: bigint;
  /** Up to six 64-bit arguments; missing ones are 0. */
  args?: (bigint | number)[];
}

/** The filter's verdict, decoded. */
export interface Verdict {
  raw: number;
  action: 'allow' | 'errno' | 'kill_process' | 'kill_thread' | 'trap' | 'trace' | 'log' | 'user_notif';
  /** For 'errno': the errno the syscall returns. */
  errno?: number;
}

function dataBytes(d: SeccompData): Buffer {
  const b = Buffer.alloc(64);
  b.writeInt32LE(d.nr | 0, 0);
  b.writeUInt32LE(d.arch >>> 0, 4);
  b.writeBigUInt64LE(d.instructionPointer ?? 0n, 8);
  for (let i = 0; i < 6; i++) {
    const a = d.args?.[i] ?? 0n;
    b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(a)), 16 + 8 * i);
  }
  return b;
}

/** Runs `program` on `data`; throws where the kernel would have refused the program. */
export function runFilter(program: Uint8Array, data: SeccompData): Verdict {
  const p = Buffer.from(program.buffer, program.byteOffset, program.byteLength);
  if (p.length === 0 || p.length % 8) throw new Error('bad program length');
  const n = p.length / 8;
  const mem = new Uint32Array(16);
  const d = dataBytes(data);
  let A = 0;
  let X = 0;
  let pc = 0;
  for (let steps = 0; steps <= n; steps++) {
    if (pc >= n) throw new Error(`fell off the end at ${pc}`);
    const code = p.readUInt16LE(pc * 8);
    const jt = p.readUInt8(pc * 8 + 2);
    const jf = p.readUInt8(pc * 8 + 3);
    const k = p.readUInt32LE(pc * 8 + 4);
    pc++;
    const cls = code & 0x07;
    const src = code & 0x08 ? X : k;
    switch (cls) {
      case 0x00: // LD
        if (code === 0x20) {
          // seccomp allows only aligned 32-bit loads inside seccomp_data
          if (k % 4 || k + 4 > 64) throw new Error(`bad load offset ${k}`);
          A = d.readUInt32LE(k);
        } else if (code === 0x00) A = k; // LD IMM
        else if (code === 0x60) A = mem[k];
        else if (code === 0x80) A = 64; // LD LEN
        else throw new Error(`unsupported ld 0x${code.toString(16)}`);
        break;
      case 0x01: // LDX
        if (code === 0x01) X = k;
        else if (code === 0x61) X = mem[k];
        else if (code === 0x81) X = 64;
        else throw new Error(`unsupported ldx 0x${code.toString(16)}`);
        break;
      case 0x02:
        mem[k] = A;
        break;
      case 0x03:
        mem[k] = X;
        break;
      case 0x04: {
        const op = code & 0xf0;
        const ops: Record<number, () => number> = {
          0x00: () => A + src,
          0x10: () => A - src,
          0x20: () => Math.imul(A, src),
          0x30: () => (src === 0 ? NaN : Math.floor(A / src)),
          0x40: () => A | src,
          0x50: () => A & src,
          0x60: () => A << (src & 31),
          0x70: () => A >>> (src & 31),
          0x80: () => -A,
          0x90: () => (src === 0 ? NaN : A % src),
          0xa0: () => A ^ src,
        };
        const f = ops[op];
        if (!f) throw new Error(`unsupported alu 0x${code.toString(16)}`);
        const r = f();
        if (Number.isNaN(r)) throw new Error('division by zero');
        A = r >>> 0;
        break;
      }
      case 0x05: {
        const op = code & 0xf0;
        if (op === 0x00) {
          pc += k;
          break;
        }
        let taken: boolean;
        if (op === 0x10) taken = A === src >>> 0;
        else if (op === 0x20) taken = A > src >>> 0;
        else if (op === 0x30) taken = A >= src >>> 0;
        else if (op === 0x40) taken = (A & src) !== 0;
        else throw new Error(`unsupported jmp 0x${code.toString(16)}`);
        pc += taken ? jt : jf;
        break;
      }
      case 0x06: {
        const raw = (code & 0x18) === 0x10 ? A : k;
        return verdict(raw >>> 0);
      }
      case 0x07:
        if (code === 0x07) X = A; // TAX
        else A = X; // TXA
        break;
    }
  }
  throw new Error('no return');
}

function verdict(raw: number): Verdict {
  const full = raw & 0xffff0000;
  if (full >>> 0 === 0x80000000) return { raw, action: 'kill_process' };
  const action = (raw & 0x7fff0000) >>> 0;
  switch (action) {
    case 0x7fff0000:
      return { raw, action: 'allow' };
    case 0x00050000:
      return { raw, action: 'errno', errno: raw & 0xffff };
    case 0x00030000:
      return { raw, action: 'trap' };
    case 0x7ff00000:
      return { raw, action: 'trace' };
    case 0x7ffc0000:
      return { raw, action: 'log' };
    case 0x7fc00000:
      return { raw, action: 'user_notif' };
    default:
      return { raw, action: 'kill_thread' };
  }
}
