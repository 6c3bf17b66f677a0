// `nsbind run [flags] [--] CMD ARGS...`: new namespaces, like unshare and bwrap.
import { readFileSync } from 'node:fs';
import { isatty } from 'node:tty';
// The public index, not sandbox.js: other parts of nsbind add their builder methods and
// spawn steps when the index loads them, and the CLI must see what a program sees.
import { sandbox, type Sandbox } from '../index.js';
import { parseArgs } from './args.js';
import { asUsage } from './builder.js';
import { RUN_HELP } from './help.js';
import { applyRunFlag, RUN_FLAGS, type RunState } from './run-flags.js';
import { checkStatusFd, EMPTY_ROOT_HINT, missingOnHost, supervise, type SpawnExtras } from './supervise.js';
import { UsageError } from './usage.js';

/** Reads `--config FILE.json`: the JSON of `sb.options`, rebuilt through `sandbox()`. */
function fromConfig(file: string): Sandbox {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError('run', `--config: cannot read '${file}': ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UsageError('run', `--config: '${file}' is not JSON: ${(e as Error).message}`);
  }
  try {
    return sandbox(json as Record<string, unknown>);
  } catch (e) {
    throw asUsage(e, 'run', '--config');
  }
}

/** Parses the flags into a sandbox and the command, without running anything. */
export function parseRun(argv: readonly string[]): { sb: Sandbox; cmd: string[]; statusFd?: number; pty?: boolean; help?: boolean; spawn?: SpawnExtras } {
  const { flags, rest } = parseArgs(argv, RUN_FLAGS, { command: 'run', takesCommand: true });
  if (flags.some((f) => f.name === '--help')) return { sb: sandbox(), cmd: [], help: true };
  const configs = flags.filter((f) => f.name === '--config');
  if (configs.length > 1) throw new UsageError('run', '--config: given more than once');
  if (configs.length === 1 && flags[0].name !== '--config') {
    throw new UsageError('run', '--config: must come before the other flags (the flags after it extend it)');
  }
  const noRoot = (st0: Sandbox) => !((st0.options as { fs?: { op: string }[] }).fs ?? []).some((x) => x.op === 'root' || x.op === 'chroot');
  const st: RunState = { sb: configs.length ? fromConfig(configs[0].values[0]) : sandbox(), envKeys: new Set(), spawn: {}, overlaySrc: [] };
  for (const f of configs.length ? flags.slice(1) : flags) {
    try {
      applyRunFlag(st, f);
    } catch (e) {
      if (e instanceof UsageError && noRoot(st.sb) && missingOnHost(e.message)) throw new UsageError('run', `${e.message}\n${EMPTY_ROOT_HINT}`);
      throw e;
    }
  }
  if (st.nextSize !== undefined) throw new UsageError('run', '--size: must be followed by --tmpfs');
  if (st.nextPerms !== undefined) throw new UsageError('run', '--perms: must be followed by --tmpfs, --dir, --file or --bind-data');
  if (st.overlaySrc.length) throw new UsageError('run', '--overlay-src: must be followed by --overlay, --tmp-overlay or --ro-overlay');
  if (rest.length === 0) throw new UsageError('run', 'missing command: nsbind run [flags] -- CMD [ARGS...]');
  if (st.statusFd !== undefined) checkStatusFd('run', st.statusFd);
  if (st.pty && st.sb.options.newSession === false) {
    throw new UsageError('run', '--pty: a pty is the controlling terminal of a new session; it cannot go with --no-new-session');
  }
  return { sb: st.sb, cmd: rest, statusFd: st.statusFd, pty: st.pty, spawn: { ...st.spawn, noRoot: noRoot(st.sb) } };
}

export async function main(argv: readonly string[]): Promise<number> {
  const { sb, cmd, statusFd, pty, help, spawn } = parseRun(argv);
  if (help) {
    process.stdout.write(RUN_HELP);
    return 0;
  }
  // A terminal user gets a terminal inside (job control, ^C to the program's foreground
  // job), unless the program stays in this session. Only when stdout is the terminal
  // too: output redirected to a file must not get a terminal's \r\n. isatty(), not
  // process.stdin.isTTY: touching process.stdin makes Node open fd 0 as a stream, which
  // sets O_NONBLOCK on a pipe or socket the program then shares (its reads fail EAGAIN).
  const usePty = pty ?? (isatty(0) && isatty(1) && sb.options.newSession !== false);
  return supervise(sb, cmd, statusFd, { ...spawn, pty: usePty });
}
