// Every ```js example in README.md's "Examples" section is a complete program: run each
// against this checkout (as the installed package `nsbind`) and require exit 0 — the
// examples assert what they claim.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot, root } from './helpers/index.js';
import { native } from '../lib/binding.js';

/**
 * Why an example cannot hold on this kernel, or ''. "An untrusted command" writes its
 * project in tmpdir() as root: the program runs as an unprivileged host id and writes
 * through an idmapped bind, which tmpfs has from Linux 6.3 only (before, the bind stays
 * plain: README, Kernels).
 */
function cannotHold(title: string): string {
  if (!isRoot || !title.startsWith('An untrusted command')) return '';
  const b = native();
  const fd = b.openTree(tmpdir());
  if (fd < 0) return '';
  try {
    return b.idmapTree(fd, 0, 65534, 0, 65534) === -22 ? ' (skipped: this kernel cannot idmap tmpdir()\'s filesystem, tmpfs needs Linux 6.3: the program cannot write the root-owned project)' : '';
  } finally {
    b.close(fd);
  }
}

const readme = readFileSync(join(root, 'README.md'), 'utf8');
const section = readme.slice(readme.indexOf('## Examples'), readme.indexOf('\n## ', readme.indexOf('## Examples') + 5));
const blocks = [...section.matchAll(/\*\*(.+?)\*\*\n\n```js\n([\s\S]*?)```/g)].map((m) => ({ title: m[1], code: m[2] }));

describe.skipIf(!isRoot)('README examples (run as root, as written)', () => {
  // Made here, not at the top of the file: a file whose tests are all skipped runs no
  // afterAll, and the directory would stay behind.
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'nsbind-readme-'));
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(root, join(dir, 'node_modules', 'nsbind'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('has a dozen examples', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(12);
  });
  for (const [i, { title, code }] of blocks.entries()) {
    const why = cannotHold(title);
    it.skipIf(why !== '')(title + why, () => {
      const file = join(dir, `example-${i}.mjs`);
      writeFileSync(file, code);
      const r = spawnSync(process.execPath, [file], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    });
  }
});
