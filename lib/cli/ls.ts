// `nsbind ls`: like lsns (its flags and output), from the library's namespaces.list().
import { statSync } from 'node:fs';
import { netnsIds } from '../namespaces/netns-id.js';
import { NAMESPACE_TYPES } from '../options.js';
import { parseArgs, type FlagSpec } from './args.js';
import { libraryExport } from './feature.js';
import { LS_HELP } from './help.js';
import { UsageError } from './usage.js';

/** What namespaces.list() resolves to (SPEC 3), as far as `ls` uses it. */
interface Entry {
  type: string;
  inode: number;
  nprocs: number;
  pid: number | null;
  ppid?: number;
  /** null for a namespace no process is in (held by an fd or a bind mount). */
  user: string | number | null;
  command: string | null;
  paths?: string[];
  parent?: number;
  owner?: number;
  /** NETNSID, filled in by `ls` for network namespaces when the column is shown. */
  netnsid?: number | 'unassigned' | null;
}

/** lsns's columns, in lsns's --output-all order, with how each is read from an entry. */
const COLUMNS: Record<string, { json: string; right: boolean; get: (e: Entry) => string | number | null }> = {
  NS: { json: 'ns', right: true, get: (e) => e.inode },
  TYPE: { json: 'type', right: false, get: (e) => e.type },
  PATH: { json: 'path', right: false, get: (e) => e.paths?.find((p) => p.startsWith('/proc/')) ?? null },
  NPROCS: { json: 'nprocs', right: true, get: (e) => e.nprocs },
  PID: { json: 'pid', right: true, get: (e) => e.pid ?? null },
  PPID: { json: 'ppid', right: true, get: (e) => e.ppid ?? null },
  COMMAND: { json: 'command', right: false, get: (e) => e.command ?? null },
  UID: { json: 'uid', right: true, get: (e) => uidOf(e) },
  USER: { json: 'user', right: false, get: (e) => (typeof e.user === 'number' ? String(e.user) : e.user ?? null) },
  NETNSID: { json: 'netnsid', right: true, get: (e) => e.netnsid ?? null },
  NSFS: { json: 'nsfs', right: false, get: (e) => e.paths?.filter((p) => !p.startsWith('/proc/')).join(',') || null },
  PNS: { json: 'pns', right: true, get: (e) => e.parent ?? 0 },
  ONS: { json: 'ons', right: true, get: (e) => e.owner ?? 0 },
};
const DEFAULT_COLUMNS = ['NS', 'TYPE', 'NPROCS', 'PID', 'USER', 'COMMAND'];
/** lsns -t net's defaults. */
const NET_COLUMNS = ['NS', 'TYPE', 'NPROCS', 'PID', 'USER', 'NETNSID', 'NSFS', 'COMMAND'];

function uidOf(e: Entry): number | null {
  if (e.pid == null) return null;
  try {
    return statSync(`/proc/${e.pid}`).uid;
  } catch {
    return null;
  }
}

/** `-o NS,TYPE` / `-o +PATH` (lsns: a leading + adds to the defaults). */
export function columnsOf(spec: string | undefined, all: boolean, type?: string): string[] {
  const defaults = type === 'net' ? NET_COLUMNS : DEFAULT_COLUMNS;
  if (all) return Object.keys(COLUMNS);
  if (spec === undefined) return defaults;
  const add = spec.startsWith('+');
  const names = (add ? spec.slice(1) : spec).split(',').filter(Boolean).map((c) => c.toUpperCase());
  for (const n of names) {
    if (!Object.hasOwn(COLUMNS, n)) throw new UsageError('ls', `--output: unknown column '${n}' (${Object.keys(COLUMNS).join(', ')})`);
  }
  return add ? [...defaults, ...names.filter((n) => !defaults.includes(n))] : names;
}

/** The namespace above `e` in a tree by owner or by parent. */
function up(e: Entry, rel: 'owner' | 'parent'): number | undefined {
  // By parent, as lsns: only user and pid namespaces have one; the others are roots.
  return rel === 'owner' ? e.owner : e.type === 'user' || e.type === 'pid' ? e.parent : undefined;
}

/** `chosen` and, as lsns -T -p draws them, every namespace above one of them. */
export function withAncestors(all: Entry[], chosen: Entry[], rel: 'owner' | 'parent'): Entry[] {
  const byInode = new Map(all.map((e) => [e.inode, e]));
  const keep = new Set(chosen);
  for (const e of chosen) {
    for (let a = byInode.get(up(e, rel) ?? -1), n = 0; a && !keep.has(a) && n < 64; a = byInode.get(up(a, rel) ?? -1), n++) keep.add(a);
  }
  return all.filter((e) => keep.has(e));
}

/** The rows in tree order with their prefixes (`├─`, `└─`), by owner or by parent. */
export function treeOrder(list: Entry[], rel: 'owner' | 'parent'): { e: Entry; prefix: string }[] {
  const byInode = new Map(list.map((e) => [e.inode, e]));
  const children = new Map<number, Entry[]>();
  const roots: Entry[] = [];
  for (const e of list) {
    const above = up(e, rel);
    if (above !== undefined && above !== e.inode && byInode.has(above)) {
      if (!children.has(above)) children.set(above, []);
      children.get(above)!.push(e);
    } else roots.push(e);
  }
  const out: { e: Entry; prefix: string }[] = [];
  const walk = (e: Entry, lead: string, branch: string, depth: number) => {
    out.push({ e, prefix: lead + branch });
    const kids = depth > 64 ? [] : (children.get(e.inode) ?? []);
    kids.forEach((k, i) => {
      const last = i === kids.length - 1;
      walk(k, lead + (branch === '' ? '' : branch === '├─' ? '│ ' : '  '), last ? '└─' : '├─', depth + 1);
    });
  };
  for (const r of roots) walk(r, '', '', 0);
  return out;
}

/** lsns's JSON keys: ns, type, nprocs, pid, user, command. */
export function toLsnsJson(list: Entry[]): { namespaces: object[] } {
  return {
    namespaces: list.map((e) => ({
      ns: e.inode,
      type: e.type,
      nprocs: e.nprocs,
      pid: e.pid ?? null,
      user: typeof e.user === 'number' ? String(e.user) : e.user ?? null,
      command: e.command ?? null,
    })),
  };
}

/** How the table is printed: lsns's -n, -r and -T. */
interface TableStyle {
  tree?: 'owner' | 'parent';
  headings: boolean;
  raw: boolean;
}

/** lsns's raw output: what would break a space-separated line, as \xHH of its UTF-8 bytes. */
export function rawEscape(s: string): string {
  return [...Buffer.from(s, 'utf8')].map((b) => (b <= 0x20 || b >= 0x7f || b === 0x5c ? `\\x${b.toString(16).padStart(2, '0')}` : String.fromCharCode(b))).join('');
}

function table(list: Entry[], columns: string[], style: TableStyle): string {
  const { tree, raw } = style;
  const rows = style.headings ? [columns] : [];
  const ordered = tree ? treeOrder(list, tree) : list.map((e) => ({ e, prefix: '' }));
  for (const { e, prefix } of ordered) {
    rows.push(columns.map((c, i) => {
      const v = COLUMNS[c].get(e);
      const cell = (i === 0 ? prefix : '') + (v == null ? '' : String(v));
      return raw ? rawEscape(cell) : cell;
    }));
  }
  if (rows.length === 0) return '';
  if (raw) return rows.map((r) => r.join(' ')).join('\n') + '\n';
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  // Numbers right-aligned, text left-aligned, the last column not padded (as lsns prints);
  // a tree's first column is left-aligned so the branches line up.
  const right = columns.map((c, i) => COLUMNS[c].right && !(tree && i === 0));
  return rows
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : right[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(' '))
    .join('\n') + '\n';
}

/** lsns's flags (`nsbind ls --help` lists each). */
export const LS_FLAGS: FlagSpec[] = [
  { names: ['--type', '-t'], arity: 1, metavar: ['TYPE'] },
  { names: ['--json', '-J'], arity: 0 },
  { names: ['--output', '-o'], arity: 1, metavar: ['LIST'] },
  { names: ['--output-all'], arity: 0 },
  { names: ['--tree', '-T'], arity: 'optional', metavar: ['owner|parent'] },
  { names: ['--task', '-p'], arity: 1, metavar: ['PID'] },
  { names: ['--noheadings', '-n'], arity: 0 },
  { names: ['--raw', '-r'], arity: 0 },
  { names: ['--list', '-l'], arity: 0 },
  { names: ['--notruncate', '-u'], arity: 0 },
  { names: ['--nowrap', '-W'], arity: 0 },
  { names: ['--help', '-h'], arity: 0 },
];

/** `-p PID`: the inode of each namespace the process is in, by type (namespaces.of()). */
function namespacesOfTask(flag: { given: string; values: string[] }): Map<string, number> {
  const v = flag.values[0];
  if (!/^[1-9][0-9]*$/.test(v)) throw new UsageError('ls', `${flag.given}: expected a process id, got '${v}'`);
  const namespaces = libraryExport<{ of(pid: number): Record<string, { inode: number }> }>('namespaces');
  try {
    return new Map(Object.entries(namespaces.of(Number(v))).map(([t, id]) => [t, id.inode]));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError('ls', `${flag.given}: cannot read the namespaces of process ${v} (${code === 'ESRCH' ? 'no such process' : code})`);
  }
}

export async function main(argv: readonly string[]): Promise<number> {
  const { flags, rest } = parseArgs(argv, LS_FLAGS, { command: 'ls', takesCommand: false });
  if (flags.some((f) => f.name === '--help')) {
    process.stdout.write(LS_HELP);
    return 0;
  }
  if (rest.length > 0) throw new UsageError('ls', `unexpected argument '${rest[0]}'`);
  const typeFlag = flags.filter((f) => f.name === '--type').pop();
  let type: string | undefined;
  if (typeFlag) {
    type = typeFlag.values[0] === 'mount' ? 'mnt' : typeFlag.values[0];
    if (!(NAMESPACE_TYPES as readonly string[]).includes(type)) {
      throw new UsageError('ls', `${typeFlag.given}: unknown namespace type '${typeFlag.values[0]}' (${NAMESPACE_TYPES.join(', ')})`);
    }
  }
  const taskFlag = flags.filter((f) => f.name === '--task').pop();
  const task = taskFlag ? namespacesOfTask(taskFlag) : undefined;
  const namespaces = libraryExport<{ list(o?: { type?: string }): Promise<Entry[]> }>('namespaces');
  const all = await namespaces.list(type ? { type } : undefined);
  let list = task ? all.filter((e) => task.get(e.type) === e.inode) : all;
  const json = flags.some((f) => f.name === '--json');
  const outputFlag = flags.filter((f) => f.name === '--output').pop();
  const columns = columnsOf(outputFlag?.values[0], flags.some((f) => f.name === '--output-all'), type);
  if (columns.includes('NETNSID')) {
    const ids = await netnsIds(list.filter((e) => e.type === 'net'));
    for (const e of list) if (ids.has(e)) e.netnsid = ids.get(e);
  }
  // --list is the default format already; with --tree too, lsns (2.38) draws the tree.
  const treeFlag = flags.filter((f) => f.name === '--tree').pop();
  let tree: 'owner' | 'parent' | undefined;
  if (treeFlag) {
    const rel = treeFlag.values[0] ?? 'owner';
    if (rel !== 'owner' && rel !== 'parent') throw new UsageError('ls', `${treeFlag.given}: '${rel}' is not supported (owner or parent)`);
    tree = rel;
    if (task) list = withAncestors(all, list, tree);
  }
  if (json && (outputFlag || flags.some((f) => f.name === '--output-all') || type === 'net')) {
    const rows = list.map((e) => Object.fromEntries(columns.map((c) => [COLUMNS[c].json, COLUMNS[c].get(e)])));
    process.stdout.write(`${JSON.stringify({ namespaces: rows }, null, 2)}\n`);
  } else {
    const style = { tree, headings: !flags.some((f) => f.name === '--noheadings'), raw: flags.some((f) => f.name === '--raw') };
    process.stdout.write(json ? `${JSON.stringify(toLsnsJson(list), null, 2)}\n` : table(list, columns, style));
  }
  return 0;
}
