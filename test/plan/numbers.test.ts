// Every number the plan shares between C++ and TypeScript, compared exhaustively.
// native/plan.h is the source of truth; lib/plan/layout.ts mirrors it by name. This reads
// the header's text, so an op, syscall id, step or flag added on one side only — or two
// branches that picked the same number — fails here, by name, before anything runs.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as L from '../../lib/plan/layout.js';
import { root } from '../helpers/index.js';

const header = readFileSync(join(root, 'native', 'plan.h'), 'utf8');

/** `NAME = value` pairs of one `enum <name> ... { ... };` block of plan.h. */
function enumBlock(name: string): Map<string, number> {
  const m = new RegExp(`enum ${name}[^{]*\\{([\\s\\S]*?)\\};`).exec(header);
  if (!m) throw new Error(`plan.h has no enum ${name}`);
  const out = new Map<string, number>();
  for (const [, k, v] of m[1].matchAll(/\b(NSB_\w+)\s*=\s*(-?\d+)/g)) out.set(k, Number(v));
  return out;
}

/** `#define PREFIXNAME value` lines of plan.h (value as `(-3)`, `3` or `3u`). */
function defines(prefix: string): Map<string, number> {
  const out = new Map<string, number>();
  const re = new RegExp(`^#define ${prefix}(\\w+)\\s+\\(?(-?\\d+)u?\\)?`, 'gm');
  for (const [, k, v] of header.matchAll(re)) out.set(k, Number(v));
  return out;
}

function strip(map: Map<string, number>, prefix: string, skip: string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of map) {
    const short = k.slice(prefix.length);
    if (!skip.includes(short)) out.set(short, v);
  }
  return out;
}

function unique(values: number[]): number[] {
  return values.filter((v, i) => values.indexOf(v) !== i);
}

describe('numbers shared by native/plan.h and lib/plan/layout.ts', () => {
  it('every op kind, both ways, by name', () => {
    const ops = strip(enumBlock('nsb_op_kind'), 'NSB_OP_', ['NONE', 'COUNT']);
    expect(ops.size).toBeGreaterThan(20);
    expect(Object.fromEntries(ops)).toEqual({ ...L.Op });
    expect(unique([...ops.values()])).toEqual([]);
    const count = enumBlock('nsb_op_kind').get('NSB_OP_COUNT')!;
    for (const [k, v] of ops) expect(v, k).toBeLessThan(count);
  });

  it('every syscall id has a name in TS, and TS names no id the header lacks', () => {
    const sys = strip(enumBlock('nsb_syscall_id'), 'NSB_SYS_', ['NONE', 'COUNT']);
    expect(unique([...sys.values()])).toEqual([]);
    const ids = new Set(sys.values());
    for (const [k, v] of sys) expect(L.syscallNames[v], `NSB_SYS_${k} = ${v}`).toBeTruthy();
    for (const id of Object.keys(L.syscallNames).map(Number)) {
      if (id !== 0) expect(ids.has(id), `syscallNames[${id}] (${L.syscallNames[id]})`).toBe(true);
    }
  });

  it('every step, both ways, by name', () => {
    const steps = defines('NSB_STEP_');
    expect(Object.fromEntries(steps)).toEqual({ ...L.Step });
    expect(unique([...steps.values()])).toEqual([]);
    for (const [k, v] of steps) expect(v, k).toBeLessThan(0);
  });

  it('every filesystem flag, both ways, each its own bit', () => {
    const flags = defines('NSB_FS_');
    expect(Object.fromEntries(flags)).toEqual({ ...L.FsFlag });
    for (const [k, v] of flags) expect(v & (v - 1), `${k} = ${v} is one bit`).toBe(0);
    expect(unique([...flags.values()])).toEqual([]);
  });

  it('every report kind, both ways', () => {
    const kinds = strip(enumBlock('nsb_report_kind'), 'NSB_REPORT_', []);
    expect(Object.fromEntries(kinds)).toEqual({ ...L.Report });
  });
});
