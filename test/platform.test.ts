// SPEC 1: on another OS, importing works and every call throws (or rejects with)
// NsbindError code ENOTSUP. Simulated in a child process whose process.platform says darwin.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { root } from './helpers/index.js';

it('off Linux, importing works and every call is ENOTSUP', () => {
  const r = spawnSync(process.execPath, ['-e', `
    Object.defineProperty(process, 'platform', { value: 'darwin' });
    const n = require(${JSON.stringify(join(root, 'dist/index.js'))});
    const s = require(${JSON.stringify(join(root, 'dist/syscalls.js'))});
    const out = {};
    const sync = (k, f) => { try { f(); out[k] = 'returned'; } catch (e) { out[k] = e.code; } };
    const later = async (k, f) => { try { await f(); out[k] = 'resolved'; } catch (e) { out[k] = e.code; } };
    (async () => {
      sync('spawn', () => n.sandbox().spawn('true'));
      sync('of', () => n.namespaces.of());
      sync('enter', () => n.enter(1));
      sync('netnsPath', () => n.netns.path('x'));
      sync('unshare', () => s.unshare(0));
      await later('run', () => n.sandbox().run('true'));
      await later('fork', async () => n.sandbox().fork(${JSON.stringify(join(root, 'dist/index.js'))}));
      await later('list', () => n.namespaces.list());
      await later('doctor', () => n.doctor());
      await later('netnsList', () => n.netns.list());
      await later('netnsAdd', () => n.netns.add('x'));
      await later('move', () => n.links.move('x', 1));
      console.log(JSON.stringify(out));
    })();
  `], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  const out = JSON.parse(r.stdout);
  for (const [k, v] of Object.entries(out)) expect(v, k).toBe('ENOTSUP');
  expect(Object.keys(out)).toHaveLength(12);
});
