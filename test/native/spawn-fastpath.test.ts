// The spawn path's shortcuts behave exactly like the long way round:
//   - with no env option, the program gets the process's environment as it is at spawn
//     time (copied natively from environ), including later process.env changes;
//   - SandboxProcess.namespaces, read on the threadpool, equals what fs.statSync says.
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sandbox } from '../../lib/index.js';
import { NAMESPACE_TYPES } from '../../lib/options.js';

// The scheduling policy of the program: field 41 of /proc/self/stat (0 SCHED_OTHER,
// 3 SCHED_BATCH). `cut` reads its own stat: its comm has no space.
const POLICY = ['-c', 'cut -d" " -f41 /proc/self/stat'];

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

  // The spawn threads wait as SCHED_BATCH (spawn_threads.cc: a woken batch thread does
  // not preempt the JS thread) and switch back before the clone: the program gets the
  // policy of the Node process, never the threads' waiting one.
  it('runs the program with the scheduling policy of the Node process', async () => {
    // Sequential spawns: each finds an idle spawn thread that waited as SCHED_BATCH.
    for (let i = 0; i < 5; i++) {
      const r = await sandbox().run('/bin/sh', POLICY);
      expect(r.stdout.trim()).toBe('0');
    }
    // A Node process that runs as SCHED_BATCH itself keeps it for its programs.
    const code = `const { sandbox } = require(${JSON.stringify(join(__dirname, '..', '..', 'dist', 'index.js'))});
      (async () => { for (let i = 0; i < 3; i++) process.stdout.write((await sandbox().run('/bin/sh', ${JSON.stringify(POLICY)})).stdout); })();`;
    const r = spawnSync('chrt', ['--batch', '0', process.execPath, '-e', code], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n').filter(Boolean)).toEqual(['3', '3', '3']);
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
