// A root caller's default id maps (lib/namespaces/idmap.ts): as `unshare --map-auto`, with
// the ids of `.as()` mapped to themselves, and never a line the kernel would refuse.
import { describe, expect, it } from 'vitest';
import { mapped, parseSubordinate, rootDefaultMap } from '../../lib/namespaces/idmap.js';
import type { IdMapEntry } from '../../lib/options.js';

/** The kernel refuses lines whose inside or outside ranges overlap. */
function overlaps(map: IdMapEntry[]): boolean {
  for (const side of ['inside', 'outside'] as const) {
    const s = [...map].sort((a, b) => a[side] - b[side]);
    for (let i = 1; i < s.length; i++) if (s[i - 1][side] + s[i - 1].count > s[i][side]) return true;
  }
  return false;
}

describe('root default id maps', () => {
  it("reads root's first range, by name or as 0, and ignores others'", () => {
    expect(parseSubordinate('alice:100000:65536\nroot:200000:65536\nroot:300000:10\n')).toEqual({ start: 200000, count: 65536 });
    expect(parseSubordinate('0:400000:1000\n')).toEqual({ start: 400000, count: 1000 });
    expect(parseSubordinate('alice:100000:65536\n')).toBeUndefined();
    expect(parseSubordinate('')).toBeUndefined();
  });

  it('without a range: inside-root alone, on 65534', () => {
    expect(rootDefaultMap(undefined, 0, [])).toEqual([{ inside: 0, outside: 65534, count: 1 }]);
    expect(rootDefaultMap(undefined, 0, [1000])).toEqual([{ inside: 0, outside: 65534, count: 1 }, { inside: 1000, outside: 1000, count: 1 }]);
  });

  it('with a range: the range at inside 0, .as() ids cut out on both sides and mapped to themselves', () => {
    const range = { start: 100000, count: 65536 };
    expect(rootDefaultMap(range, 0, [])).toEqual([{ inside: 0, outside: 100000, count: 65536 }]);
    const m = rootDefaultMap(range, 0, [1000, 100005, 0]);
    expect(overlaps(m)).toBe(false);
    expect(mapped(m, 0)).toBe(100000);
    expect(mapped(m, 1000)).toBe(1000);
    expect(mapped(m, 100005)).toBe(100005);
    expect(mapped(m, 5)).toBeUndefined(); // its host id went to 100005
    expect(mapped(m, 999)).toBe(100999);
    expect(mapped(m, 1001)).toBe(101001);
  });

  it('never maps host 0', () => {
    for (const m of [rootDefaultMap(undefined, 0, [0]), rootDefaultMap({ start: 100000, count: 10 }, 0, [0, 1])]) {
      expect(m.some((e) => e.outside === 0)).toBe(false);
    }
  });
});
