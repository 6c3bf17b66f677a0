// `nsbind bwrap` as a drop-in for bubblewrap: nsbind's own cases modelled on bubblewrap's
// tests/test-run.sh (scripts/bwrap-cases.mjs), run with the system's bwrap as the oracle
// and with nsbind, as the current user and (as root) as nobody. nsbind must pass every
// case bwrap passes, except those that create files on the host's filesystem through a
// bind of / (nsbind refuses that on purpose, SPEC 2.2; listed in the README).
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { MAIN, nsbind, hasCommand, inCI, isRoot, root } from '../helpers/index.js';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { mkdtempSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';

const hasBwrap = hasCommand('bwrap');
if (inCI && !hasBwrap) throw new Error('CI must have bwrap (.ci/run installs bubblewrap)');

interface Outcome { ok: boolean; status: number | null; stderr: string }
interface Row { who: string; name: string; hostFs: boolean; bwrap: Outcome; nsbind: Outcome }

describe.skipIf(!hasBwrap)(`nsbind bwrap passes what bwrap passes${hasBwrap ? '' : ' (skipped: apt-get install bubblewrap)'}`, () => {
  it('every case bwrap passes, as this user and as nobody', { timeout: 600_000 }, async () => {
    // A plain .mjs dev script (no types): imported through a variable so tsc does not look for any.
    const script = join(root, 'scripts', 'bwrap-suite.mjs');
    const { runSuite } = (await import(script)) as { runSuite: () => Promise<Row[]> };
    const rows = await runSuite();
    const callers = [...new Set(rows.map((r) => r.who))];
    expect(callers).toEqual(isRoot ? ['me', 'nobody'] : ['me']);
    const regressions = rows.filter((r) => r.bwrap.ok && !r.nsbind.ok && !r.hostFs).map((r) => `${r.who}: ${r.name}: ${r.nsbind.stderr.trim().split('\n').pop()}`);
    expect(regressions).toEqual([]);
    for (const who of callers) {
      const mine = rows.filter((r) => r.who === who);
      const theirs = mine.filter((r) => r.bwrap.ok && !r.hostFs).length;
      const ours = mine.filter((r) => r.nsbind.ok && !r.hostFs).length;
      expect(ours, who).toBeGreaterThanOrEqual(theirs);
      // The cases are not all trivially passing: bwrap itself fails some (newer flags).
      expect(theirs, who).toBeGreaterThan(20);
    }
    // The host-filesystem cases fail for nsbind as designed (and pass for bwrap as root).
    for (const r of rows.filter((x) => x.hostFs)) expect(r.nsbind.ok, r.name).toBe(false);
  });
});

describe('nsbind bwrap: syntax and messages', () => {
  it('--help prints bwrap\'s usage line, naming the program as it was run (bwrap prints its argv[0])', () => {
    const r = nsbind(['bwrap', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^usage: nsbind bwrap \[OPTIONS\.\.\.\] \[--\] COMMAND \[ARGS\.\.\.\]\n/);
    // bubblewrap's own test "Help works": `$BWRAP --help | grep "usage: $BWRAP"`.
    const dir = mkdtempSync(join(tmpdir(), 'nsbind-bwrap-name-'));
    try {
      const link = join(dir, 'bwrap');
      symlinkSync(MAIN, link);
      const viaLink = spawnSync(process.execPath, [link, '--help'], { encoding: 'utf8' });
      expect(viaLink.stdout.split('\n')[0]).toBe(`usage: ${link} [OPTIONS...] [--] COMMAND [ARGS...]`);
      // A symlink named bwrap runs bwrap's command line, not nsbind's.
      const run = spawnSync(process.execPath, [link, '--ro-bind', '/', '/', 'echo', 'hi'], { encoding: 'utf8' });
      expect([run.status, run.stdout, run.stderr]).toEqual([0, 'hi\n', '']);
      // A shell shim names itself through NSBIND_BWRAP_ARGV0, which the program does not see.
      const shim = join(dir, 'my-bwrap');
      writeFileSync(shim, `#!/bin/sh\nNSBIND_BWRAP_ARGV0="$0" exec '${process.execPath}' '${MAIN}' bwrap "$@"\n`, { mode: 0o755 });
      expect(spawnSync(shim, ['--help'], { encoding: 'utf8' }).stdout.split('\n')[0]).toBe(`usage: ${shim} [OPTIONS...] [--] COMMAND [ARGS...]`);
      const env = spawnSync(shim, ['--ro-bind', '/', '/', 'sh', '-c', 'echo "${NSBIND_BWRAP_ARGV0-unset}"'], { encoding: 'utf8' });
      expect(env.stdout).toBe('unset\n');
      // exec -a NAME sets argv[0] itself.
      const named = spawnSync('bash', ['-c', `exec -a mybwrap '${process.execPath}' '${MAIN}' bwrap --help`], { encoding: 'utf8' });
      expect(named.stdout.split('\n')[0]).toBe('usage: mybwrap [OPTIONS...] [--] COMMAND [ARGS...]');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(!hasBwrap)('--help lists every flag bwrap 0.8 lists', () => {
    const flagsOf = (text: string) => [...text.matchAll(/^ {4}(--[a-z0-9-]+)/gm)].map((m) => m[1]);
    const theirs = flagsOf(execFileSync('bwrap', ['--help'], { encoding: 'utf8' }));
    const mine = flagsOf(nsbind(['bwrap', '--help']).stdout);
    expect(theirs.filter((f) => !mine.includes(f))).toEqual([]);
  });

  it('no command: bwrap\'s message and exit 1', () => {
    const r = nsbind(['bwrap', '--ro-bind', '/', '/']);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('bwrap: No command specified\n');
  });

  it('a command argument that is also a flag belongs to the command (no ambiguity rule)', () => {
    const r = nsbind(['bwrap', '--ro-bind', '/', '/', 'echo', '--unshare-pid']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('--unshare-pid\n');
  });

  it('without a bind of /, the root is an empty tmpfs', () => {
    const r = nsbind(['bwrap', '--ro-bind', '/usr', '/usr', '--symlink', 'usr/bin', '/bin', '--symlink', 'usr/lib', '/lib', '--symlink', 'usr/lib64', '/lib64', '--dir', '/work', 'sh', '-c', 'ls /; pwd']);
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n').slice(0, -2).sort()).toEqual(['bin', 'lib', 'lib64', 'usr', 'work']);
    expect(r.stdout.trim().split('\n').pop()).toBe('/');
  });

  it.skipIf(!isRoot)('as root: host root inside with no user namespace, unless --unshare-user (then a map of host 0)', () => {
    const script = 'id -u; cat /proc/self/uid_map | tr -s " "; readlink /proc/self/ns/user';
    const plain = nsbind(['bwrap', '--ro-bind', '/', '/', 'sh', '-c', script]);
    const mine = readlinkSync('/proc/self/ns/user');  // ours: `nsbind run` makes a user namespace now (SPEC 2.1)
    expect(plain.stdout.trim().split('\n')).toEqual(['0', ' 0 0 4294967295', mine]);
    const userns = nsbind(['bwrap', '--unshare-user', '--uid', '5', '--ro-bind', '/', '/', 'sh', '-c', 'id -u; cat /proc/self/uid_map | tr -s " "']);
    expect(userns.stdout.trim().split('\n')).toEqual(['5', ' 5 0 1']);
  });

  it('--uid without --unshare-user: refused for root, as bwrap refuses it; unprivileged, the id inside', () => {
    const other = String((process.getuid?.() ?? 0) + 7);
    const r = nsbind(['bwrap', '--uid', other, '--ro-bind', '/', '/', 'id', '-u']);
    expect([r.status, r.stdout, r.stderr]).toEqual(isRoot ? [1, '', 'bwrap: Specifying --uid requires --unshare-user or --userns\n'] : [0, `${other}\n`, '']);
  });

  it('unsupported bwrap flags say so (no silent drop)', () => {
    for (const args of [['--userns', '3'], ['--sync-fd', '3'], ['--exec-label', 'x']]) {
      const r = nsbind(['bwrap', ...args, '--ro-bind', '/', '/', 'true']);
      expect(r.status, args[0]).toBe(1);
      expect(r.stderr, args[0]).toMatch(new RegExp(`^bwrap: ${args[0]}`));
    }
  });
});
