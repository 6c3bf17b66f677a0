// The `.seccomp()` option and the seccomp filter nsbind generates: classic BPF, written
// here without libseccomp, installed by the child as its very last step before exec.
//
// The filter is a list of rules, one per syscall it cares about, each a short block that
// always returns; every other syscall is allowed. Shape:
//
//     A = arch;  if (A != AUDIT_ARCH_<native>) return KILL_PROCESS
//     A = nr;    (x86-64) if (A >= 0x40000000) return ERRNO(ENOSYS)
//     rule:      if (A != nr_1) goto next; [A = arg_low32; test...]; return ACTION | ALLOW
//     ...
//     return ALLOW
//
// Why the architecture check: syscall numbers are per ABI. A 64-bit process can still
// enter the kernel through the 32-bit ABI (int 0x80 on x86-64), where 310 is unshare,
// not process_vm_readv. A filter written for one table must refuse every other ABI, or
// each rule is bypassed by switching ABI. Foreign ABIs are killed,
// as libseccomp's default does: 32-bit programs cannot run under a filter (use 'none').
// x32 shares AUDIT_ARCH_X86_64 and marks its numbers with bit 30 instead; it gets ENOSYS,
// as on the many kernels built without x32 (this also covers nr -1, which tracers use
// to skip a call and which the kernel answers with ENOSYS anyway).
import { errnoNumber, invalid, nsbindError } from '../errors.js';
import { assemble, jeq, jge, jset, label, ld, programProblem, ret, type Line } from './bpf.js';
import { syscallsArm64 } from './syscalls-arm64.js';
import { syscallsX64 } from './syscalls-x64.js';

/**
 * What `.seccomp()` accepts.
 * - `'default'`: the profile of SPEC section 6 (see {@link DEFAULT_PROFILE}).
 * - `'none'`: no filter.
 * - `{ deny, errno?, base? }`: these syscalls fail with `errno` (a name like `'EACCES'`
 *   or a number; default `'EPERM'`), in addition to `base` (default `'default'`).
 *   Names are the kernel's (`'ptrace'`, `'mount'`); a name that exists only on the
 *   other architecture (`'fork'` on arm64) is ignored there.
 * - a compiled classic-BPF program (`Uint8Array` of `struct sock_filter`), installed
 *   as given; `{ bpf: '<base64>' }` is the same in JSON form, as `sb.options` keeps it.
 *
 * @default 'default'
 * @example sandbox().seccomp({ deny: ['ptrace', 'mount'], errno: 'EACCES' })
 */
export type SeccompOption =
  | 'default'
  | 'none'
  | { deny: readonly string[]; errno?: string | number; base?: 'default' | 'none' }
  | { bpf: string }
  | Uint8Array;

/** The normalised, JSON-serialisable form kept in `sb.options`. */
export type Seccomp =
  | 'default'
  | 'none'
  | { deny: string[]; errno: number; base: 'default' | 'none' }
  | { bpf: string };

// seccomp_data: int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6].
const OFF_NR = 0;
const OFF_ARCH = 4;
/** Offset of the low 32 bits of argument i (both architectures are little-endian). */
const argLow = (i: number): number => 16 + 8 * i;

export const SECCOMP_RET_KILL_PROCESS = 0x8000_0000;
export const SECCOMP_RET_ERRNO = 0x0005_0000;
export const SECCOMP_RET_ALLOW = 0x7fff_0000;
export const AUDIT_ARCH_X86_64 = 0xc000_003e;
export const AUDIT_ARCH_AARCH64 = 0xc000_00b7;
export const X32_SYSCALL_BIT = 0x4000_0000;

const EPERM = 1;
const ENOSYS = 38;
const CLONE_NEWUSER = 0x1000_0000;
const TIOCSTI = 0x5412;
const TIOCLINUX = 0x541c;
const AF_VSOCK = 40;
/**
 * The `personality` values Docker's default profile lets through: PER_LINUX (0),
 * PER_LINUX32 (8, what `setarch i686`/`linux32` asks for), UNAME26 (0x20000, a 2.6.x
 * version string for old programs), the two together, and 0xffffffff, which only
 * queries the current value.
 */
const PERSONALITY_ALLOWED = [0x0000_0000, 0x0000_0008, 0x0002_0000, 0x0002_0008, 0xffff_ffff];
/** The largest errno the kernel lets a filter return (MAX_ERRNO). */
const MAX_ERRNO = 4095;

/**
 * A test on the low 32 bits of one argument (seccomp_data holds each argument as 64 bits;
 * a classic-BPF load reads one 32-bit half). Every argument the profile compares for
 * equality is one the kernel declares as `int` or `unsigned int` (setns's nstype, ioctl's
 * request, socket's family, personality's value): it truncates the register to its low
 * half, so that half is exactly what the call acts on. Comparing all 64 bits would be
 * wrong both ways: a deny rule would miss a value with junk in the high half, an allow
 * rule would refuse one the kernel accepts. 'bits' tests look for flags that live in the
 * low half (CLONE_NEWUSER), so the high half cannot matter to them either.
 */
interface ArgTest {
  arg: number;
  /** 'bits': any of `k`'s bits set; 'eq': equal to `k`. */
  test: 'bits' | 'eq';
  k: number;
}

/**
 * A syscall and what happens to it: `action` always; or only `when` one test matches;
 * or `unless` one matches (an allow-list of argument values). Without a match the call
 * is allowed (`when`) or gets `action` (`unless`).
 */
interface Rule {
  name: string;
  action: number;
  when?: ArgTest[];
  unless?: ArgTest[];
}

const errno = (e: number): number => SECCOMP_RET_ERRNO | (e & 0xffff);

/**
 * The default profile (SPEC section 6), as data. Why each one:
 * - user namespaces: a nested one hands the program every capability over new
 *   namespaces, the door to most kernel privilege escalations. `clone` and `unshare`
 *   are refused when their flags (argument 0 on x86-64 and arm64) ask for CLONE_NEWUSER;
 *   `setns` when it would enter one (nstype CLONE_NEWUSER, or 0 = "whatever type the fd
 *   is"). `clone3` passes its flags in memory a filter cannot read: it gets ENOSYS, so
 *   glibc and musl fall back to `clone`, which is checked (Docker and Flatpak do the same).
 * - keyctl/add_key/request_key: the kernel keyring is not namespaced.
 * - bpf, perf_event_open, userfaultfd: large attack surface, and userfaultfd makes
 *   kernel races easy to win.
 * - kexec, module loading, open_by_handle_at (the "shocker" container escape: it opens
 *   any inode of a filesystem by handle, ignoring the mount the sandbox sees).
 * - ioctl TIOCSTI (push input into a terminal) and TIOCLINUX (same through the console):
 *   the kernel reads the request as an unsigned int, so only the low 32 bits are
 *   compared; a filter comparing all 64 would miss 0xffffffff00005412.
 * - io_uring_setup/_enter/_register: io_uring runs file and network operations from
 *   kernel workers on behalf of the program, a path seccomp never sees (no syscall per
 *   operation), and has been a steady source of kernel exploits; Google turned it off on
 *   ChromeOS, Android and its servers. EPERM is what the kernel itself answers when the
 *   `kernel.io_uring_disabled` sysctl is set, so programs (libuv, liburing users) already
 *   fall back on it.
 * - socket/socketpair with AF_VSOCK: vsock is not network-namespaced. A sandbox with
 *   `.net()` and nothing but `lo` could still reach the hypervisor host (CID 2) or other
 *   VMs through it. socketpair is refused too because it creates the socket (and loads
 *   the vsock module on demand) before failing.
 * - modify_ldt (x86 only): 16-bit segments are needed by nothing but old DOS/Win16
 *   emulation, and the LDT code has had several privilege-escalation bugs
 *   (CVE-2015-5157, CVE-2017-17053).
 * - personality, except the values Docker allows ({@link PERSONALITY_ALLOWED}): the
 *   others switch off ASLR (ADDR_NO_RANDOMIZE), make every mapping executable
 *   (READ_IMPLIES_EXEC) or allow mapping page 0 (MMAP_PAGE_ZERO, the classic null-pointer
 *   exploit helper).
 */
export const DEFAULT_PROFILE: readonly Rule[] = Object.freeze([
  { name: 'clone', action: errno(EPERM), when: [{ arg: 0, test: 'bits', k: CLONE_NEWUSER }] },
  { name: 'unshare', action: errno(EPERM), when: [{ arg: 0, test: 'bits', k: CLONE_NEWUSER }] },
  {
    name: 'setns',
    action: errno(EPERM),
    when: [
      { arg: 1, test: 'bits', k: CLONE_NEWUSER },
      { arg: 1, test: 'eq', k: 0 },
    ],
  },
  { name: 'clone3', action: errno(ENOSYS) },
  {
    name: 'ioctl',
    action: errno(EPERM),
    when: [
      { arg: 1, test: 'eq', k: TIOCSTI },
      { arg: 1, test: 'eq', k: TIOCLINUX },
    ],
  },
  { name: 'socket', action: errno(EPERM), when: [{ arg: 0, test: 'eq', k: AF_VSOCK }] },
  { name: 'socketpair', action: errno(EPERM), when: [{ arg: 0, test: 'eq', k: AF_VSOCK }] },
  {
    name: 'personality',
    action: errno(EPERM),
    unless: PERSONALITY_ALLOWED.map((k) => ({ arg: 0, test: 'eq' as const, k })),
  },
  ...[
    'keyctl', 'add_key', 'request_key', 'bpf', 'userfaultfd', 'perf_event_open',
    'kexec_load', 'kexec_file_load', 'init_module', 'finit_module', 'delete_module',
    'open_by_handle_at', 'io_uring_setup', 'io_uring_enter', 'io_uring_register',
    'modify_ldt',
  ].map((name) => ({ name, action: errno(EPERM) })),
] satisfies Rule[]);

/** The architectures nsbind generates filters for, as `process.arch` names them. */
export type SeccompArch = 'x64' | 'arm64';

const ARCHES: Record<SeccompArch, { audit: number; table: ReadonlyMap<string, number>; x32: boolean }> = {
  x64: { audit: AUDIT_ARCH_X86_64, table: syscallsX64, x32: true },
  arm64: { audit: AUDIT_ARCH_AARCH64, table: syscallsArm64, x32: false },
};

/** The syscall number of `name` on `arch`, if that architecture has it. */
export function syscallNumber(name: string, arch: SeccompArch): number | undefined {
  return ARCHES[arch].table.get(name);
}

/**
 * Validates and normalises the `.seccomp()` argument.
 *
 * @throws NsbindError `ERR_NSBIND_INVALID`, option `'seccomp'`, `'seccomp.deny'`,
 * `'seccomp.errno'`, `'seccomp.base'` or `'seccomp.bpf'`
 * @example normalizeSeccomp({ deny: ['ptrace'] }) // { deny: ['ptrace'], errno: 1, base: 'default' }
 */
export function normalizeSeccomp(profile: unknown): Seccomp {
  if (profile === 'default' || profile === 'none') return profile;
  if (profile instanceof Uint8Array) return { bpf: checkProgram(profile) };
  if (typeof profile === 'string') {
    throw invalid('seccomp', `unknown profile '${profile}'`, "use 'default', 'none', { deny: [...] } or a compiled BPF program (Uint8Array)");
  }
  if (typeof profile !== 'object' || profile === null || Array.isArray(profile)) {
    throw invalid('seccomp', `expected 'default', 'none', { deny: [...] } or a Uint8Array, got ${Array.isArray(profile) ? 'an array' : String(profile)}`);
  }
  const o = profile as Record<string, unknown>;
  if ('bpf' in o) {
    if (typeof o.bpf !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(o.bpf)) {
      throw invalid('seccomp.bpf', 'expected the program as a base64 string');
    }
    return { bpf: checkProgram(Buffer.from(o.bpf, 'base64')) };
  }
  for (const key of Object.keys(o)) {
    if (key !== 'deny' && key !== 'errno' && key !== 'base') {
      throw invalid(`seccomp.${key}`, 'unknown option', 'a profile has deny, errno and base');
    }
  }
  if (!Array.isArray(o.deny)) throw invalid('seccomp.deny', 'expected an array of syscall names');
  const deny = new Set<string>();
  for (const name of o.deny) {
    if (typeof name !== 'string') throw invalid('seccomp.deny', `expected syscall names, got ${typeof name}`);
    if (!syscallsX64.has(name) && !syscallsArm64.has(name)) {
      throw invalid(
        'seccomp.deny',
        `unknown syscall '${name}'`,
        "names are the kernel's, as in syscalls(2) without the libc wrapper's name (e.g. 'newfstatat', not 'fstatat'); syscalls newer than nsbind's tables need a compiled program",
      );
    }
    deny.add(name);
  }
  const base = o.base ?? 'default';
  if (base !== 'default' && base !== 'none') {
    throw invalid('seccomp.base', `expected 'default' or 'none', got ${String(base)}`);
  }
  return { deny: [...deny].sort(), errno: errnoOption(o.errno), base };
}

/**
 * Checks a `.seccomp()` argument without keeping the result.
 *
 * @throws NsbindError `ERR_NSBIND_INVALID` naming the option (see {@link normalizeSeccomp})
 * @example validateSeccomp({ deny: ['nosuchcall'] }) // throws: seccomp.deny: unknown syscall 'nosuchcall'
 */
export function validateSeccomp(profile: unknown): void {
  normalizeSeccomp(profile);
}

function errnoOption(value: unknown): number {
  if (value === undefined) return EPERM;
  if (typeof value === 'string') {
    const n = errnoNumber(value);
    if (n === undefined) throw invalid('seccomp.errno', `unknown errno name '${value}'`, "e.g. 'EPERM', 'EACCES', 'ENOSYS'");
    return n;
  }
  if (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_ERRNO) return value;
  throw invalid('seccomp.errno', `expected an errno name or a number from 1 to ${MAX_ERRNO}, got ${String(value)}`);
}

function checkProgram(program: Uint8Array): string {
  const problem = programProblem(program);
  if (problem) throw invalid('seccomp', `the BPF program is invalid: ${problem}`);
  return Buffer.from(program.buffer, program.byteOffset, program.byteLength).toString('base64');
}

/**
 * The filter to install for a profile, as `struct sock_filter` bytes, or null for `'none'`.
 *
 * @param arch `process.arch` of the machine the filter will run on
 * @throws NsbindError `ERR_NSBIND_INVALID` for a bad profile; `ENOTSUP` for another architecture
 * @example compileSeccomp('default') // a Buffer of 8-byte instructions
 */
export function compileSeccomp(profile: SeccompOption | Seccomp, arch: string = process.arch): Buffer | null {
  const p = normalizeSeccomp(profile);
  if (p === 'none') return null;
  if (typeof p === 'object' && 'bpf' in p) return Buffer.from(p.bpf, 'base64');
  if (arch !== 'x64' && arch !== 'arm64') {
    throw nsbindError('ENOTSUP', `seccomp: nsbind generates filters for x64 and arm64, not ${arch}`, {
      option: 'seccomp',
      hint: "use .seccomp('none') or pass a compiled program",
    });
  }
  const rules: Rule[] = [];
  const denied = new Set<string>();
  if (typeof p === 'object') {
    // The caller's list comes first and wins: a syscall they deny outright is denied
    // with their errno even where the base profile only checks its arguments.
    for (const name of p.deny) {
      denied.add(name);
      rules.push({ name, action: errno(p.errno) });
    }
  }
  if (p === 'default' || (typeof p === 'object' && p.base === 'default')) {
    for (const rule of DEFAULT_PROFILE) if (!denied.has(rule.name)) rules.push(rule);
  }
  return generate(rules, arch);
}

/** Rules -> program. Each rule's block returns, so the jumps between blocks stay short. */
function generate(rules: readonly Rule[], arch: SeccompArch): Buffer {
  const { audit, table, x32 } = ARCHES[arch];
  const lines: Line[] = [ld(OFF_ARCH), jeq(audit, 'native'), ret(SECCOMP_RET_KILL_PROCESS), label('native'), ld(OFF_NR)];
  if (x32) lines.push(jge(X32_SYSCALL_BIT, 'x32', 'rules'), label('x32'), ret(errno(ENOSYS)), label('rules'));
  let n = 0;
  for (const rule of rules) {
    const nr = table.get(rule.name);
    if (nr === undefined) continue; // not a syscall of this architecture: nothing to filter
    const next = `next${n}`;
    const hitLabel = `hit${n}`;
    n++;
    lines.push(jeq(nr, undefined, next));
    const tests = rule.when ?? rule.unless;
    if (tests) {
      // Any matching test jumps to `hit`; falling through means none matched.
      const [miss, hit] = rule.when ? [SECCOMP_RET_ALLOW, rule.action] : [rule.action, SECCOMP_RET_ALLOW];
      let loaded = -1;
      for (const t of tests) {
        if (t.arg !== loaded) lines.push(ld(argLow(t.arg)));
        loaded = t.arg;
        lines.push(t.test === 'bits' ? jset(t.k, hitLabel) : jeq(t.k, hitLabel));
      }
      lines.push(ret(miss), label(hitLabel), ret(hit));
    } else {
      lines.push(ret(rule.action));
    }
    lines.push(label(next));
  }
  lines.push(ret(SECCOMP_RET_ALLOW));
  return assemble(lines);
}
