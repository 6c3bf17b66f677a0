// `nsbind exec --target PID [--net ...|--all] [--] CMD`: like nsenter, through the
// library's enter() (all or the listed namespaces of a process) and `{ join: FILE }`.
import { readFileSync } from 'node:fs';
import type { NamespaceType } from '../options.js';
import type { Sandbox } from '../sandbox.js';
import { parseArgs, type FlagSpec } from './args.js';
import { call } from './builder.js';
import { methodOf } from '../namespaces/types.js';
import { libraryExport } from './feature.js';
import { EXEC_HELP } from './help.js';
import { supervise } from './supervise.js';
import { UsageError } from './usage.js';

const TYPES: [NamespaceType, string, string][] = [
  ['user', 'user', 'U'], ['pid', 'pid', 'p'], ['mnt', 'mount', 'm'], ['uts', 'uts', 'u'],
  ['ipc', 'ipc', 'i'], ['net', 'net', 'n'], ['cgroup', 'cgroup', 'C'], ['time', 'time', 'T'],
];

/** nsenter's flags (`nsbind exec --help` lists each). */
export const EXEC_FLAGS: FlagSpec[] = [
  { names: ['--target', '-t'], arity: 1, metavar: ['PID'] },
  { names: ['--all', '-a'], arity: 0 },
  ...TYPES.map(([, long, short]) => ({ names: [`--${long}`, `-${short}`], arity: 'optional', metavar: ['FILE'] }) as FlagSpec),
  { names: ['--setuid', '-S'], arity: 1, metavar: ['UID'] },
  { names: ['--setgid', '-G'], arity: 1, metavar: ['GID'] },
  { names: ['--wd', '-w'], arity: 1, metavar: ['DIR'] },
  { names: ['--no-fork', '-F'], arity: 0 },
  { names: ['--preserve-credentials'], arity: 0 },
  { names: ['--env', '-e'], arity: 0 },
  { names: ['--join-cgroup', '-c'], arity: 0 },
  { names: ['--help', '-h'], arity: 0 },
];

/** /proc/PID/environ as an object (NUL-separated VAR=VALUE). */
function targetEnv(pid: number): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/environ`, 'latin1');
  } catch (e) {
    throw new UsageError('exec', `--env: cannot read the environment of ${pid}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const env: Record<string, string> = {};
  for (const kv of text.split('\0')) {
    const eq = kv.indexOf('=');
    if (eq > 0) env[kv.slice(0, eq)] = Buffer.from(kv.slice(eq + 1), 'latin1').toString('utf8');
  }
  return env;
}

type Enter = (target: number | string, types?: NamespaceType[]) => Sandbox;

export function parseExec(argv: readonly string[]): { sb: Sandbox; cmd: string[] } | undefined {
  const { flags, rest } = parseArgs(argv, EXEC_FLAGS, { command: 'exec', takesCommand: true });
  if (flags.some((f) => f.name === '--help')) return undefined;
  let target: number | undefined;
  let all = false;
  const fromTarget: NamespaceType[] = [];
  const fromFile: [NamespaceType, string, string][] = [];
  const after: ((sb: Sandbox) => Sandbox)[] = [];
  for (const f of flags) {
    const [a] = f.values;
    const t = TYPES.find(([, long]) => f.name === `--${long}`);
    if (t) {
      if (a === undefined) fromTarget.push(t[0]);
      else fromFile.push([t[0], a, f.given]);
      continue;
    }
    switch (f.name) {
      case '--target':
        if (!/^\d+$/.test(a) || Number(a) < 1) throw new UsageError('exec', `${f.given}: expected a pid, got '${a}'`);
        target = Number(a);
        break;
      case '--all':
        all = true;
        break;
      case '--setuid':
      case '--setgid': {
        if (!/^\d+$/.test(a)) throw new UsageError('exec', `${f.given}: expected a number, got '${a}'`);
        const key = f.name === '--setuid' ? 'uid' : 'gid';
        after.push((sb) => call(sb, 'exec', f.given, 'as', { ...(sb.options.as ?? {}), [key]: Number(a) }));
        break;
      }
      case '--wd':
        after.push((sb) => call(sb, 'exec', f.given, 'cwd', a));
        break;
      case '--env':
        // nsenter: the program gets the target's environment instead of ours.
        after.push((sb) => {
          if (target === undefined) throw new UsageError('exec', `${f.given}: needs --target PID`);
          return call(sb, 'exec', f.given, 'env', targetEnv(target), { inherit: false });
        });
        break;
      case '--join-cgroup':
        // nsenter -c: the program starts in the target's cgroup (lib/cgroup/join.ts: on
        // hybrid and v1 hosts, where nsenter refuses, in each hierarchy).
        after.push((sb) => {
          if (target === undefined) throw new UsageError('exec', `${f.given}: needs --target PID`);
          return call(sb, 'exec', f.given, 'joinCgroup', target);
        });
        break;
      default:
        break; // --no-fork, --preserve-credentials: nsbind's behaviour already
    }
  }
  if (rest.length === 0) throw new UsageError('exec', 'missing command: nsbind exec --target PID [flags] -- CMD [ARGS...]');
  if (target === undefined && (all || fromTarget.length > 0)) {
    throw new UsageError('exec', `${all ? '--all' : `--${fromTarget[0]}`}: needs --target PID (or --TYPE=FILE)`);
  }
  if (target === undefined && fromFile.length === 0) {
    throw new UsageError('exec', 'nothing to enter: give --target PID, optionally with namespace types, or --TYPE=FILE');
  }
  let sb: Sandbox;
  if (target !== undefined) {
    const enter = libraryExport<Enter>('enter');
    // nsenter with --target and no type enters all of them, as --all does.
    sb = all || fromTarget.length === 0 ? enter(target) : enter(target, fromTarget);
  } else {
    sb = (require('../index.js') as typeof import('../index.js')).sandbox();
  }
  for (const [type, file, given] of fromFile) {
    sb = call(sb, 'exec', given, methodOf(type), { ...((sb.options.namespaces ?? {})[type] ?? {}), join: file });
  }
  for (const fn of after) sb = fn(sb);
  return { sb, cmd: rest };
}

export async function main(argv: readonly string[]): Promise<number> {
  const parsed = parseExec(argv);
  if (!parsed) {
    process.stdout.write(EXEC_HELP);
    return 0;
  }
  return supervise(parsed.sb, parsed.cmd);
}
