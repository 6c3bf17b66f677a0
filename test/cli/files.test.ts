// `nsbind run --deny-read/--allow-write/--deny-write/--landlock`: one .files() policy,
// through the built command, root and unprivileged.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { landlockAbi } from '../../lib/security/landlock.js';
import { nsbind } from '../helpers/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'nsbind-cli-files-'));
chmodSync(tmp, 0o755);
mkdirSync(join(tmp, 'w'));
mkdirSync(join(tmp, 'w', 'keep'));
chmodSync(join(tmp, 'w'), 0o777);
chmodSync(join(tmp, 'w', 'keep'), 0o777);
writeFileSync(join(tmp, 'secret'), 'SECRET\n', { mode: 0o644 });
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const script = `cat ${tmp}/secret; touch ${tmp}/w/x && echo rw; touch ${tmp}/w/keep/x 2>/dev/null || echo keep-ro; touch ${tmp}/y 2>/dev/null || echo ro`;
const flags = ['--deny-read', join(tmp, 'secret'), '--allow-write', join(tmp, 'w'), '--deny-write', join(tmp, 'w', 'keep')];

describe('nsbind run: file policy flags', () => {
  it('root: the flags add up to one policy', () => {
    const r = nsbind(['run', ...flags, '--', '/bin/sh', '-c', script]);
    expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({ status: 0, stdout: 'rw\nkeep-ro\nro\n', stderr: '' });
    rmSync(join(tmp, 'w', 'x'), { force: true });
  });

  it('unprivileged: the same', () => {
    const r = nsbind(['run', ...flags, '--', '/bin/sh', '-c', script], { uid: 65534, gid: 65534, cwd: '/' });
    expect({ status: r.status, stdout: r.stdout }).toEqual({ status: 0, stdout: 'rw\nkeep-ro\nro\n' });
    rmSync(join(tmp, 'w', 'x'), { force: true });
  });

  it('--landlock requires Landlock: exit 125 with the option named where the kernel has none', () => {
    const r = nsbind(['run', '--landlock', '--allow-write', join(tmp, 'w'), '--', '/bin/true'], { env: { ...process.env, NSBIND_LANDLOCK_ABI: '0' } });
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/landlock/);
    if (landlockAbi() > 0) expect(nsbind(['run', '--landlock', '--', '/bin/true']).status).toBe(0);
  });

  it('a bad path is a usage error naming the flag', () => {
    const r = nsbind(['run', '--allow-write', '/', '--', '/bin/true']);
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/--allow-write/);
  });
});
