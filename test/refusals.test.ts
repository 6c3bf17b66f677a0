// What the program inherits from the Node process (signal state), and the refusals a
// user meets, with the hint that says what to change.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hintFor } from '../lib/errors.js';
import { sandbox } from '../lib/index.js';
import { hasCommand, isRoot, root } from './helpers/index.js';

describe('signal state', () => {
  it('the program starts with no blocked or ignored signal (Node ignores SIGPIPE; the program must not)', async () => {
    for (const sb of [sandbox(), sandbox().pid()]) {
      const r = await sb.run('cat', ['/proc/self/status']);
      expect(r.stdout).toMatch(/^SigBlk:\s+0+$/m);
      expect(r.stdout).toMatch(/^SigIgn:\s+0+$/m);
    }
  });
});

describe('refusals', () => {
  it('hints name the cause and the fix', () => {
    expect(hintFor('ENOSPC', 'clone3', 'create namespaces')).toMatch(/max_.*namespaces/);
    expect(hintFor('EPERM', 'clone3', 'create namespaces')).toMatch(/apparmor_restrict_unprivileged_userns/);
    expect(hintFor('EPERM', 'newuidmap', 'uid_map')).toMatch(/subuid/);
  });

  it.skipIf(!isRoot || !hasCommand('unshare'))(`a namespace limit of 0 gives ENOSPC at clone, with the limit named in the hint${isRoot && hasCommand('unshare') ? '' : ' (skipped: needs root and unshare, to set the limit in a user namespace of its own)'}`, () => {
    // Oracle harness: a user namespace of the test's own whose user.max_user_namespaces is 0.
    const script = `require(${JSON.stringify(join(root, 'dist/index.js'))}).sandbox().user().run('true')
      .then(() => console.log('ran'), (e) => console.log(JSON.stringify({ code: e.code, step: e.step, syscall: e.syscall, hint: e.hint })))`;
    const out = execFileSync('unshare', ['--user', '--map-root-user', '--fork', 'sh', '-c',
      `echo 0 > /proc/sys/user/max_user_namespaces && exec "${process.execPath}" -e '${script.replace(/'/g, "'\\''")}'`], { encoding: 'utf8' });
    const res = JSON.parse(out);
    expect(res).toMatchObject({ code: 'ENOSPC', step: 'create namespaces', syscall: 'clone3' });
    expect(res.hint).toMatch(/max_user_namespaces|max_<type>_namespaces/);
  });
});

describe('one error channel', () => {
  it("a refusal found before the clone (a namespace to join that is gone) is 'error' + exited rejecting, never a throw", async () => {
    const target = sandbox().uts().spawn('sleep', ['60']);
    await new Promise((r) => target.once('spawn', r));
    const sb = sandbox().uts({ join: target });
    target.kill('SIGKILL');
    await target.exited;
    let p: ReturnType<typeof sb.spawn> | undefined;
    expect(() => (p = sb.spawn('true'))).not.toThrow();
    const events: unknown[] = [];
    p!.on('error', (e) => events.push(e));
    const err = await p!.exited.then(
      () => undefined,
      (e: { code?: string; step?: string; option?: string }) => e,
    );
    expect(err).toMatchObject({ code: expect.stringMatching(/^(ESRCH|ENOENT)$/), step: expect.stringContaining(String(target.pid)), option: 'uts.join' });
    expect(events).toEqual([err]);
  });

  it('bad input still throws at once', () => {
    expect(() => sandbox().spawn('true', { timeout: -1 })).toThrow(expect.objectContaining({ code: 'ERR_NSBIND_INVALID', option: 'spawn.timeout' }));
  });
});
