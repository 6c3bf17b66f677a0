// `nsbind bwrap` as a drop-in for bubblewrap: nsbind's own cases modelled on bubblewrap's
// tests/test-run.sh (scripts/bwrap-cases.mjs), run with the system's bwrap as the oracle
// and with nsbind, as the current user and (as root) as nobody. nsbind must pass every
// case bwrap passes, except those that create files on the host's filesystem through a
// bind of / (nsbind refuses that on purpose, SPEC 2.2; listed in the README).
import { describe, expect, it } from 'vitest';
import { nsbind, hasCommand, inCI, isRoot, root } from '../helpers/index.js';
import { join } from 'node:path';
import { readlinkSync } from 'node:fs';

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
  it('--help prints bwrap\'s usage line', () => {
    const r = nsbind(['bwrap', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^usage: nsbind bwrap \[OPTIONS\.\.\.\] \[--\] COMMAND/);
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
