// Every id-map flag of `nsbind run` against util-linux unshare as the oracle: the same
// uid_map, gid_map and setgroups inside. unshare maps ranges through newuidmap, which
// reads /etc/subuid; so that the host's files stay untouched, both run in a private
// mount namespace (unshare -m, an oracle here) where /etc/subuid and /etc/subgid are a
// test file bound over them.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MAIN, nsbind, hasCommand, isRoot, rootInCI } from '../helpers/index.js';

const ready = isRoot && hasCommand('unshare') && hasCommand('newuidmap');
const reason = ready ? '' : ' (skipped: needs root, unshare and newuidmap (apt-get install uidmap))';
if (rootInCI && !ready) throw new Error('CI runs as root with util-linux and uidmap (.ci/run)');

const dir = mkdtempSync(join(tmpdir(), 'nsbind-idmap-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const subid = join(dir, 'subid');
writeFileSync(subid, 'root:100000:65536\n');

const SHOW = ['cat', '/proc/self/uid_map', '/proc/self/gid_map', '/proc/self/setgroups'];

/** Runs `unshare ARGS SHOW` and `nsbind run ARGS SHOW` in one private mount namespace. */
function both(theirs: string[], mine: string[]): { theirs: string; mine: string } {
  const q = (a: string[]) => a.map((w) => `'${w}'`).join(' ');
  const script = [
    `mount --bind ${subid} /etc/subuid`,
    `mount --bind ${subid} /etc/subgid`,
    `unshare ${q(theirs)} ${q(SHOW)} || echo "unshare failed $?"`,
    'echo ===',
    `'${process.execPath}' '${MAIN}' run ${q(mine)} -- ${q(SHOW)} || echo "nsbind failed $?"`,
  ].join('\n');
  const out = execFileSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], { encoding: 'utf8', timeout: 60_000 });
  const [a, b] = out.split('===\n');
  // Column widths are the kernel's; compare the numbers.
  const norm = (s: string) => s.trim().split('\n').map((l) => l.trim().split(/\s+/).join(' ')).join('\n');
  return { theirs: norm(a), mine: norm(b) };
}

describe.skipIf(!ready)(`id-map flags as unshare reads them${reason}`, () => {
  const same: [string, string[], string[]][] = [
    ['--map-users OUTER,INNER,COUNT (2.38 comma form)', ['--user', '--map-users=100000,0,1000', '--map-groups=100000,0,1000'], ['--map-users=100000,0,1000', '--map-groups=100000,0,1000']],
    ['--map-users INNER:OUTER:COUNT (2.39 colon form) = the comma form reversed', ['--user', '--map-users=100000,0,1000', '--map-groups=100000,5,10'], ['--map-users=0:100000:1000', '--map-groups=5:100000:10']],
    ['a colon range whose inner start is not 0', ['--user', '--map-users=100010,7,20', '--map-groups=100000,0,1'], ['--map-users=7:100010:20', '--map-groups', '0:100000:1']],
    ['--map-users=auto --map-groups=auto', ['--user', '--map-users=auto', '--map-groups=auto'], ['--map-users=auto', '--map-groups=auto']],
    ['--map-auto', ['--map-auto'], ['--map-auto']],
    ['--map-subids = the first block onto the same ids', ['--user', '--map-users=100000,100000,65536', '--map-groups=100000,100000,65536'], ['--map-subids']],
    ['--map-root-user', ['--map-root-user'], ['--map-root-user']],
    ['--map-current-user', ['--map-current-user'], ['--map-current-user']],
    ['--map-user/--map-group', ['--map-user=4242', '--map-group=4343'], ['--map-user=4242', '--map-group=4343']],
    ['--map-user=0 (root inside, as -r)', ['--map-user=0', '--map-group=0'], ['--map-user=0', '--map-group=0']],
    ['--map-user/--map-group by name', ['--map-user=nobody', '--map-group=nogroup'], ['--map-user=nobody', '--map-group=nogroup']],
    ['--map-users with --setgroups allow', ['--user', '--map-users=100000,0,1000', '--map-groups=100000,0,1000', '--setgroups', 'allow'], ['--map-users=0:100000:1000', '--map-groups=0:100000:1000', '--setgroups', 'allow']],
  ];
  for (const [name, theirs, mine] of same) {
    it(name, () => {
      const r = both(theirs, mine);
      expect(r.theirs).not.toMatch(/failed/);
      expect(r.mine).toBe(r.theirs);
    });
  }

  it('--map-user alone: the same uid_map and setgroups; the gid nsbind\'s user namespace default where unshare writes no gid_map', () => {
    const r = both(['--map-user=5', '--setgroups', 'deny'], ['--map-user=5', '--setgroups', 'deny']);
    const [uid, gid, setgroups] = r.mine.split('\n');
    const theirs = r.theirs.split('\n');
    expect(theirs).toEqual(['5 0 1', 'deny']);
    expect([uid, setgroups]).toEqual(theirs);
    expect(gid).toMatch(/^0 \d+ \d+$/);
  });

  it('the colon form is not read as the comma form (the 2.38 misreading maps the wrong range)', () => {
    const r = both(['--user', '--map-users=0,100000,1000', '--map-groups=100000,0,1'], ['--map-users=0:100000:1000', '--map-groups=0:100000:1']);
    expect(r.mine).not.toBe(r.theirs);
    expect(r.mine.split('\n')[0]).toBe('0 100000 1000');
  });
});

describe('id-map flag errors', () => {
  it.each([
    ['--map-users=1,2', /--map-users: expected INNER:OUTER:COUNT \(or the older OUTER,INNER,COUNT\) or auto, got '1,2'/],
    ['--map-users=1:2,3', /expected INNER:OUTER:COUNT/],
    ['--map-groups=x', /--map-groups: expected INNER:OUTER:COUNT/],
    ['--map-user=no-such-user-nsbind', /--map-user: expected a uid or a user name, got 'no-such-user-nsbind' \(no such user\)/],
  ])('%s', (flag, message) => {
    const r = nsbind(['run', flag, '--', 'true']);
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(message);
  });
});
