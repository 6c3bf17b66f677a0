// The same core checks with the sandbox's creator running as an unprivileged uid
// (65534): the path most users are on. A user namespace is added automatically.
import { describe, expect, it } from 'vitest';
import { isRoot, runAsNobody } from './helpers/index.js';

describe.skipIf(!isRoot)('rootless (creator runs as uid 65534; needs root to switch to it)', () => {
  it('every namespace type alone and together, and what each shows inside', () => {
    const r = runAsNobody(`
      const { sandbox } = nsbind;
      const fs = require('fs');
      const own = (t) => fs.readlinkSync('/proc/self/ns/' + t);
      const types = ['user', 'pid', 'mnt', 'uts', 'ipc', 'net', 'cgroup', 'time'];
      const script = types.map((t) => 'readlink /proc/self/ns/' + t).join(';');
      const out = {};
      for (const t of types) {
        const sb = t === 'mnt' ? sandbox().mount() : sandbox()[t]();
        const res = await sb.run('sh', ['-c', script]);
        const lines = res.stdout.trim().split('\\n');
        out[t] = { differs: types.filter((x, i) => lines[i] !== own(x)), isolation: (await (async () => { const p = sb.spawn('true'); await p.exited; return p.isolation; })()).sort() };
      }
      const all = await sandbox().all().uts({ hostname: 'box' }).time({ monotonic: 86400 })
        .run('sh', ['-c', 'echo $$; hostname; id -u; id -g; cat /proc/self/setgroups; ip -o link | wc -l']);
      const mapped = await sandbox().user({ uid: 1000, gid: 1000 }).run('sh', ['-c', 'id -u; id -g']);
      const term = sandbox().pid().spawn('sh', ['-c', 'trap "exit 9" TERM; echo ready; while :; do sleep 0.05; done']);
      term.stdout.on('data', () => term.kill('SIGTERM'));
      const t = await term.exited;
      const sig = await sandbox().pid().run('sh', ['-c', 'kill -KILL $$']);
      let err;
      try { await sandbox().pid().run('/no/such'); } catch (e) { err = { code: e.code, step: e.step }; }
      console.log(JSON.stringify({ out, all: all.stdout, mapped: mapped.stdout, term: t.code, sig: sig.signal, err }));
    `);
    expect(r.stderr).toBe('');
    const res = JSON.parse(r.stdout);
    for (const t of ['pid', 'mnt', 'uts', 'ipc', 'net', 'cgroup', 'time']) {
      // Unprivileged: a user namespace comes with every other type.
      expect(res.out[t].differs.sort(), t).toEqual([t, 'user'].sort());
      expect(res.out[t].isolation, t).toEqual([t, 'user'].sort());
    }
    expect(res.out.user.differs).toEqual(['user']);
    expect(res.all).toBe('2\nbox\n0\n0\ndeny\n1\n');
    expect(res.mapped).toBe('1000\n1000\n');
    expect(res.term).toBe(9);
    expect(res.sig).toBe('SIGKILL');
    expect(res.err).toEqual({ code: 'ENOENT', step: 'execve /no/such' });
  });

  it('ranges beyond the caller\'s own id need newuidmap, with a clear error when it is missing or refuses', () => {
    const r = runAsNobody(`
      try {
        await nsbind.sandbox().user({ uidMap: [{ inside: 0, outside: 65534, count: 1 }, { inside: 1, outside: 100000, count: 10 }] }).run('true');
        console.log('ran');
      } catch (e) { console.log(JSON.stringify({ code: e.code, step: e.step, hint: e.hint })); }
    `);
    const res = JSON.parse(r.stdout);
    // nobody has no /etc/subuid range: either newuidmap is missing or it refuses.
    expect(['ERR_NSBIND_NO_IDMAP_HELPER', 'EPERM']).toContain(res.code);
    expect(res.hint).toMatch(/subuid|newuidmap/);
  });
});

describe.skipIf(!isRoot)('the Node process is left as it was (needs root to change uid)', () => {
  it('stays dumpable after a uid change in the child (which shares its memory until exec)', async () => {
    // A credential change makes the kernel clear the dumpable flag of the child's mm,
    // which is Node's own until the child execs; nsbind puts it back.
    const { native } = await import('../lib/binding.js');
    const { sandbox } = await import('../lib/index.js');
    expect(native().getDumpable()).toBe(1);
    const r = await sandbox().as({ uid: 65534, gid: 65534 }).run('id', ['-u']);
    expect(r.stdout).toBe('65534\n');
    expect(native().getDumpable()).toBe(1);
  });
});
