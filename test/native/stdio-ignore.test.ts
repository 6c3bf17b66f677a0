// stdio 'ignore' passes a /dev/null descriptor that nsbind opens for the spawn: it must
// stay open until the child (cloned later, on the threadpool) has taken it. Before the
// fix it was closed when spawn() returned and the child failed with EBADF at 'stdio'.
import { describe, expect, it } from 'vitest';
import { sandbox } from '../../lib/index.js';

describe("stdio 'ignore'", () => {
  it('gives the program /dev/null on every spawn, however fast the caller goes on', async () => {
    const sb = sandbox();
    const results = await Promise.all(
      Array.from({ length: 40 }, () => sb.run('sh', ['-c', 'test -c /proc/self/fd/0 && readlink /proc/self/fd/0 >&2'], { stdio: ['ignore', 'pipe', 'pipe'] })),
    );
    for (const r of results) expect(r).toMatchObject({ code: 0, stderr: '/dev/null\n' });
  });
});
