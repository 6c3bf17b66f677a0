// No limit can hurt the caller (SPEC 4, issue 14 item 2). A memory limit too small for
// anything once killed the Node process that asked for it: the setup child shared Node's
// memory, sat in the sandbox's cgroup, and the OOM killer took every task sharing that
// memory. Now the setup of a sandbox with limits runs in nsbind-init, which joins the
// cgroup only once it has memory of its own. Every case runs in a child Node process
// whose survival is the first thing asserted.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { currentLayout } from '../../lib/cgroup/sandbox-cgroup.js';
import { isRoot, root, runNode } from '../helpers/index.js';

const layout = currentLayout();
const memoryHere = layout.v1.has('memory') || (layout.v2?.controllers.includes('memory') === true && layout.v2.ownPath === '/');

/** Whether uid 65534 can create a sandbox cgroup here (a delegated one). */
const nobodyCan =
  isRoot &&
  memoryHere &&
  runNode(`try { await nsbind.sandbox().limits({ memory: '64M' }).run('true'); console.log('yes'); } catch { console.log('no'); }`, { nobody: true })
    .stdout.trim() === 'yes';

const creators = [
  { name: 'root', nobody: false, skip: isRoot && memoryHere ? '' : ' (skipped: needs root and a memory controller for our cgroup)' },
  { name: 'uid 65534', nobody: true, skip: nobodyCan ? '' : ' (skipped: no cgroup is delegated to uid 65534 here)' },
];

function survives(r: ReturnType<typeof runNode>) {
  expect(r.signal).toBe(null);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
}

describe('a memory limit never hurts the caller', () => {
  for (const c of creators) {
    it.skipIf(c.skip !== '')(`${c.name}: '4k', '32k' and '64k', with and without a pid namespace, end in a clear result or a typed error${c.skip}`, () => {
      const r = runNode(
        `const out = [];
         for (const memory of ['4k', '32k', '64k']) for (const pid of [false, true]) {
           const sb = pid ? nsbind.sandbox().pid().limits({ memory }) : nsbind.sandbox().limits({ memory });
           try {
             const x = await sb.run('true', [], { stdio: 'pipe' });
             out.push({ memory, pid, code: x.code, signal: x.signal, reason: x.reason });
           } catch (e) {
             out.push({ memory, pid, error: e instanceof nsbind.NsbindError, code: e.code, option: e.option, hint: e.hint });
           }
         }
         console.log(JSON.stringify(out));`,
        { nobody: c.nobody },
      );
      survives(r);
      const out = JSON.parse(r.stdout);
      expect(out).toHaveLength(6);
      for (const o of out) {
        if (o.error === undefined) {
          // It ran: then it ended as the program did, or by the OOM killer, said so.
          expect(o.reason === 'exit' ? o.code : o.reason).toMatch(/^(0|oom)$/);
        } else {
          expect(o).toMatchObject({ error: true, code: 'ENOMEM', option: 'limits.memory', hint: expect.stringMatching(/raise limits\.memory/) });
        }
      }
    });
  }

  it.skipIf(creators[0].skip !== '')(`the CLI: \`nsbind run --memory 10k -- true\` exits 125 with the reason on stderr${creators[0].skip}`, () => {
    const r = spawnSync(process.execPath, [join(root, 'dist', 'cli', 'main.js'), 'run', '--memory', '10k', '--', 'true'], { encoding: 'utf8' });
    expect(r.signal).toBe(null);
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/^nsbind: setup: ENOMEM .*\n  hint: .*raise limits\.memory/);
  });

  it.skipIf(creators[0].skip !== '')(`a program that eats its limit is OOM-killed alone, and the next sandbox runs${creators[0].skip}`, () => {
    const r = runNode(
      `const hog = 'const k = []; for (;;) k.push(Buffer.alloc(1 << 20, 1))';
       const a = await nsbind.sandbox().limits({ memory: '16M' }).run(process.execPath, ['-e', hog], { stdio: 'pipe' });
       const b = await nsbind.sandbox().pid().limits({ memory: '16M' }).run(process.execPath, ['-e', hog], { stdio: 'pipe' });
       const c = await nsbind.sandbox().limits({ memory: '16M' }).run('echo', ['next'], { stdio: 'pipe' });
       console.log(JSON.stringify([a.reason, b.reason, c.stdout]));`,
    );
    survives(r);
    expect(JSON.parse(r.stdout)).toEqual(['oom', 'oom', 'next\n']);
  });
});

describe.skipIf(creators[0].skip !== '')(`joining a sandbox whose cgroup is at its limit${creators[0].skip}`, () => {
  // The hog holds most of its 48 MiB and waits; then more processes arrive.
  const hogScript = `
    const hog = nsbind.sandbox().limits({ memory: '48M' }).spawn(process.execPath, ['-e',
      'globalThis.k = Buffer.alloc(40 << 20, 1); console.log("full"); setInterval(() => {}, 1000)'], { stdio: 'pipe' });
    await new Promise((r, j) => { hog.once('spawn', r); hog.once('error', j); });
    await new Promise((r) => hog.stdout.once('data', r));
    const line = require('fs').readFileSync('/proc/' + hog.pid + '/cgroup', 'utf8').split('\\n').find((l) => /^\\d+:([^:]*,)?memory(,[^:]*)?:|^0::/.test(l));`;

  it('enter() runs beside it without joining its cgroup (as nsenter does), and the caller lives', () => {
    const r = runNode(
      `${hogScript}
       const x = await nsbind.enter(hog).run('cat', ['/proc/self/cgroup'], { stdio: 'pipe' });
       const mine = x.stdout.split('\\n').find((l) => l.split(':')[0] === line.split(':')[0]);
       hog.kill('SIGKILL');
       await hog.exited;
       console.log(JSON.stringify({ code: x.code, inHogs: mine === line }));`,
    );
    survives(r);
    expect(JSON.parse(r.stdout)).toEqual({ code: 0, inHogs: false });
  });

  it("a process put into that cgroup runs its setup in nsbind-init's own memory: the OOM killer ends sandbox processes, never the caller", () => {
    // The addon's request field that .joinCgroup() (nsenter's --join-cgroup) also uses
    // (lib/cgroup/join.ts; test/cgroup/join.test.ts): the addon forces the setup into the
    // init whenever a cgroup is to be joined.
    const r = runNode(
      `const { addSpawnPreparer } = require(${JSON.stringify(join(root, 'dist', 'spawn.js'))});
       let procs;
       addSpawnPreparer((options, request) => { if (procs) request.cgroupProcs = procs; });
       ${hogScript}
       const [, controllers, path] = line.split(':');
       const base = controllers ? ${JSON.stringify(layout.v1.get('memory')?.mountPoint ?? '')} : ${JSON.stringify(layout.v2?.mountPoint ?? '')};
       procs = [base + path + '/cgroup.procs'];
       const out = [];
       for (const [file, args] of [['true', []], [process.execPath, ['-e', 'Buffer.alloc(32 << 20, 1)']]]) {
         try {
           const x = await nsbind.enter(hog).run(file, args, { stdio: 'pipe' });
           out.push({ ran: true, reason: x.reason, signal: x.signal, code: x.code });
         } catch (e) {
           out.push({ error: e instanceof nsbind.NsbindError, code: e.code });
         }
       }
       procs = undefined;
       hog.kill('SIGKILL');
       const h = await hog.exited;
       console.log(JSON.stringify({ out, hog: h.reason }));`,
    );
    survives(r);
    const { out } = JSON.parse(r.stdout);
    expect(out).toHaveLength(2);
    for (const o of out) {
      if (o.ran) expect([o.reason, o.code]).toEqual(expect.arrayContaining([expect.stringMatching(/^(exit|signal|oom)$/)]));
      else expect(o).toMatchObject({ error: true, code: expect.any(String) });
    }
  });
});
