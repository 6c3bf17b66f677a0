// `nsbind netns add|delete|list|exec NAME`: named network namespaces, shared with `ip netns`.
import type { Sandbox } from '../sandbox.js';
import { parseArgs, type FlagSpec } from './args.js';
import { call } from './builder.js';
import { libraryExport } from './feature.js';
import { NETNS_HELP } from './help.js';
import { supervise } from './supervise.js';
import { UsageError } from './usage.js';

interface Netns {
  add(name: string): Promise<void>;
  delete(name: string): Promise<void>;
  list(): Promise<string[]>;
}

export const NETNS_FLAGS: FlagSpec[] = [
  { names: ['--json', '-J'], arity: 0 },
  { names: ['--help', '-h'], arity: 0 },
];

const netns = () => libraryExport<Netns>('netns');

export async function main(argv: readonly string[]): Promise<number> {
  const [verb, ...args] = argv;
  if (verb === undefined) throw new UsageError('netns', 'missing action: add, delete, list or exec');
  if (verb === '--help' || verb === '-h') {
    process.stdout.write(NETNS_HELP);
    return 0;
  }
  const { flags, rest } = verb === 'exec' ? parseExecArgs(args) : parseArgs(args, NETNS_FLAGS, { command: 'netns', takesCommand: false });
  if (flags.some((f) => f.name === '--help')) {
    process.stdout.write(NETNS_HELP);
    return 0;
  }
  const json = flags.some((f) => f.name === '--json');
  const one = (what: string): string => {
    if (rest.length === 0) throw new UsageError('netns', `${verb}: missing NAME`);
    if (rest.length > 1) throw new UsageError('netns', `${verb}: unexpected argument '${rest[1]}'`);
    if (json) throw new UsageError('netns', `--json: only for list, not ${what}`);
    return rest[0];
  };
  switch (verb) {
    case 'add': {
      const name = one('add');
      await netns().add(name);
      return 0;
    }
    case 'delete':
    case 'del': {
      const name = one('delete');
      await netns().delete(name);
      return 0;
    }
    case 'list':
    case 'ls': {
      if (rest.length > 0) throw new UsageError('netns', `list: unexpected argument '${rest[0]}'`);
      const names = await netns().list();
      process.stdout.write(json ? `${JSON.stringify(names.map((name) => ({ name })))}\n` : names.map((n) => `${n}\n`).join(''));
      return 0;
    }
    case 'exec': {
      const [name, ...cmd] = rest;
      if (name === undefined) throw new UsageError('netns', 'exec: missing NAME');
      if (cmd.length === 0) throw new UsageError('netns', 'exec: missing command: nsbind netns exec NAME [--] CMD [ARGS...]');
      netns(); // a clear error when this build has no netns support
      const { sandbox } = require('../index.js') as typeof import('../index.js');
      const sb: Sandbox = call(sandbox(), 'netns', 'exec', 'net', { join: name });
      return supervise(sb, cmd);
    }
    default:
      throw new UsageError('netns', `unknown action '${verb}' (add, delete, list, exec)`);
  }
}

/** `exec NAME [--] CMD...`: flags, then NAME, then the command (after an optional `--`). */
function parseExecArgs(args: readonly string[]) {
  const i = args.findIndex((a) => !a.startsWith('-') || a === '--');
  const head = i < 0 ? [...args] : args.slice(0, i);
  const parsed = parseArgs(head, NETNS_FLAGS, { command: 'netns', takesCommand: false });
  if (i < 0) return parsed;
  let rest = args.slice(i);
  if (rest[0] === '--') rest = rest.slice(1);
  const [name, ...cmd] = rest;
  return { flags: parsed.flags, rest: name === undefined ? [] : [name, ...(cmd[0] === '--' ? cmd.slice(1) : cmd)] };
}
