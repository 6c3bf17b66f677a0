// The escape suite, seccomp part two: the calls the default profile refuses because a
// sandbox without capabilities can still reach kernel surface through them (io_uring,
// vsock, modify_ldt, personality). Each attack runs in a real sandbox, created by root
// and by an unprivileged creator (uid 65534), with the default profile and with
// `.seccomp('none')`: the filter must refuse it, and without the filter the same attack
// must get further (it works, or the kernel answers something other than the filter's
// EPERM), so no case can pass because this machine forbids the call for another reason.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandbox } from '../../lib/index.js';
import { hasCommand, isRoot, runAsNobody } from '../helpers/index.js';

type Verdicts = Record<string, Record<'bare' | 'noNet', Record<'default' | 'none', string>>>;
const matrix = createRequire(__filename)('../fixtures/seccomp-matrix.cjs') as (
  nsbind: { sandbox: typeof sandbox },
  probe: string,
  attacks: string[][],
) => Promise<Verdicts>;

const EPERM = 'errno 1';
const EBADF = 'errno 9';
const EOPNOTSUPP = 'errno 95';
const EAFNOSUPPORT = 'errno 97';
const x64 = process.arch === 'x64';
const haveCc = hasCommand('cc');

// Built when the file is collected: whether this kernel has vsock decides test names.
const dir = haveCc ? mkdtempSync(join(tmpdir(), 'nsbind-seccomp-')) : '';
const probe = join(dir, 'seccomp-probe');
if (haveCc) {
  chmodSync(dir, 0o755); // the unprivileged creator runs it too
  execFileSync('cc', ['-O1', '-o', probe, join(__dirname, '..', 'fixtures', 'seccomp-probe.c')]);
}
/** What the probe gets on the host, outside any sandbox. */
const onHost = (...args: string[]) => (haveCc ? execFileSync(probe, args, { encoding: 'utf8' }).trim() : '');
const hostVsock = onHost('socket', '40') === 'ok';
// (kernel.io_uring_disabled came with Linux 6.6: before it, io_uring is open to all.)
const ioUringOpen = !existsSync('/proc/sys/kernel/io_uring_disabled') || readFileSync('/proc/sys/kernel/io_uring_disabled', 'utf8').trim() === '0';

const ATTACKS = [
  ['io_uring_setup'],
  ['io_uring_enter'],
  ['io_uring_register'],
  ['socket', '40'], // AF_VSOCK
  ['socket', '0xffffffff00000028'], // AF_VSOCK with junk in the high half: the kernel sees 40
  ['socket', '0x2800000000'], // 40 in the high half only: the kernel sees family 0
  ['socket', '1'], // AF_UNIX, untouched
  ['socketpair', '40'],
  ['personality', '0x0040000'], // ADDR_NO_RANDOMIZE: ASLR off
  ['personality', '0x0400000'], // READ_IMPLIES_EXEC
  ['personality', '0xffffffff00040000'], // ADDR_NO_RANDOMIZE, junk in the high half
  ['personality', '0x8'], // PER_LINUX32: allowed
  ['personality', '0x20000'], // UNAME26: allowed
  ...(x64 ? [['modify_ldt']] : []),
];

// The test process's own verdicts (root in CI), then uid 65534's (switching needs root).
let asSelf: Verdicts = {};
let asNobody: Verdicts | undefined;

beforeAll(async () => {
  if (!haveCc) return;
  asSelf = await matrix({ sandbox }, probe, ATTACKS);
  if (!isRoot) return;
  const r = runAsNobody(`
    const matrix = require(${JSON.stringify(join(__dirname, '..', 'fixtures', 'seccomp-matrix.cjs'))});
    console.log(JSON.stringify(await matrix(nsbind, ${JSON.stringify(probe)}, ${JSON.stringify(ATTACKS)})));`, 120_000);
  expect(r.stderr).toBe('');
  asNobody = JSON.parse(r.stdout) as Verdicts;
}, 180_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Each creator's verdict for one attack, in both sandbox shapes, under one profile. */
function verdicts(attack: string, profile: 'default' | 'none'): string[] {
  const out: string[] = [];
  for (const [creator, all] of [['self', asSelf], ['nobody', asNobody]] as const) {
    if (!all) continue;
    const row = all[attack];
    if (!row) throw new Error(`no verdict for ${attack} as ${creator}`);
    out.push(row.bare[profile], row.noNet[profile]);
  }
  return out;
}

/** Every creator in every shape got `want`. */
const each = (want: string) => Array(asNobody ? 4 : 2).fill(want);

/** The attack is refused with EPERM by the default profile, for every creator and shape. */
function refused(attack: string): void {
  expect(verdicts(attack, 'default'), attack).toEqual(each(EPERM));
}

/** Without the filter, every creator and shape gets `want`. */
function unfiltered(attack: string, want: string): void {
  expect(verdicts(attack, 'none'), attack).toEqual(each(want));
}

const vsockName = hostVsock
  ? 'without the filter a vsock socket is created'
  : 'this kernel has no vsock: without the filter it answers EAFNOSUPPORT, so the verdict is what differs';

describe.skipIf(!haveCc)(
  `escape suite: the default seccomp profile, ${isRoot ? 'as root and as uid 65534' : 'as this uid only (the uid 65534 half needs root to switch)'}${haveCc ? '' : ' (skipped: no C compiler cc to build the probe)'}`,
  () => {
    it.skipIf(!ioUringOpen)(
      `refuses io_uring_setup with EPERM; without the filter it makes a ring${ioUringOpen ? '' : ' (skipped: kernel.io_uring_disabled is set, so the kernel refuses it too)'}`,
      () => {
        refused('io_uring_setup');
        unfiltered('io_uring_setup', 'ok');
      },
    );

    it('refuses io_uring_enter and io_uring_register with EPERM; without the filter they reach io_uring (EBADF on a non-ring)', () => {
      for (const call of ['io_uring_enter', 'io_uring_register']) {
        refused(call);
        unfiltered(call, EBADF);
      }
    });

    it(`refuses socket(AF_VSOCK), also from a sandbox without network; ${vsockName}`, () => {
      refused('socket 40');
      unfiltered('socket 40', hostVsock ? 'ok' : EAFNOSUPPORT);
    });

    it('compares the socket family on the low 32 bits, as the kernel reads it', () => {
      // junk in the high half: still vsock to the kernel, so still refused
      refused('socket 0xffffffff00000028');
      unfiltered('socket 0xffffffff00000028', hostVsock ? 'ok' : EAFNOSUPPORT);
      // 40 only in the high half is family 0 (AF_UNSPEC): the filter lets the kernel answer
      expect(verdicts('socket 0x2800000000', 'default')).toEqual(each(EAFNOSUPPORT));
      // other families are untouched
      expect(verdicts('socket 1', 'default')).toEqual(each('ok'));
    });

    it(`refuses socketpair(AF_VSOCK); without the filter the kernel ${hostVsock ? 'creates the socket, then answers EOPNOTSUPP' : 'answers EAFNOSUPPORT (no vsock here)'}`, () => {
      refused('socketpair 40');
      unfiltered('socketpair 40', hostVsock ? EOPNOTSUPP : EAFNOSUPPORT);
    });

    it("refuses personality values Docker refuses (ASLR off, READ_IMPLIES_EXEC); without the filter they take effect", () => {
      refused('personality 0x0040000');
      unfiltered('personality 0x0040000', '0x40000');
      refused('personality 0x0400000');
      unfiltered('personality 0x0400000', '0x400000');
      // the kernel reads an unsigned int: junk in the high half is still ADDR_NO_RANDOMIZE
      refused('personality 0xffffffff00040000');
      unfiltered('personality 0xffffffff00040000', '0x40000');
    });

    it("lets the personality values Docker allows through (PER_LINUX32, UNAME26)", () => {
      expect(verdicts('personality 0x8', 'default')).toEqual(each('0x8'));
      expect(verdicts('personality 0x20000', 'default')).toEqual(each('0x20000'));
    });

    it.skipIf(!x64)(`refuses modify_ldt with EPERM; without the filter it reads the LDT${x64 ? '' : ' (skipped: x86 only)'}`, () => {
      refused('modify_ldt');
      unfiltered('modify_ldt', 'ok');
    });
  },
);

describe.skipIf(!hasCommand('setarch'))(`util-linux setarch in a sandbox${hasCommand('setarch') ? '' : ' (skipped: no setarch)'}`, () => {
  it('setarch -R (no ASLR) is refused, and works without the filter', async () => {
    const off = await sandbox().run('setarch', ['-R', 'cat', '/proc/self/personality'], { stdio: 'pipe' });
    expect(off.code).not.toBe(0);
    expect(off.stderr).toMatch(/Operation not permitted/);
    const on = await sandbox().seccomp('none').run('setarch', ['-R', 'cat', '/proc/self/personality'], { stdio: 'pipe' });
    expect(on.code).toBe(0);
    expect(on.stdout.trim()).toBe('00040000');
  });

  it('linux32 and --uname-2.6 still work', async () => {
    const v = await sandbox().run('setarch', ['--uname-2.6', 'uname', '-r'], { stdio: 'pipe' });
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/^2\.6\./);
    const m = await sandbox().run('linux32', ['uname', '-m'], { stdio: 'pipe' });
    expect(m.code).toBe(0);
    expect(m.stdout.trim()).not.toBe(execFileSync('uname', ['-m'], { encoding: 'utf8' }).trim());
  });
});
