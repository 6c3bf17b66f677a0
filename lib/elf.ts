// Just enough ELF to know what a dynamically linked program needs before it can run:
// its interpreter (PT_INTERP) and the libraries it names (DT_NEEDED), with the search
// paths it carries (DT_RPATH, DT_RUNPATH). Read from the headers with a few small
// reads, never the whole file (node is ~100 MB) and never by running `ldd`, which
// executes the program's loader.
import { closeSync, openSync, readSync } from 'node:fs';

export interface ElfDeps {
  /** PT_INTERP, e.g. '/lib64/ld-linux-x86-64.so.2'; undefined for a static program. */
  interpreter?: string;
  /** DT_NEEDED sonames, in order. */
  needed: string[];
  rpath: string[];
  runpath: string[];
}

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const DT_NULL = 0;
const DT_NEEDED = 1;
const DT_STRTAB = 5;
const DT_RPATH = 15;
const DT_RUNPATH = 29;

class Reader {
  constructor(private readonly fd: number) {}

  bytes(offset: number, length: number): Buffer {
    const b = Buffer.alloc(length);
    const n = readSync(this.fd, b, 0, length, offset);
    if (n < length) throw new Error(`short read at ${offset}`);
    return b;
  }

  cString(offset: number): string {
    const parts: Buffer[] = [];
    for (let at = offset; ; at += 256) {
      const b = Buffer.alloc(256);
      const n = readSync(this.fd, b, 0, 256, at);
      const end = b.subarray(0, n).indexOf(0);
      if (end >= 0) {
        parts.push(b.subarray(0, end));
        break;
      }
      if (n < 256 || parts.length > 64) throw new Error(`unterminated string at ${offset}`);
      parts.push(b);
    }
    return Buffer.concat(parts).toString('utf8');
  }
}

/** Reads the interpreter and needed libraries of an ELF file; throws if it is not ELF. */
export function readElfDeps(path: string): ElfDeps {
  const fd = openSync(path, 'r');
  try {
    return parse(new Reader(fd));
  } finally {
    closeSync(fd);
  }
}

function parse(r: Reader): ElfDeps {
  const ident = r.bytes(0, 64);
  if (ident.readUInt32BE(0) !== 0x7f454c46) throw new Error('not an ELF file');
  const is64 = ident[4] === 2;
  const le = ident[5] === 1;
  const u16 = (b: Buffer, o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (b: Buffer, o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const word = (b: Buffer, o: number) =>
    is64 ? Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o)) : u32(b, o);

  const phoff = word(ident, is64 ? 0x20 : 0x1c);
  const phentsize = u16(ident, is64 ? 0x36 : 0x2a);
  const phnum = u16(ident, is64 ? 0x38 : 0x2c);
  const phdrs = r.bytes(phoff, phentsize * phnum);

  const loads: { vaddr: number; offset: number; filesz: number }[] = [];
  let dynamic: { offset: number; size: number } | undefined;
  const out: ElfDeps = { needed: [], rpath: [], runpath: [] };
  for (let i = 0; i < phnum; i++) {
    const p = i * phentsize;
    const type = u32(phdrs, p);
    const offset = word(phdrs, p + (is64 ? 8 : 4));
    const vaddr = word(phdrs, p + (is64 ? 16 : 8));
    const filesz = word(phdrs, p + (is64 ? 32 : 16));
    if (type === PT_LOAD) loads.push({ vaddr, offset, filesz });
    else if (type === PT_DYNAMIC) dynamic = { offset, size: filesz };
    else if (type === PT_INTERP) out.interpreter = r.cString(offset);
  }
  if (!dynamic) return out;

  // The dynamic section gives the string table as a virtual address: map it back to
  // a file offset through the loadable segment that contains it.
  const entSize = is64 ? 16 : 8;
  const dyn = r.bytes(dynamic.offset, dynamic.size - (dynamic.size % entSize));
  const entries: [number, number][] = [];
  let strtab: number | undefined;
  for (let o = 0; o + entSize <= dyn.length; o += entSize) {
    const tag = word(dyn, o);
    const val = word(dyn, o + entSize / 2);
    if (tag === DT_NULL) break;
    if (tag === DT_STRTAB) strtab = val;
    else entries.push([tag, val]);
  }
  if (strtab === undefined) return out;
  const seg = loads.find((l) => strtab! >= l.vaddr && strtab! < l.vaddr + l.filesz);
  if (!seg) return out;
  const strOffset = strtab - seg.vaddr + seg.offset;
  for (const [tag, val] of entries) {
    if (tag === DT_NEEDED) out.needed.push(r.cString(strOffset + val));
    else if (tag === DT_RPATH) out.rpath.push(...r.cString(strOffset + val).split(':').filter(Boolean));
    else if (tag === DT_RUNPATH) out.runpath.push(...r.cString(strOffset + val).split(':').filter(Boolean));
  }
  return out;
}
