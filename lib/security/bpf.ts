// Classic BPF, the instruction set of seccomp filters (linux/filter.h, linux/bpf_common.h):
// the opcodes nsbind emits, a tiny assembler with labels, and the structural checks the
// kernel applies to a filter (so a caller's program is refused before spawn, not by the
// child). Each instruction is 8 bytes: u16 code, u8 jt, u8 jf, u32 k, in the machine's
// byte order (little-endian on x86-64 and arm64).

/** `struct sock_filter`. `jt`/`jf` are relative: the number of instructions skipped. */
export interface BpfInsn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

// Instruction classes and fields.
export const BPF_LD = 0x00;
export const BPF_LDX = 0x01;
export const BPF_ST = 0x02;
export const BPF_STX = 0x03;
export const BPF_ALU = 0x04;
export const BPF_JMP = 0x05;
export const BPF_RET = 0x06;
export const BPF_MISC = 0x07;
export const BPF_W = 0x00;
export const BPF_ABS = 0x20;
export const BPF_K = 0x00;
export const BPF_A = 0x10;
export const BPF_JA = 0x00;
export const BPF_JEQ = 0x10;
export const BPF_JGT = 0x20;
export const BPF_JGE = 0x30;
export const BPF_JSET = 0x40;

/** The largest program the kernel accepts (BPF_MAXINSNS). */
export const BPF_MAXINSNS = 4096;

/** Where a jump goes: a label name, resolved when the program is assembled. */
export type Target = string;

/** One line of assembly: an instruction whose jumps may name labels, or a label. */
export type Line =
  | { label: string }
  | { code: number; k: number; jt?: Target; jf?: Target; ja?: Target };

/** A = the 32-bit word at `offset` of struct seccomp_data. */
export const ld = (offset: number): Line => ({ code: BPF_LD | BPF_W | BPF_ABS, k: offset });
/** Return `value` (a SECCOMP_RET_* action). */
export const ret = (value: number): Line => ({ code: BPF_RET | BPF_K, k: value >>> 0 });
/** if (A == k) goto jt else goto jf; an omitted target is the next instruction. */
export const jeq = (k: number, jt?: Target, jf?: Target): Line => ({ code: BPF_JMP | BPF_JEQ | BPF_K, k: k >>> 0, jt, jf });
/** if (A >= k) goto jt else goto jf (unsigned). */
export const jge = (k: number, jt?: Target, jf?: Target): Line => ({ code: BPF_JMP | BPF_JGE | BPF_K, k: k >>> 0, jt, jf });
/** if (A & k) goto jt else goto jf. */
export const jset = (k: number, jt?: Target, jf?: Target): Line => ({ code: BPF_JMP | BPF_JSET | BPF_K, k: k >>> 0, jt, jf });
export const label = (name: string): Line => ({ label: name });

/**
 * Resolves labels into relative offsets and encodes the program. Conditional jumps can
 * only skip 255 instructions; the generator keeps every jump short, and this checks it.
 */
export function assemble(lines: readonly Line[]): Buffer {
  const insns = lines.filter((l): l is Exclude<Line, { label: string }> => !('label' in l));
  const at = new Map<string, number>();
  let index = 0;
  for (const l of lines) {
    if ('label' in l) {
      if (at.has(l.label)) throw new Error(`bpf: duplicate label ${l.label}`);
      at.set(l.label, index);
    } else {
      index++;
    }
  }
  const out = Buffer.alloc(insns.length * 8);
  insns.forEach((insn, i) => {
    const rel = (t: Target | undefined, max: number): number => {
      if (t === undefined) return 0;
      const to = at.get(t);
      if (to === undefined) throw new Error(`bpf: unknown label ${t}`);
      const off = to - (i + 1);
      if (off < 0 || off > max) throw new Error(`bpf: jump to ${t} out of range (${off})`);
      return off;
    };
    let k = insn.k;
    let jt = 0;
    let jf = 0;
    if ((insn.code & 0x07) === BPF_JMP && (insn.code & 0xf0) === BPF_JA) {
      k = rel(insn.ja, 0xffff_ffff);
    } else {
      jt = rel(insn.jt, 255);
      jf = rel(insn.jf, 255);
    }
    out.writeUInt16LE(insn.code, i * 8);
    out.writeUInt8(jt, i * 8 + 2);
    out.writeUInt8(jf, i * 8 + 3);
    out.writeUInt32LE(k >>> 0, i * 8 + 4);
  });
  return out;
}

/** Splits an encoded program into instructions. */
export function decode(program: Uint8Array): BpfInsn[] {
  const view = new DataView(program.buffer, program.byteOffset, program.byteLength);
  const insns: BpfInsn[] = [];
  for (let off = 0; off + 8 <= program.byteLength; off += 8) {
    insns.push({
      code: view.getUint16(off, true),
      jt: view.getUint8(off + 2),
      jf: view.getUint8(off + 3),
      k: view.getUint32(off + 4, true),
    });
  }
  return insns;
}

/**
 * What is structurally wrong with a program, as the kernel would see it (sk_chk_filter):
 * its size, jumps past the end, a last instruction that is not a return. The kernel
 * checks more (which loads seccomp allows); this catches the mistakes worth a clear
 * message before spawn. Returns undefined when it looks fine.
 */
export function programProblem(program: Uint8Array): string | undefined {
  if (program.byteLength === 0) return 'the program is empty';
  if (program.byteLength % 8 !== 0) {
    return `its length ${program.byteLength} is not a multiple of 8 (the size of one sock_filter instruction)`;
  }
  const insns = decode(program);
  if (insns.length > BPF_MAXINSNS) return `it has ${insns.length} instructions, more than the kernel's ${BPF_MAXINSNS}`;
  for (let i = 0; i < insns.length; i++) {
    const { code, jt, jf, k } = insns[i];
    if ((code & 0x07) !== BPF_JMP) continue;
    const op = code & 0xf0;
    const far = op === BPF_JA ? i + 1 + k : i + 1 + Math.max(jt, jf);
    if (far >= insns.length) return `instruction ${i} jumps past the end of the program`;
  }
  if ((insns[insns.length - 1].code & 0x07) !== BPF_RET) return 'its last instruction is not a return';
  return undefined;
}
