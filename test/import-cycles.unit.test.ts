// lib/ has no import cycle, type-only imports included: each module can be read (and
// loaded) after the ones it names. Read from the TypeScript sources' import statements;
// a cycle is reported as the list of files around it.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const LIB = join(__dirname, '..', 'lib');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return p.endsWith('.ts') && !p.endsWith('.d.ts') ? [p] : [];
  });
}

// `import ... from 'x'`, `export ... from 'x'`, `import 'x'`, `import('x')`, `require('x')`.
const SPECIFIER = /\b(?:import|export)\b[^'";]*?\bfrom\s*['"]([^'"]+)['"]|\bimport\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)|\brequire\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Relative specifiers of a module's source, resolved to files that exist. */
export function importsOf(file: string, src: string): string[] {
  const out: string[] = [];
  for (const m of src.matchAll(SPECIFIER)) {
    const spec = m[1] ?? m[2] ?? m[3] ?? m[4];
    if (!spec.startsWith('.')) continue;
    const base = join(dirname(file), spec.replace(/\.(m?js|ts)$/, ''));
    const target = [`${base}.ts`, join(base, 'index.ts')].find((p) => existsSync(p));
    if (target) out.push(target);
  }
  return out;
}

/** Every strongly connected set of more than one module (or a module importing itself). */
export function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

describe('imports in lib/', () => {
  it('form no cycle', () => {
    const graph = new Map(sources(LIB).map((f) => [f, importsOf(f, readFileSync(f, 'utf8'))]));
    expect(graph.size).toBeGreaterThan(50);
    // The resolver sees the imports (plan.ts imports the compile phases).
    expect(graph.get(join(LIB, 'plan.ts'))).toContain(join(LIB, 'fs', 'compile.ts'));
    expect(cycles(graph).map((c) => c.map((f) => relative(LIB, f)))).toEqual([]);
  });

  it('the check finds a cycle, type-only imports and index modules included', () => {
    const a = join(LIB, 'a.ts');
    const b = join(LIB, 'x', 'b.ts');
    expect(cycles(new Map([[a, [b]], [b, [a]]]))).toEqual([[a, b].sort()]);
    expect(cycles(new Map([[a, [b]], [b, []]]))).toEqual([]);
    expect(cycles(new Map([[a, [a]]]))).toEqual([[a]]);
    const src = "import './fs/index.js';\nexport type { X } from './fork.js';\nimport type {\n  Y,\n} from './spawn-types.js';\nimport { z } from 'node:fs';";
    expect(importsOf(join(LIB, 'index.ts'), src)).toEqual([join(LIB, 'fs', 'index.ts'), join(LIB, 'fork.ts'), join(LIB, 'spawn-types.ts')]);
  });
});
