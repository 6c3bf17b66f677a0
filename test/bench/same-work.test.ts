// The bench's same-work floor (bench/same-work.cc) must do what nsbind does for
// `sandbox().all()`, or the bench compares nsbind with a floor that does other work. The
// same probe script runs under nsbind and under the floor; what each program sees (its
// namespaces, credentials, groups, capabilities, no_new_privs, seccomp, NOFILE, umask,
// hostname, cwd, session) must match. The floor walks nsbind's own plan, so a plan with
// more ops (identity switches, die-with-parent: what the default plan grows into) must
// match too, and a plan it cannot do must be refused rather than run differently.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { type Sandbox, sandbox } from '../../lib/index.js';
import { hasCommand, isRoot, root } from '../helpers/index.js';

/** bench/same-work.mjs, which is plain JavaScript (the bench runs without a build step). */
interface SameWorkModule {
  buildSameWork(bin: string): void;
  sameWorkArgs(
    planFile: string,
    configure?: (sb: Sandbox) => Sandbox,
    mode?: { init?: boolean },
  ): { args?: string[]; ops?: string[]; problem?: string };
}

const PROBE = [
  "grep -E '^(NSpid|Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status",
  'for t in user pid mnt uts ipc net cgroup time; do echo "ns $t $(readlink /proc/self/ns/$t)"; done',
  'echo "nofile $(ulimit -Sn) $(ulimit -Hn)"',
  'echo "cwd $PWD"',
  'echo "umask $(umask) hostname $(cat /proc/sys/kernel/hostname)"',
  // the shell reads its own stat (a builtin): session leader and parent, in host pids
  'read -r _ _ _ ppid _ sid _ < /proc/self/stat; echo "session $sid parent $ppid"',
].join('; ');

/** The probe's output with what differs between any two sandboxes taken out. */
function normalise(out: string): string[] {
  return out
    .trim()
    .split('\n')
    .map((line) => {
      const ns = /^ns (\w+) (\w+:\[\d+\])$/.exec(line);
      if (ns) return `ns ${ns[1]} ${ns[2] === readlinkSync(`/proc/self/ns/${ns[1]}`) ? 'the host\'s' : 'new'}`;
      if (line.startsWith('NSpid:')) return `NSpid in the sandbox: ${line.split(/\s+/).at(-1)}`;
      const s = /^session (\d+) parent (\d+)$/.exec(line);
      if (s) return s[1] === s[2] ? 'session led by the parent' : 'session of another process';
      return line.replace(/\s+/g, ' ').trim();
    });
}

const haveCxx = hasCommand('c++');
// Only where the tests below run: a file whose tests are all skipped runs no afterAll.
const dir = haveCxx && isRoot ? mkdtempSync(join(tmpdir(), 'nsbind-same-work-')) : '';
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!haveCxx || !isRoot)(
  `bench/same-work.cc${haveCxx ? '' : ' (skipped: no c++ to build it)'}${isRoot ? '' : ' (skipped: the bench runs as root)'}`,
  () => {
    let mod: SameWorkModule;
    const bin = join(dir, 'same-work');
    async function floor(): Promise<SameWorkModule> {
      if (!mod) {
        mod = (await import(pathToFileURL(join(root, 'bench', 'same-work.mjs')).href)) as SameWorkModule;
        mod.buildSameWork(bin);
      }
      return mod;
    }

    /** What the probe sees under the floor and under nsbind, for the same sandbox. */
    async function both(configure: (sb: Sandbox) => Sandbox, init = true) {
      const { sameWorkArgs } = await floor();
      const same = sameWorkArgs(join(dir, 'plan'), configure, { init });
      expect(same.problem).toBeUndefined();
      const floorOut = execFileSync(bin, ['0', '1', ...same.args!], { encoding: 'utf8', env: { ...process.env, SAME_WORK_PROBE: PROBE } });
      const nsbindOut = await configure(sandbox().all()).run('/bin/sh', ['-c', PROBE], { stdio: 'pipe' });
      expect(nsbindOut.stderr).toBe('');
      const floorLines = normalise(floorOut.split('\n').filter((l) => !l.startsWith('{')).join('\n'));
      const nsbindLines = normalise(nsbindOut.stdout);
      expect(floorLines).toEqual(nsbindLines);
      return { ops: same.ops!, lines: nsbindLines };
    }

    it('runs its program exactly as nsbind runs sandbox().all()\'s', { timeout: 60_000 }, async () => {
      const { lines } = await both((sb) => sb);
      // and it is the work the bench means: all 8 new, nothing held, filtered
      expect(lines).toEqual(expect.arrayContaining([
        'ns time new', 'ns cgroup new', 'ns user new', 'NoNewPrivs: 1', 'Seccomp: 2', 'CapBnd: 0000000000000000',
        'session led by the parent', 'NSpid in the sandbox: 3', // init 1, sh 2, grep 3
      ]));
    });

    it('follows the plan op by op: identity switches, die-with-parent, umask, hostname', { timeout: 60_000 }, async () => {
      const { ops, lines } = await both((sb) => sb.uts({ hostname: 'floor' }).as({ uid: 0, gid: 0, groups: [0] }).umask(0o27));
      for (const op of ['SETHOSTNAME', 'SETGROUPS', 'SETRESGID', 'SETRESUID', 'DIE_WITH_PARENT', 'UMASK']) expect(ops).toContain(op);
      expect(lines).toEqual(expect.arrayContaining(['umask 0027 hostname floor', 'Groups: 0']));
    });

    it('follows a multi-line id map to a subordinate range and a non-root identity', { timeout: 60_000 }, async () => {
      // what root's default becomes when the identity is hardened: the floor writes the
      // maps nsbind's request holds, then switches as the plan says
      const map = [{ inside: 0, outside: 0, count: 1 }, { inside: 1, outside: 200000, count: 65536 }];
      const { ops, lines } = await both((sb) => sb.user({ uidMap: map, gidMap: map }).as({ uid: 1000, gid: 1000, groups: [1000] }));
      for (const op of ['SETGROUPS', 'SETRESGID', 'SETRESUID', 'DIE_WITH_PARENT']) expect(ops).toContain(op);
      expect(lines).toEqual(expect.arrayContaining(['Uid: 1000 1000 1000 1000', 'Groups: 1000', 'CapEff: 0000000000000000']));
    });

    it('runs pid({ init: false }) as nsbind does: the program itself is PID 1', { timeout: 60_000 }, async () => {
      const { ops, lines } = await both((sb) => sb.pid({ init: false }), false);
      expect(ops.at(-1)).toBe('EXEC');
      expect(lines).toEqual(expect.arrayContaining([
        'ns time new', 'ns pid new', 'NoNewPrivs: 1', 'Seccomp: 2', 'CapBnd: 0000000000000000',
        'NSpid in the sandbox: 2', // sh 1, grep 2: no init
      ]));
    });

    it('refuses a plan through the init in its no-init mode', { timeout: 60_000 }, async () => {
      const { sameWorkArgs } = await floor();
      const same = sameWorkArgs(join(dir, 'plan'), (sb) => sb, { init: false });
      expect(same.args).toBeUndefined();
      expect(same.problem).toMatch(/does not end in one exec by the child itself/);
    });

    it('refuses a plan it does not do, saying what', { timeout: 60_000 }, async () => {
      const { sameWorkArgs } = await floor();
      // the program as PID 1: no init to exec through
      const same = sameWorkArgs(join(dir, 'plan'), (sb) => sb.pid({ init: false }));
      expect(same.args).toBeUndefined();
      expect(same.problem).toMatch(/does not end in one exec through the init/);
    });
  },
);
