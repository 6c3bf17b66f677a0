// nsbind/vitest: the per-test isolated sandbox and the doctor()-based skip reason.
import { describe, expect, it } from 'vitest';
import { ownNs } from './helpers.js';
import { isolated, unavailable } from '../lib/vitest.js';

describe('nsbind/vitest', () => {
  // In an ES module, `it.skipIf(await unavailable(...))` reads best; this file is CommonJS.
  it('isolated(): own netns with only lo, own /tmp, own hostname, own pids', async (ctx) => {
    const why = await unavailable('userns', 'namespaces.net');
    if (why) ctx.skip(why);
    const r = await isolated({ hostname: 'unit' }).run('sh', [
      '-c',
      'hostname; tail -n +3 /proc/self/net/dev | cut -d: -f1 | tr -d " \\n"; echo; ls -A /tmp | wc -l; echo $$; readlink /proc/self/ns/net',
    ]);
    const [host, links, tmpCount, pid, net] = r.stdout.trim().split('\n');
    expect(host).toBe('unit');
    expect(links.trim()).toBe('lo');
    expect(tmpCount).toBe('0');
    expect(pid).toBe('2'); // the init is 1
    expect(net).not.toBe(ownNs('net'));
  });

  it('unavailable(): false for what the machine has; a reason with the fix for what it lacks', async () => {
    expect(await unavailable()).toBe(false);
    expect(await unavailable('root')).toBe(process.geteuid?.() === 0 ? false : 'needs root');
    // A check doctor() fails here (or none): its reason is what the skip says.
    const { doctor } = await import('../lib/index.js');
    const r = await doctor();
    if (!r.subuid.ok) expect(await unavailable('subuid')).toContain(r.subuid.reason);
    else expect(await unavailable('subuid')).toBe(false);
  });
});
