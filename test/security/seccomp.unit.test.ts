// The generated seccomp filters, run in a BPF interpreter against made-up syscalls.
import { describe, expect, it } from 'vitest';
import { NsbindError } from '../../lib/errors.js';
import {
  AUDIT_ARCH_AARCH64,
  AUDIT_ARCH_X86_64,
  compileSeccomp,
  normalizeSeccomp,
  validateSeccomp,
  type SeccompOption,
} from '../../lib/security/seccomp.js';
import { syscallsArm64 } from '../../lib/security/syscalls-arm64.js';
import { syscallsX64 } from '../../lib/security/syscalls-x64.js';
import { runFilter, type Verdict } from '../helpers/bpf.js';

const EPERM = 1;
const ENOSYS = 38;
const EACCES = 13;
const CLONE_NEWUSER = 0x10000000n;
const CLONE_NEWNS = 0x00020000n;
const SIGCHLD = 17n;
const AUDIT_ARCH_I386 = 0x40000003;
const AUDIT_ARCH_ARM = 0x40000028;

const arches = [
  { arch: 'x64', audit: AUDIT_ARCH_X86_64, table: syscallsX64 },
  { arch: 'arm64', audit: AUDIT_ARCH_AARCH64, table: syscallsArm64 },
] as const;

function nr(table: ReadonlyMap<string, number>, name: string): number {
  const n = table.get(name);
  if (n === undefined) throw new Error(`no ${name}`);
  return n;
}

const denied = (errno: number) => ({ action: 'errno', errno });

describe('syscall tables', () => {
  it('have the numbers the kernel ABI fixes', () => {
    expect(syscallsX64.get('read')).toBe(0);
    expect(syscallsX64.get('ioctl')).toBe(16);
    expect(syscallsX64.get('clone')).toBe(56);
    expect(syscallsX64.get('unshare')).toBe(272);
    expect(syscallsX64.get('setns')).toBe(308);
    expect(syscallsX64.get('clone3')).toBe(435);
    expect(syscallsArm64.get('ioctl')).toBe(29);
    expect(syscallsArm64.get('unshare')).toBe(97);
    expect(syscallsArm64.get('clone')).toBe(220);
    expect(syscallsArm64.get('setns')).toBe(268);
    expect(syscallsArm64.get('clone3')).toBe(435);
    expect(syscallsX64.get('socket')).toBe(41);
    expect(syscallsX64.get('socketpair')).toBe(53);
    expect(syscallsX64.get('personality')).toBe(135);
    expect(syscallsX64.get('modify_ldt')).toBe(154);
    expect(syscallsArm64.get('personality')).toBe(92);
    expect(syscallsArm64.get('socket')).toBe(198);
    expect(syscallsArm64.get('socketpair')).toBe(199);
    expect(syscallsArm64.has('modify_ldt')).toBe(false); // x86 only
    for (const table of [syscallsX64, syscallsArm64]) {
      expect([table.get('io_uring_setup'), table.get('io_uring_enter'), table.get('io_uring_register')]).toEqual([425, 426, 427]);
    }
    // arm64-specific choices of the generic table
    expect(syscallsArm64.get('renameat')).toBe(38);
    expect(syscallsArm64.get('newfstatat')).toBe(79);
    expect(syscallsArm64.get('getrlimit')).toBe(163);
    expect(syscallsArm64.get('fcntl')).toBe(25);
    expect(syscallsArm64.has('fcntl64')).toBe(false); // a 32-bit name
    expect(syscallsArm64.has('open')).toBe(false); // arm64 only has openat
    expect(syscallsArm64.has('fork')).toBe(false);
  });

  it('have no number twice', () => {
    for (const table of [syscallsX64, syscallsArm64]) {
      expect(new Set(table.values()).size).toBe(table.size);
    }
  });
});

describe.each(arches)('the default profile on $arch', ({ arch, audit, table }) => {
  const program = compileSeccomp('default', arch)!;
  const call = (name: string, ...args: (bigint | number)[]): Verdict =>
    runFilter(program, { nr: nr(table, name), arch: audit, args });

  it('is a whole number of instructions within the kernel limit', () => {
    expect(program.length % 8).toBe(0);
    expect(program.length / 8).toBeLessThan(4096);
  });

  it('allows ordinary syscalls', () => {
    for (const name of ['read', 'write', 'openat', 'mmap', 'execve', 'exit_group', 'wait4', 'getpid', 'kill']) {
      expect(call(name, 3, 0, 0), name).toMatchObject({ action: 'allow' });
    }
  });

  it('denies the listed syscalls with EPERM', () => {
    for (const name of [
      'keyctl', 'add_key', 'request_key', 'bpf', 'userfaultfd', 'perf_event_open', 'kexec_load',
      'kexec_file_load', 'init_module', 'finit_module', 'delete_module', 'open_by_handle_at',
    ]) {
      expect(call(name), name).toMatchObject(denied(EPERM));
    }
  });

  it('denies io_uring with EPERM, as the kernel does when io_uring_disabled is set', () => {
    expect(call('io_uring_setup', 8, 0x7fff0000)).toMatchObject(denied(EPERM));
    expect(call('io_uring_enter', 3, 1, 1, 1)).toMatchObject(denied(EPERM));
    expect(call('io_uring_register', 3, 0, 0, 0)).toMatchObject(denied(EPERM));
  });

  it('refuses socket and socketpair for AF_VSOCK only, on the low 32 bits of the family', () => {
    const AF_VSOCK = 40n;
    const SOCK_STREAM = 1;
    for (const name of ['socket', 'socketpair']) {
      expect(call(name, AF_VSOCK, SOCK_STREAM, 0), name).toMatchObject(denied(EPERM));
      // the kernel reads the family as an int: junk in the high half is still AF_VSOCK
      expect(call(name, 0xffffffff00000000n | AF_VSOCK, SOCK_STREAM, 0), name).toMatchObject(denied(EPERM));
      expect(call(name, 0x100000000n | AF_VSOCK, SOCK_STREAM, 0), name).toMatchObject(denied(EPERM));
      // ...and AF_VSOCK in the high half only is family 0 to the kernel
      expect(call(name, AF_VSOCK << 32n, SOCK_STREAM, 0), name).toMatchObject({ action: 'allow' });
      // the family is argument 0; 40 elsewhere is not vsock
      expect(call(name, 1, Number(AF_VSOCK), 0), name).toMatchObject({ action: 'allow' });
      for (const family of [1, 2, 10, 16, 17]) {
        // AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, AF_PACKET
        expect(call(name, family, SOCK_STREAM, 0), `${name} ${family}`).toMatchObject({ action: 'allow' });
      }
    }
  });

  it("allows only the personality values Docker's profile allows, on the low 32 bits", () => {
    const allowed = [0, 0x8, 0x20000, 0x20008, 0xffffffff];
    for (const p of allowed) {
      expect(call('personality', p), p.toString(16)).toMatchObject({ action: 'allow' });
      // the kernel takes an unsigned int: the high half changes nothing
      expect(call('personality', 0xdead00000000n | BigInt(p)), p.toString(16)).toMatchObject({ action: 'allow' });
    }
    const ADDR_NO_RANDOMIZE = 0x0040000;
    const MMAP_PAGE_ZERO = 0x0100000;
    const READ_IMPLIES_EXEC = 0x0400000;
    const PER_BSD = 0x6;
    for (const p of [ADDR_NO_RANDOMIZE, MMAP_PAGE_ZERO, READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE | 0x8, PER_BSD, 0xfffffffe, 1]) {
      expect(call('personality', p), p.toString(16)).toMatchObject(denied(EPERM));
      expect(call('personality', 0xffffffff00000000n | BigInt(p)), p.toString(16)).toMatchObject(denied(EPERM));
    }
  });

  it('answers clone3 with ENOSYS so libc falls back to clone', () => {
    expect(call('clone3', 0x1000, 88)).toMatchObject(denied(ENOSYS));
  });

  it('lets clone create threads, processes and namespaces other than user', () => {
    expect(call('clone', SIGCHLD)).toMatchObject({ action: 'allow' });
    expect(call('clone', 0x3d0f00n)).toMatchObject({ action: 'allow' }); // pthread_create's flags
    expect(call('clone', CLONE_NEWNS | SIGCHLD)).toMatchObject({ action: 'allow' });
  });

  it('refuses clone and unshare with CLONE_NEWUSER, whatever else is set', () => {
    expect(call('clone', CLONE_NEWUSER | SIGCHLD)).toMatchObject(denied(EPERM));
    expect(call('clone', CLONE_NEWUSER | CLONE_NEWNS | 0xffffffff00000000n)).toMatchObject(denied(EPERM));
    expect(call('unshare', CLONE_NEWUSER)).toMatchObject(denied(EPERM));
    expect(call('unshare', CLONE_NEWUSER | CLONE_NEWNS)).toMatchObject(denied(EPERM));
    expect(call('unshare', CLONE_NEWNS)).toMatchObject({ action: 'allow' });
    expect(call('unshare', 0xffffffff00000000n | CLONE_NEWNS)).toMatchObject({ action: 'allow' });
  });

  it('refuses setns into a user namespace, also through nstype 0', () => {
    expect(call('setns', 3, CLONE_NEWUSER)).toMatchObject(denied(EPERM));
    expect(call('setns', 3, 0)).toMatchObject(denied(EPERM));
    // the kernel reads nstype as an int: high bits do not make 0 into something else
    expect(call('setns', 3, 0x100000000n)).toMatchObject(denied(EPERM));
    expect(call('setns', 3, 0x40000000n)).toMatchObject({ action: 'allow' }); // CLONE_NEWNET
  });

  it('refuses TIOCSTI and TIOCLINUX on the low 32 bits of the request', () => {
    expect(call('ioctl', 0, 0x5412)).toMatchObject(denied(EPERM));
    expect(call('ioctl', 0, 0x541c)).toMatchObject(denied(EPERM));
    expect(call('ioctl', 0, 0xffffffff00005412n)).toMatchObject(denied(EPERM));
    expect(call('ioctl', 0, 0x100005412n)).toMatchObject(denied(EPERM));
    expect(call('ioctl', 0, 0xffffffff0000541cn)).toMatchObject(denied(EPERM));
    expect(call('ioctl', 0, 0x5413)).toMatchObject({ action: 'allow' }); // TIOCGWINSZ
    expect(call('ioctl', 0, 0x5401)).toMatchObject({ action: 'allow' }); // TCGETS
    expect(call('ioctl', 0x5412, 0)).toMatchObject({ action: 'allow' }); // the fd is not the request
  });

  it('kills on any other architecture', () => {
    for (const other of [AUDIT_ARCH_I386, AUDIT_ARCH_ARM, arch === 'x64' ? AUDIT_ARCH_AARCH64 : AUDIT_ARCH_X86_64, 0]) {
      expect(runFilter(program, { nr: 0, arch: other })).toMatchObject({ action: 'kill_process' });
    }
    // i386's unshare is 310: without the check it would pass as x86-64's process_vm_readv
    expect(runFilter(program, { nr: 310, arch: AUDIT_ARCH_I386, args: [CLONE_NEWUSER] })).toMatchObject({ action: 'kill_process' });
  });
});

describe('x86-64 specifics', () => {
  const program = compileSeccomp('default', 'x64')!;
  it('refuses modify_ldt with EPERM, whatever the function', () => {
    for (const func of [0, 1, 2, 0x11]) {
      expect(runFilter(program, { nr: 154, arch: AUDIT_ARCH_X86_64, args: [func, 0, 16] })).toMatchObject(denied(EPERM));
    }
  });

  it('refuses the x32 ABI (bit 30 of the number) with ENOSYS', () => {
    const x32Unshare = 0x40000000 | 272;
    expect(runFilter(program, { nr: x32Unshare, arch: AUDIT_ARCH_X86_64, args: [CLONE_NEWUSER] })).toMatchObject(denied(ENOSYS));
    expect(runFilter(program, { nr: 0x40000000, arch: AUDIT_ARCH_X86_64 })).toMatchObject(denied(ENOSYS));
    expect(runFilter(program, { nr: -1, arch: AUDIT_ARCH_X86_64 })).toMatchObject(denied(ENOSYS));
  });
});

describe('deny lists', () => {
  const x64 = (p: SeccompOption, name: string, ...args: (bigint | number)[]) =>
    runFilter(compileSeccomp(p, 'x64')!, { nr: nr(syscallsX64, name), arch: AUDIT_ARCH_X86_64, args });

  it('deny in addition to the default profile, with EPERM by default', () => {
    const p = { deny: ['ptrace', 'mount'] };
    expect(x64(p, 'ptrace')).toMatchObject(denied(EPERM));
    expect(x64(p, 'mount')).toMatchObject(denied(EPERM));
    expect(x64(p, 'bpf')).toMatchObject(denied(EPERM));
    expect(x64(p, 'clone3')).toMatchObject(denied(ENOSYS));
    expect(x64(p, 'read')).toMatchObject({ action: 'allow' });
  });

  it('take an errno by name or number', () => {
    expect(x64({ deny: ['ptrace'], errno: 'EACCES' }, 'ptrace')).toMatchObject(denied(EACCES));
    expect(x64({ deny: ['ptrace'], errno: 95 }, 'ptrace')).toMatchObject(denied(95));
    // the base profile keeps its own errno
    expect(x64({ deny: ['ptrace'], errno: 'EACCES' }, 'bpf')).toMatchObject(denied(EPERM));
  });

  it('on base none deny only what is listed', () => {
    const p = { deny: ['ptrace'], base: 'none' } as const;
    expect(x64(p, 'ptrace')).toMatchObject(denied(EPERM));
    expect(x64(p, 'bpf')).toMatchObject({ action: 'allow' });
    expect(x64(p, 'clone3')).toMatchObject({ action: 'allow' });
    expect(x64(p, 'unshare', CLONE_NEWUSER)).toMatchObject({ action: 'allow' });
  });

  it('win over an argument check of the base profile', () => {
    expect(x64({ deny: ['ioctl'], errno: 'EACCES' }, 'ioctl', 1, 0x5401)).toMatchObject(denied(EACCES));
    expect(x64({ deny: ['unshare'] }, 'unshare', 0)).toMatchObject(denied(EPERM));
  });

  it('skip names the architecture lacks', () => {
    const p = { deny: ['fork', 'open'], base: 'none' } as const;
    const arm = compileSeccomp(p, 'arm64')!;
    expect(runFilter(arm, { nr: nr(syscallsArm64, 'openat'), arch: AUDIT_ARCH_AARCH64 })).toMatchObject({ action: 'allow' });
    expect(x64(p, 'fork')).toMatchObject(denied(EPERM));
    expect(x64(p, 'open')).toMatchObject(denied(EPERM));
  });

  it('can deny every syscall of the table, jumps staying short', () => {
    const all = [...syscallsX64.keys()];
    const program = compileSeccomp({ deny: all, base: 'none', errno: 'ENOSYS' }, 'x64')!;
    expect(program.length / 8).toBeLessThanOrEqual(4096);
    for (const [name, n] of syscallsX64) {
      expect(runFilter(program, { nr: n, arch: AUDIT_ARCH_X86_64 }), name).toMatchObject(denied(ENOSYS));
    }
    expect(runFilter(program, { nr: 999, arch: AUDIT_ARCH_X86_64 })).toMatchObject({ action: 'allow' });
  });
});

describe('profiles', () => {
  it("'none' compiles to no filter", () => {
    expect(compileSeccomp('none', 'x64')).toBeNull();
  });

  it('a compiled program is installed as given', () => {
    const allowAll = Buffer.from([0x06, 0, 0, 0, 0x00, 0x00, 0xff, 0x7f]);
    const out = compileSeccomp(new Uint8Array(allowAll), 'x64')!;
    expect(Buffer.compare(out, allowAll)).toBe(0);
    expect(normalizeSeccomp(allowAll)).toEqual({ bpf: allowAll.toString('base64') });
    // the JSON form round-trips
    expect(compileSeccomp({ bpf: allowAll.toString('base64') }, 'x64')).toEqual(allowAll);
  });

  it('normalise to a JSON-serialisable form', () => {
    const p = normalizeSeccomp({ deny: ['ptrace', 'mount', 'ptrace'], errno: 'EACCES' });
    expect(p).toEqual({ deny: ['mount', 'ptrace'], errno: EACCES, base: 'default' });
    expect(normalizeSeccomp(JSON.parse(JSON.stringify(p)))).toEqual(p);
  });

  it('refuse architectures nsbind has no table for', () => {
    expect(() => compileSeccomp('default', 'ia32')).toThrow(expect.objectContaining({ code: 'ENOTSUP' }));
  });
});

describe('invalid profiles', () => {
  const bad = (p: unknown, option: string, text: RegExp) => {
    let err: unknown;
    try {
      validateSeccomp(p);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NsbindError);
    expect(err).toMatchObject({ code: 'ERR_NSBIND_INVALID', option });
    expect((err as Error).message).toMatch(text);
  };

  it('are refused with the option named', () => {
    bad('strict', 'seccomp', /unknown profile 'strict'/);
    bad(42, 'seccomp', /expected/);
    bad(null, 'seccomp', /expected/);
    bad({ deny: ['nosuchcall'] }, 'seccomp.deny', /unknown syscall 'nosuchcall'/);
    bad({ deny: 'ptrace' }, 'seccomp.deny', /array/);
    bad({ deny: [1] }, 'seccomp.deny', /syscall names/);
    bad({ deny: ['__proto__'] }, 'seccomp.deny', /unknown syscall/);
    bad({ deny: ['ptrace'], errno: 'ENOPE' }, 'seccomp.errno', /unknown errno name/);
    bad({ deny: ['ptrace'], errno: 0 }, 'seccomp.errno', /1 to 4095/);
    bad({ deny: ['ptrace'], errno: 4096 }, 'seccomp.errno', /1 to 4095/);
    bad({ deny: ['ptrace'], errno: 1.5 }, 'seccomp.errno', /1 to 4095/);
    bad({ deny: ['ptrace'], base: 'strict' }, 'seccomp.base', /'default' or 'none'/);
    bad({ deny: ['ptrace'], allow: ['read'] }, 'seccomp.allow', /unknown option/);
    bad({ bpf: 'not base64!' }, 'seccomp.bpf', /base64/);
  });

  it('refuse malformed BPF programs', () => {
    const ret = [0x06, 0, 0, 0, 0, 0, 0xff, 0x7f];
    bad(new Uint8Array(0), 'seccomp', /empty/);
    bad(new Uint8Array(7), 'seccomp', /multiple of 8/);
    bad(new Uint8Array(12), 'seccomp', /multiple of 8/);
    bad(new Uint8Array(Array.from({ length: 4097 }, () => ret).flat()), 'seccomp', /4097 instructions/);
    bad(new Uint8Array([0x20, 0, 0, 0, 0, 0, 0, 0]), 'seccomp', /last instruction is not a return/);
    bad(new Uint8Array([0x15, 0, 5, 0, 0, 0, 0, 0, ...ret]), 'seccomp', /jumps past the end/);
    expect(() => validateSeccomp(new Uint8Array(Array.from({ length: 4096 }, () => ret).flat()))).not.toThrow();
  });
});
