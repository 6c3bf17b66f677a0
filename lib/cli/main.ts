#!/usr/bin/env node
// The `nsbind` command. Only the subcommand that runs is loaded (startup time matters
// for a program that wraps other programs), and every failure ends here: bad input is one
// line plus a usage hint, nsbind's errors are the NsbindError message; both exit 125.
import { basename } from 'node:path';
import { didYouMean } from './args.js';
import { MissingFeature } from './builder.js';
import { MAIN_HELP } from './help.js';
import { EXIT_NSBIND, UsageError } from './usage.js';

type Command = { main(argv: readonly string[], invokedAs?: string): Promise<number> };

const COMMANDS: Record<string, () => Command> = {
  run: () => require('./run.js') as Command,
  exec: () => require('./exec.js') as Command,
  ls: () => require('./ls.js') as Command,
  netns: () => require('./netns.js') as Command,
  doctor: () => require('./doctor.js') as Command,
  bwrap: () => require('./bwrap.js') as Command,
};

/**
 * The name nsbind was run as, when it is not Node's own: `exec -a NAME node main.js ...`
 * sets argv[0] (bwrap's usage line shows it).
 */
function argv0(): string | undefined {
  const a = process.argv0;
  return a && basename(a) !== basename(process.execPath) && !/^node(js)?$/.test(basename(a)) ? a : undefined;
}

async function cli(argv: string[]): Promise<number> {
  // A symlink (or copy) of this file named bwrap is bubblewrap's command line, as
  // `nsbind bwrap` is, with its own name in the usage line as bwrap prints its argv[0].
  const script = process.argv[1] ?? '';
  if (basename(script) === 'bwrap') return COMMANDS.bwrap().main(argv, argv0() ?? script);
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(MAIN_HELP);
    return 0;
  }
  if (name === '--version' || name === '-V') {
    process.stdout.write(`nsbind ${(require('../../package.json') as { version: string }).version}\n`);
    return 0;
  }
  if (name === undefined) throw new UsageError('', 'missing command (run, exec, ls, netns, doctor, bwrap)');
  const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!load) {
    const guess = didYouMean(`--${name}`, Object.keys(COMMANDS).map((c) => `--${c}`)).replace(/--/g, '');
    throw new UsageError('', `unknown command '${name}' (${Object.keys(COMMANDS).join(', ')})${guess}`);
  }
  return name === 'bwrap' ? load().main(rest, argv0()) : load().main(rest);
}

cli(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
  },
  (e: unknown) => {
    if (e instanceof UsageError) process.stderr.write(`${e.text()}\n`);
    else if (e instanceof MissingFeature) process.stderr.write(`nsbind: ${e.message}\n`);
    else if (e instanceof Error && e.name === 'NsbindError') process.stderr.write(`${e.message}\n`);
    else process.stderr.write(`nsbind: internal error: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exitCode = EXIT_NSBIND;
  },
);
