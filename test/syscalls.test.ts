// nsbind/syscalls: the raw wrappers act on the calling process; run them in a child
// Node process so this test process keeps its namespaces.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isRoot, root } from './helpers/index.js';

function inChild(code: string) {
  const r = spawnSync(process.execPath, ['-e', `const s = require(${JSON.stringify(join(root, 'dist/syscalls.js'))}); const os = require('os');\n${code}`], { encoding: 'utf8' });
  return { out: r.stdout.trim(), err: r.stderr };
}

describe('nsbind/syscalls', () => {
  it.skipIf(!isRoot)(`unshare(CLONE_NEWUTS) then sethostname works in a child Node process${isRoot ? '' : ' (skipped: needs root: unshare in a Node process without a user namespace)'}`, () => {
    const host = require('node:os').hostname();
    const r = inChild(`s.unshare(s.CLONE_NEWUTS); s.sethostname('raw-test'); console.log(os.hostname());`);
    expect(r.out).toBe('raw-test');
    expect(require('node:os').hostname()).toBe(host);
  });

  it('what a multithreaded process cannot do throws a typed error', () => {
    const r = inChild(`
      const out = {};
      try { s.unshare(s.CLONE_NEWUSER); out.unshare = 'ok'; } catch (e) { out.unshare = [e.name, e.code, e.syscall]; }
      try { s.setns('/proc/self/ns/mnt', s.CLONE_NEWNS); out.setns = 'ok'; } catch (e) { out.setns = [e.name, e.code, e.syscall]; }
      try { s.mount(null, '/definitely/missing', null, s.MS_PRIVATE); out.mount = 'ok'; } catch (e) { out.mount = [e.name, e.code, e.path]; }
      try { s.openNamespace(999999999, 'net'); } catch (e) { out.open = e.code; }
      const fd = s.openNamespace(process.pid, 'net'); require('fs').closeSync(fd); out.fd = fd > 2;
      console.log(JSON.stringify(out));
    `);
    const res = JSON.parse(r.out);
    expect(res.unshare).toEqual(['NsbindError', 'EINVAL', 'unshare']);
    expect(res.setns[0]).toBe('NsbindError');
    // Joining a mount namespace needs CAP_SYS_ADMIN, checked before the thread count.
    expect(res.setns[1]).toBe(isRoot ? 'EINVAL' : 'EPERM');
    expect(res.mount).toEqual(['NsbindError', 'ENOENT', '/definitely/missing']);
    expect(res.open).toBe('ENOENT');
    expect(res.fd).toBe(true);
  });
});
