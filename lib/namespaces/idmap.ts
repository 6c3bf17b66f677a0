// The id maps of a sandbox's user namespace (SPEC 2.1): "the program is never host root
// unless asked".
//
// An unprivileged caller's own uid/gid map to `uid`/`gid` inside (default 0): nothing else is
// its to give without newuidmap. A root caller could map anything, and used to map inside-0
// to host 0: a program without capabilities was still host root for the filesystem (root's
// 0644 files, the addon, /proc/sys) and for cgroupfs. Its default is now what
// `unshare --map-auto` does: inside-0 is the first range of `root` (or `0`) in
// /etc/subuid and /etc/subgid, else 65534 ("nobody") alone. The ids given to `.as()` are
// added as themselves (inside 1000 = host 1000), so `.as({ uid: 1000 })` runs as host uid
// 1000, as it reads; 0 never is. An explicit uidMap/gidMap is taken as written.
import { readFileSync } from 'node:fs';
import { subidRanges, type IdRange } from '../doctor/ids.js';
import type { IdMapEntry } from '../options.js';

/** The unprivileged host id a root caller's inside-root gets without a subordinate range. */
export const NOBODY = 65534;

/**
 * The first range of `root` (by name or as `0`) in a subuid/subgid file, as
 * `unshare --map-auto` and newuidmap read it; undefined without one.
 */
export function parseSubordinate(text: string): IdRange | undefined {
  return subidRanges(text, 'root', 0).find((r) => r.start > 0 && r.start + r.count <= 0xffffffff);
}

// Read once per process: a spawn costs no file read for it (the files change rarely, and
// a long-running process sees a new range after a restart, as with newuidmap's users).
const cache = new Map<string, IdRange | null>();

/** Root's subordinate range in `file` (/etc/subuid or /etc/subgid), cached. */
export function rootRange(file: string): IdRange | undefined {
  let r = cache.get(file);
  if (r === undefined) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      // No file: no range.
    }
    r = parseSubordinate(text) ?? null;
    cache.set(file, r);
  }
  return r ?? undefined;
}

const ownMaps = new Map<string, IdMapEntry[]>();
let ownSetgroups: boolean | undefined;

/** Whether this process's own user namespace allows setgroups (/proc/self/setgroups, read once). */
export function ownSetgroupsAllowed(): boolean {
  if (ownSetgroups === undefined) {
    try {
      ownSetgroups = readFileSync('/proc/self/setgroups', 'utf8').trim() !== 'deny';
    } catch {
      ownSetgroups = true;
    }
  }
  return ownSetgroups;
}

/**
 * Whether ids [start, start+count) exist in this process's own user namespace
 * (/proc/self/uid_map or gid_map, read once): only those can be outside ids of a map. In
 * the initial namespace every id does; "root" of a rootless container may have only itself.
 */
export function ownNamespaceHas(kind: 'uid' | 'gid', start: number, count: number): boolean {
  let map = ownMaps.get(kind);
  if (!map) {
    map = [];
    try {
      for (const line of readFileSync(`/proc/self/${kind}_map`, 'utf8').split('\n')) {
        const [inside, outside, n] = line.trim().split(/\s+/).map(Number);
        if (n > 0) map.push({ inside, outside, count: n });
      }
    } catch {
      map.push({ inside: 0, outside: 0, count: 0xffffffff });
    }
    ownMaps.set(kind, map);
  }
  return map.some((e) => start >= e.inside && start + count <= e.inside + e.count);
}

/**
 * A root caller's default for one kind of id: its subordinate range, else 65534, where its
 * own user namespace has them; undefined where it has neither (root of a rootless
 * container, which can map only itself: it is then treated as any unprivileged caller).
 */
export function rootBase(kind: 'uid' | 'gid'): { range?: IdRange } | undefined {
  const range = rootRange(kind === 'uid' ? '/etc/subuid' : '/etc/subgid');
  if (range && ownNamespaceHas(kind, range.start, range.count)) return { range };
  return ownNamespaceHas(kind, NOBODY, 1) ? {} : undefined;
}

/**
 * A root caller's default map: `base` (its range at inside 0, else inside `self` -> 65534)
 * with each id in `same` (from `.as()`) mapped to itself. The kernel refuses two lines that
 * overlap inside or outside, so an identity id is cut out of the range on both sides.
 */
export function rootDefaultMap(range: IdRange | undefined, self: number, same: Iterable<number>): IdMapEntry[] {
  let map: IdMapEntry[] = range ? [{ inside: 0, outside: range.start, count: range.count }] : [{ inside: self, outside: NOBODY, count: 1 }];
  const ids = [...new Set(same)].filter((id) => id !== 0).sort((a, b) => a - b);
  for (const id of ids) {
    map = map.flatMap((e) => cut(cut([e], id, 'inside'), id, 'outside'));
    map.push({ inside: id, outside: id, count: 1 });
  }
  return map.sort((a, b) => a.inside - b.inside);
}

/** `entries` without the id `id` on the given side. */
function cut(entries: IdMapEntry[], id: number, side: 'inside' | 'outside'): IdMapEntry[] {
  return entries.flatMap((e) => {
    const off = id - e[side];
    if (off < 0 || off >= e.count) return [e];
    const out: IdMapEntry[] = [];
    if (off > 0) out.push({ inside: e.inside, outside: e.outside, count: off });
    if (off + 1 < e.count) out.push({ inside: e.inside + off + 1, outside: e.outside + off + 1, count: e.count - off - 1 });
    return out;
  });
}

/** The host id `inside` maps to, or undefined when it is not mapped. */
export function mapped(map: IdMapEntry[], inside: number): number | undefined {
  for (const e of map) if (inside >= e.inside && inside - e.inside < e.count) return e.outside + (inside - e.inside);
  return undefined;
}
