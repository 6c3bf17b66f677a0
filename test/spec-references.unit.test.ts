// Code comments cite the contract by section ("SPEC 2.1"): docs/SPEC.md is that contract,
// in the repository, and every section a comment cites must be one of its headings.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { root } from './helpers/index.js';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return f === 'node_modules' || f === 'fixtures' ? [] : files(p);
    return /\.(ts|mts|mjs|cc|h|c)$/.test(f) ? [p] : [];
  });
}

describe('docs/SPEC.md', () => {
  it('has every section that a comment in lib/, native/, scripts/, bench/ or test/ cites', () => {
    const headings = new Set(
      [...readFileSync(join(root, 'docs', 'SPEC.md'), 'utf8').matchAll(/^#{2,3} (\d+(?:\.\d+)?)\.? /gm)].map((m) => m[1]),
    );
    const [h21, h9] = [headings.has('2.1'), headings.has('9')];
    expect([h21, h9]).toEqual([true, true]); // the pattern reads the headings at all
    const cited: string[] = [];
    for (const dir of ['lib', 'native', 'scripts', 'bench', 'test']) {
      for (const f of files(join(root, dir))) {
        for (const m of readFileSync(f, 'utf8').matchAll(/SPEC (?:section )?(\d+(?:\.\d+)?)/g)) {
          if (!headings.has(m[1])) cited.push(`${f.slice(root.length + 1)}: SPEC ${m[1]}`);
        }
      }
    }
    expect(cited).toEqual([]);
  });
});
