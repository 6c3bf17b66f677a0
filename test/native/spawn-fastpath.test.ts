// The spawn path's shortcuts behave exactly like the long way round:
//   - with no env option, the program gets the process's environment as it is at spawn
//     time (copied natively from environ), including later process.env changes;
//   - SandboxProcess.namespaces, read on the threadpool, equals what fs.statSync says.
import { statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sandbox } from '../../lib/index.js';
import { NAMESPACE_TYPES } from '../../lib/options.js';

describe('spawn fast paths', () => {
  it('inherits process.env as it is at spawn time, set and unset', async () => {
    const sb = sandbox();
    process.env.NSBIND_FASTPATH_PROBE = 'first value';
    try {
      let r = await sb.run('sh', ['-c', 'printf %s "${NSBIND_FASTPATH_PROBE-unset}"']);
      expect(r.stdout).toBe('first value');
      process.env.NSBIND_FASTPATH_PROBE = 'second';
      r = await sb.run('sh', ['-c', 'printf %s "${NSBIND_FASTPATH_PROBE-unset}"']);
      expect(r.stdout).toBe('second');
      delete process.env.NSBIND_FASTPATH_PROBE;
      r = await sb.run('sh', ['-c', 'printf %s "${NSBIND_FASTPATH_PROBE-unset}"']);
      expect(r.stdout).toBe('unset');
      // With overrides the environment is built in JS: inherited values plus the overrides.
      process.env.NSBIND_FASTPATH_PROBE = 'inherited';
      r = await sb.env({ NSBIND_FASTPATH_OTHER: 'set' }).run('sh', ['-c', 'printf %s/%s "$NSBIND_FASTPATH_PROBE" "$NSBIND_FASTPATH_OTHER"']);
      expect(r.stdout).toBe('inherited/set');
      r = await sb.env({}, { inherit: false }).run('/usr/bin/env');
      expect(r.stdout).toBe('');
    } finally {
      delete process.env.NSBIND_FASTPATH_PROBE;
    }
  });

  it('finds the program on PATH as process.env has it', async () => {
    const r = await sandbox().run('true');
    expect(r.code).toBe(0);
  });

  it('reports the namespace ids fs.statSync sees', async () => {
    const p = sandbox().pid().net().uts().spawn('sleep', ['5'], { stdio: 'ignore' });
    await new Promise((resolve) => p.once('spawn', resolve));
    try {
      for (const type of NAMESPACE_TYPES) {
        const st = statSync(`/proc/${p.pid}/ns/${type}`);
        expect(p.namespaces?.[type]).toEqual({ type, inode: st.ino, dev: st.dev });
      }
      expect(p.namespaces!.net.inode).not.toBe(statSync('/proc/self/ns/net').ino);
      // every sandbox has a user namespace (SPEC 2.1)
      expect(p.namespaces!.user.inode).not.toBe(statSync('/proc/self/ns/user').ino);
    } finally {
      p.kill('SIGKILL');
      await p.exited;
    }
  });
});
