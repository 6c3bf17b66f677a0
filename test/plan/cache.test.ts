// A Sandbox compiles its plan once and reuses it (lib/plan.ts planCache). The cached plan
// must never be stale: what a spawn passes (argv), and the host state a plan reads at
// spawn time (cwd, PATH), are what the program sees on every spawn.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sandbox } from '../../lib/index.js';
import { compile } from '../../lib/plan.js';

const dir = mkdtempSync(join(tmpdir(), 'nsbind-plan-cache-'));
// The program runs as an unprivileged host id (root's default map, SPEC 2.1): it must be able to enter.
chmodSync(dir, 0o755);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the plan cache', () => {
  it('is used: a second spawn of the same program gets the same compiled plan', () => {
    const sb = sandbox().pid().net();
    const a = compile(sb.options, { file: '/bin/true', args: [], nfds: 3 });
    const b = compile(sb.options, { file: '/bin/true', args: ['x'], nfds: 3 });
    expect(b.request.plan).toBe(a.request.plan);
    expect(b.request.argv).toEqual(['/bin/true', 'x']);
    expect(a.request.argv).toEqual(['/bin/true']);
    // Another program, another stdio width, an environment of its own: compiled anew.
    expect(compile(sb.options, { file: '/bin/false', args: [], nfds: 3 }).request.plan).not.toBe(a.request.plan);
    expect(compile(sb.options, { file: '/bin/true', args: [], nfds: 4 }).request.plan).not.toBe(a.request.plan);
    expect(compile(sb.options, { file: '/bin/true', args: [], nfds: 3, env: {} }).request.plan).not.toBe(a.request.plan);
    // Another Sandbox (other options object): its own plans.
    expect(compile(sb.uts().options, { file: '/bin/true', args: [], nfds: 3 }).request.plan).not.toBe(a.request.plan);
  });

  it('passes each spawn its own arguments and argv0', async () => {
    const sb = sandbox().pid();
    expect((await sb.run('/bin/echo', ['one'])).stdout).toBe('one\n');
    expect((await sb.run('/bin/echo', ['two', 'three'])).stdout).toBe('two three\n');
    expect((await sb.run('/bin/sh', ['-c', 'echo $0'], { argv0: 'probe-argv0' })).stdout).toBe('probe-argv0\n');
  });

  it('follows process.chdir (the default cwd is read at spawn time)', async () => {
    const sb = sandbox();
    const before = process.cwd();
    try {
      process.chdir(dir);
      expect((await sb.run('/bin/pwd')).stdout).toBe(`${dir}\n`);
      process.chdir('/');
      expect((await sb.run('/bin/pwd')).stdout).toBe('/\n');
    } finally {
      process.chdir(before);
    }
  });

  it('follows PATH changes for a program named without a slash', async () => {
    for (const d of ['a', 'b']) {
      const bin = join(dir, d);
      rmSync(bin, { recursive: true, force: true });
      mkdirSync(bin, { recursive: true });
      writeFileSync(join(bin, 'nsbind-plan-cache-probe'), `#!/bin/sh\necho ${d}\n`);
      chmodSync(join(bin, 'nsbind-plan-cache-probe'), 0o755);
    }
    const sb = sandbox();
    const path = process.env.PATH;
    try {
      process.env.PATH = `${join(dir, 'a')}:${path}`;
      expect((await sb.run('nsbind-plan-cache-probe')).stdout).toBe('a\n');
      process.env.PATH = `${join(dir, 'b')}:${path}`;
      expect((await sb.run('nsbind-plan-cache-probe')).stdout).toBe('b\n');
    } finally {
      process.env.PATH = path;
    }
  });
});

