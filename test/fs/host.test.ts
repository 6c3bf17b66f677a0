// Nothing a sandbox mounts shows in the host's mount table, even when the host's / is a
// shared mount (which would propagate mounts made in a namespace copied from it), and
// the mount points it used can be removed afterwards.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandbox } from '../../lib/index.js';
import { scratch, children, hasCommand, isRoot, openFds, root } from '../helpers/index.js';

let dir: string;
beforeAll(() => {
  dir = scratch();
  for (const d of ['src', 'mp', 'tmp']) mkdirSync(join(dir, d));
  writeFileSync(join(dir, 'file'), 'x');
  writeFileSync(join(dir, 'mpfile'), '');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Starts a sandbox that mounts a lot, and reads the mount table while it runs. */
const SCRIPT = (d: string, propagation: string) => `
const { sandbox } = require(${JSON.stringify(join(root, 'dist', 'index.js'))});
const { readFileSync } = require('node:fs');
(async () => {
  const before = readFileSync('/proc/self/mountinfo', 'utf8');
  // The leaky case needs no user namespace: one made by root turns shared mounts into
  // slaves (the kernel never propagates from a less privileged mount namespace).
  const p = sandbox()${propagation === 'unchanged' ? '.user(false)' : ''}
    .mount({ propagation: '${propagation}' })
    .bind('${d}/src', '${d}/mp')
    .roBind('${d}/file', '${d}/mpfile')
    .tmpfs('${d}/tmp')
    .overlay('${d}/src', { lower: ['/usr'] })
    ${propagation === 'private' ? '.proc()' : '' /* a leaked procfs would hide the harness's own */}
    .dev('${d}/tmp/dev')
    .mask('${d}/file')
    .readonly('${d}')
    .spawn('/bin/sh', ['-c', 'echo ready; read x'], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => { p.stdout.once('data', resolve); p.exited.catch(reject); });
  const during = readFileSync('/proc/self/mountinfo', 'utf8');
  p.stdin.end('\\n');
  const r = await p.exited;
  const rootLine = before.split('\\n').find((l) => l.split(' ')[4] === '/');
  process.stdout.write(JSON.stringify({ before, during, code: r.code, rootLine }));
})().catch((e) => { console.error(e); process.exit(1); });
`;

/**
 * Runs the script in a test-only mount namespace whose / is shared: made private first
 * (cut off from the real host's peer groups), then recursively shared in a new peer
 * group, so nothing can propagate back to the real host whatever the script mounts.
 */
function inSharedNamespace(script: string): { before: string; during: string; code: number; rootLine: string } {
  const r = spawnSync(
    'unshare',
    ['-m', '--propagation', 'private', 'sh', '-c', 'mount --make-rshared / && exec "$0" -e "$1"', process.execPath, script],
    { encoding: 'utf8', timeout: 30_000 },
  );
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout);
}

describe('host mount table', () => {
  it('shows none of the sandbox mounts (this process)', async () => {
    const before = readFileSync('/proc/self/mountinfo', 'utf8');
    const p = sandbox().bind(join(dir, 'src'), join(dir, 'mp')).tmpfs(join(dir, 'tmp')).proc()
      .spawn('/bin/sh', ['-c', 'echo ready; read x'], { stdio: ['pipe', 'pipe', 'inherit'] });
    await new Promise((resolve) => p.stdout!.once('data', resolve));
    const during = readFileSync('/proc/self/mountinfo', 'utf8');
    p.stdin!.end('\n');
    expect(await p.exited).toMatchObject({ code: 0 });
    expect(during).toBe(before);
    expect(during).not.toContain(dir);
  });

  it.skipIf(!isRoot || !hasCommand('unshare'))(
    `shows none of them when the host / is shared (oracle: a private test namespace with shared propagation)${isRoot && hasCommand('unshare') ? '' : ' (skipped: needs root and util-linux unshare)'}`,
    () => {
      const out = inSharedNamespace(SCRIPT(dir, 'private'));
      // the harness is meaningful: its / really is a shared mount
      expect(out.rootLine).toMatch(/ shared:\d+/);
      expect(out.code).toBe(0);
      expect(out.during).toBe(out.before);
      expect(out.during).not.toContain(dir);
      // and it sees leaks: with propagation left shared, the same mounts show up there
      const leaky = inSharedNamespace(SCRIPT(dir, 'unchanged'));
      expect(leaky.code).toBe(0);
      expect(leaky.during).toContain(`${dir}/mp`);
    },
  );

  it('mount points used by a sandbox can be removed after', async () => {
    const r = await sandbox().bind(join(dir, 'src'), join(dir, 'mp')).roBind(join(dir, 'file'), join(dir, 'mpfile')).tmpfs(join(dir, 'tmp')).run('/bin/true');
    expect(r.code).toBe(0);
    rmdirSync(join(dir, 'mp'));
    unlinkSync(join(dir, 'mpfile'));
    rmdirSync(join(dir, 'tmp'));
    mkdirSync(join(dir, 'mp'));
    mkdirSync(join(dir, 'tmp'));
    writeFileSync(join(dir, 'mpfile'), '');
  });

  it('leaves no descriptor, zombie or mount behind, after successes and failures alike', async () => {
    const fds = openFds();
    const mountsBefore = readFileSync('/proc/self/mountinfo', 'utf8');
    const good = sandbox().root().roBind('/usr').symlink('usr/bin', '/bin').symlink('usr/lib', '/lib').symlink('usr/lib64', '/lib64').proc().dev().tmpfs('/tmp');
    const bad = sandbox().tmpfs('/mnt').bind('/nonexistent-nsbind', '/mnt/x');
    for (let i = 0; i < 5; i++) {
      expect((await good.run('/bin/true')).code).toBe(0);
      await expect(bad.run('/bin/true')).rejects.toMatchObject({ code: 'ENOENT' });
    }
    expect(openFds()).toEqual(fds);
    expect(children().filter((c) => c.state === 'Z')).toEqual([]);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).toBe(mountsBefore);
  });
});
