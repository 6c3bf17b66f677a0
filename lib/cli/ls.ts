// `nsbind ls [-t TYPE] [--json]`: like lsns, from the library's namespaces.list().
import { NAMESPACE_TYPES } from '../options.js';
import { parseArgs } from './args.js';
import { libraryExport } from './feature.js';
import { LS_HELP } from './help.js';
import { UsageError } from './usage.js';

/** What namespaces.list() resolves to (SPEC 3), as far as `ls` uses it. */
interface Entry {
  type: string;
  inode: number;
  nprocs: number;
  pid: number | null;
  /** null for a namespace no process is in (held by an fd or a bind mount). */
  user: string | number | null;
  command: string | null;
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

function table(list: Entry[]): string {
  const rows = [['NS', 'TYPE', 'NPROCS', 'PID', 'USER', 'COMMAND']];
  for (const e of list) rows.push([String(e.inode), e.type, String(e.nprocs), e.pid == null ? '' : String(e.pid), e.user == null ? '' : String(e.user), e.command ?? '']);
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  // Numbers right-aligned, text left-aligned, the last column not padded (as lsns prints).
  const right = [true, false, true, true, false, false];
  return rows
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : right[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(' '))
    .join('\n') + '\n';
}

export async function main(argv: readonly string[]): Promise<number> {
  const { flags, rest } = parseArgs(
    argv,
    [
      { names: ['--type', '-t'], arity: 1, metavar: ['TYPE'] },
      { names: ['--json', '-J'], arity: 0 },
      { names: ['--help', '-h'], arity: 0 },
    ],
    { command: 'ls', takesCommand: false },
  );
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
  const namespaces = libraryExport<{ list(o?: { type?: string }): Promise<Entry[]> }>('namespaces');
  const list = await namespaces.list(type ? { type } : undefined);
  const json = flags.some((f) => f.name === '--json');
  process.stdout.write(json ? `${JSON.stringify(toLsnsJson(list), null, 2)}\n` : table(list));
  return 0;
}
