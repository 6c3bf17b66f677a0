// `nsbind bwrap ARGS...`: bubblewrap's command line, defaults and messages, so that a
// script written for bwrap runs unchanged. The flags are translated into the same
// builder calls `nsbind run` makes (run-flags.ts); what differs is bwrap's model:
//
// - the sandbox always starts from an empty tmpfs root (`--bind / /` puts the host back);
// - no user namespace unless asked (`--unshare-user`), as bwrap run by root; an
//   unprivileged caller gets one that maps its own uid/gid (bwrap keeps them inside);
// - root keeps its capabilities (bwrap does, unless `--cap-drop`), an unprivileged
//   caller has none (unless `--cap-add`);
// - options end at the first word that is not one (no ambiguity check: everything after
//   the command is the command's), or at `--`;
// - errors are one line `bwrap: ...` and exit 1; `--level-prefix` adds syslog levels.
import { existsSync, readFileSync, readlinkSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { sandbox, type Sandbox } from '../index.js';
import type { NsbindError } from '../errors.js';
import type { SandboxProcess } from '../process.js';
import { parseArgs, type FlagSpec, type ParsedFlag } from './args.js';
import { call, withNamespace } from './builder.js';
import { applyRunFlag, RUN_FLAGS, type RunState } from './run-flags.js';
import { endReason, exitStatus, watchParent } from './supervise.js';
import { UsageError } from './usage.js';

/** bwrap's own exit status for its errors (`die()`). */
export const EXIT_BWRAP = 1;

const SHARED = new Set([
  '--unshare-user', '--unshare-user-try', '--unshare-ipc', '--unshare-pid', '--unshare-net', '--unshare-uts',
  '--unshare-cgroup', '--unshare-cgroup-try', '--unshare-all', '--share-net', '--uid', '--gid', '--hostname',
  '--chdir', '--setenv', '--unsetenv', '--clearenv', '--bind', '--bind-try', '--dev-bind', '--dev-bind-try',
  '--ro-bind', '--ro-bind-try', '--remount-ro', '--proc', '--dev', '--tmpfs', '--mqueue', '--dir', '--file',
  '--bind-data', '--ro-bind-data', '--symlink', '--seccomp', '--new-session', '--die-with-parent', '--as-pid-1',
  '--cap-add', '--cap-drop', '--perms', '--size', '--argv0', '--overlay-src', '--overlay', '--tmp-overlay',
  '--ro-overlay', '--lock-file', '--disable-userns', '--assert-userns-disabled', '--json-status-fd', '--help',
]);

const OWN: FlagSpec[] = [
  { names: ['--version'], arity: 0 },
  { names: ['--args'], arity: 1, metavar: ['FD'] },
  { names: ['--info-fd'], arity: 1, metavar: ['FD'] },
  { names: ['--bind-fd'], arity: 2, metavar: ['FD', 'DEST'] },
  { names: ['--ro-bind-fd'], arity: 2, metavar: ['FD', 'DEST'] },
  { names: ['--add-seccomp-fd'], arity: 1, metavar: ['FD'] },
  { names: ['--chmod'], arity: 2, metavar: ['OCTAL', 'PATH'] },
  { names: ['--level-prefix'], arity: 0 },
  { names: ['--unshare-cgroup'], arity: 0 },
  { names: ['--userns'], arity: 1, metavar: ['FD'] },
  { names: ['--userns2'], arity: 1, metavar: ['FD'] },
  { names: ['--pidns'], arity: 1, metavar: ['FD'] },
  { names: ['--sync-fd'], arity: 1, metavar: ['FD'] },
  { names: ['--block-fd'], arity: 1, metavar: ['FD'] },
  { names: ['--userns-block-fd'], arity: 1, metavar: ['FD'] },
  { names: ['--exec-label'], arity: 1, metavar: ['LABEL'] },
  { names: ['--file-label'], arity: 1, metavar: ['LABEL'] },
];

export const BWRAP_FLAGS: FlagSpec[] = [...RUN_FLAGS.filter((f) => SHARED.has(f.names[0])).map((f) => ({ ...f, names: [f.names[0]] })), ...OWN];

const ARITY = new Map<string, number>(BWRAP_FLAGS.map((f) => [f.names[0], typeof f.arity === 'number' ? f.arity : 0]));

/** An error bwrap would `die()` with: one line, exit 1. */
export class BwrapError extends Error {}

/**
 * `--args FD`: NUL-separated arguments read from FD, inserted where the flag was (bwrap
 * reads them while parsing, so they may contain further `--args`). Only flag positions
 * are looked at: the command's own words are never expanded.
 */
export function expandArgs(argv: readonly string[]): string[] {
  const out: string[] = [];
  const queue = [...argv];
  let depth = 0;
  while (queue.length) {
    const a = queue.shift()!;
    if (a === '--args') {
      const fd = queue.shift();
      if (fd === undefined || !/^\d+$/.test(fd)) throw new BwrapError('--args takes an argument');
      if (++depth > 100) throw new BwrapError('--args nested too deeply');
      let text: string;
      try {
        text = readFileSync(Number(fd), 'utf8');
      } catch (e) {
        throw new BwrapError(`Can't read --args data: ${(e as Error).message}`);
      }
      const words = text.split('\0');
      if (words[words.length - 1] === '') words.pop();
      queue.unshift(...words);
      continue;
    }
    if (a === '--' || !a.startsWith('--')) {
      out.push(a, ...queue);
      break;
    }
    out.push(a);
    const n = ARITY.get(a) ?? 0;
    for (let i = 0; i < n && queue.length; i++) out.push(queue.shift()!);
  }
  return out;
}

export interface BwrapPlan {
  sb: Sandbox;
  cmd: string[];
  argv0?: string;
  statusFd?: number;
  infoFd?: number;
  warnings: string[];
  help?: boolean;
  version?: boolean;
}

export function parseBwrap(argvIn: readonly string[]): BwrapPlan {
  const argv = expandArgs(argvIn);
  const { flags, rest } = parseArgs(argv, BWRAP_FLAGS, { command: 'bwrap', takesCommand: true, ambiguity: false });
  const warnings: string[] = [];
  if (flags.some((f) => f.name === '--help')) return { sb: sandbox(), cmd: [], warnings, help: true };
  if (flags.some((f) => f.name === '--version')) return { sb: sandbox(), cmd: [], warnings, version: true };
  if (rest.length === 0) throw new BwrapError('No command specified');

  const root = process.getuid!() === 0;
  // bwrap's --unshare-all includes --unshare-user-try, which a non-setuid bwrap always honours.
  const wantsUser = flags.some((f) => f.name === '--unshare-user' || f.name === '--unshare-user-try' || f.name === '--unshare-all');
  let sb = sandbox().root();
  // bwrap always makes a mount namespace (the new root lives in it).
  sb = withNamespace(sb, 'bwrap', '--mount', 'mnt');
  if (root && !wantsUser) {
    // bwrap run by root makes no user namespace: the program is host root. A build
    // where every sandbox has one takes `.user(false)` to opt out.
    try {
      sb = sb.user(false as never);
    } catch {
      // This build makes no user namespace unless asked: nothing to opt out of.
    }
  }

  const st: RunState = { sb, envKeys: new Set(), spawn: {}, overlaySrc: [] };
  let uid: number | undefined;
  let gid: number | undefined;
  let chdirs = 0;
  let infoFd: number | undefined;
  for (const given of flags) {
    const f = resolveSources(given);
    const [a, b] = f.values;
    if (st.overlaySrc.length && !/^--(overlay-src|overlay|tmp-overlay|ro-overlay)$/.test(f.name)) {
      throw new BwrapError('--overlay-src must be followed by another --overlay-src or one of --overlay, --tmp-overlay, or --ro-overlay');
    }
    switch (f.name) {
      case '--uid':
        uid = Number(a);
        if (!/^\d+$/.test(a)) throw new BwrapError(`--uid takes a numeric argument`);
        continue;
      case '--gid':
        gid = Number(a);
        if (!/^\d+$/.test(a)) throw new BwrapError(`--gid takes a numeric argument`);
        continue;
      case '--unshare-user':
      case '--unshare-user-try':
        continue; // decided below, with --uid/--gid
      case '--chdir':
        if (++chdirs === 2) warnings.push('Only the last --chdir option will take effect');
        break;
      case '--info-fd':
        infoFd = Number(a);
        continue;
      case '--level-prefix':
        continue;
      case '--die-with-parent':
        // Handled by the command (the sandbox already dies with nsbind).
        continue;
      case '--unshare-cgroup':
        st.sb = withNamespace(st.sb, 'bwrap', f.given, 'cgroup');
        continue;
      case '--bind-fd':
      case '--ro-bind-fd': {
        let src: string;
        try {
          src = readlinkSync(`/proc/self/fd/${a}`);
        } catch {
          throw new BwrapError(`Invalid fd: ${a}`);
        }
        st.sb = call(st.sb, 'bwrap', f.given, f.name === '--bind-fd' ? 'bind' : 'roBind', src, b);
        continue;
      }
      case '--add-seccomp-fd':
        applyRunFlag(st, { ...f, name: '--seccomp' });
        continue;
      case '--chmod':
        st.sb = chmod(st.sb, f, a, b);
        continue;
      case '--dev':
        // bwrap's /dev also has core -> /proc/kcore (nsbind's minimal /dev leaves it out).
        applyRunFlag(st, f);
        st.sb = call(st.sb, 'bwrap', f.given, 'symlink', '/proc/kcore', `${a.replace(/\/+$/, '')}/core`);
        continue;
      case '--ro-overlay':
        if (st.overlaySrc.length < 2) throw new BwrapError('--ro-overlay requires at least two --overlay-src');
        break;
      case '--overlay':
      case '--tmp-overlay':
        if (st.overlaySrc.length < 1) throw new BwrapError(`${f.name} requires at least one --overlay-src`);
        break;
      case '--userns':
      case '--userns2':
      case '--pidns':
        throw new BwrapError(`${f.name} is not supported by nsbind bwrap: join namespaces with nsbind exec or namespaces.join()`);
      case '--sync-fd':
      case '--block-fd':
      case '--userns-block-fd':
        throw new BwrapError(`${f.name} is not supported by nsbind bwrap`);
      case '--exec-label':
      case '--file-label':
        throw new BwrapError(`${f.name}: SELinux labels are not supported by nsbind bwrap`);
      default:
        break;
    }
    applyRunFlag(st, f);
  }
  if (flags.some((f) => f.name === '--as-pid-1') && flags.some((f) => f.name === '--lock-file')) {
    throw new BwrapError('Specifying --as-pid-1 and --lock-file is not permitted');
  }
  if (st.overlaySrc.length) throw new BwrapError('--overlay-src must be followed by another --overlay-src or one of --overlay, --tmp-overlay, or --ro-overlay');
  if (st.nextPerms !== undefined || st.nextSize !== undefined) throw new BwrapError('--perms and --size must be followed by an operation they apply to');

  // Identity. bwrap keeps the caller's ids inside (or --uid/--gid), maps one id, and
  // needs --unshare-user for --uid/--gid.
  // An unprivileged bwrap always makes a user namespace, so only root needs to ask.
  if (root && uid !== undefined && uid !== process.getuid!() && !wantsUser) throw new BwrapError('Specifying --uid requires --unshare-user or --userns');
  if (root && gid !== undefined && gid !== process.getgid!() && !wantsUser) throw new BwrapError('Specifying --gid requires --unshare-user or --userns');
  const myUid = process.getuid!();
  const myGid = process.getgid!();
  const inUid = uid ?? myUid;
  const inGid = gid ?? myGid;
  if (wantsUser || !root) {
    // Root: an explicit map of host 0 (one id), as bwrap writes it; a later build's
    // default for root (an unprivileged range) would differ from bwrap.
    // Unprivileged, nsbind needs the user namespace bwrap would make implicitly.
    const optional = root && !flags.some((f) => f.name === '--unshare-user') ? { optional: true } : {};
    st.sb = root
      ? withNamespace(st.sb, 'bwrap', '--unshare-user', 'user', { ...optional, uidMap: [{ inside: inUid, outside: 0, count: 1 }], gidMap: [{ inside: inGid, outside: 0, count: 1 }], uid: undefined, gid: undefined })
      : withNamespace(st.sb, 'bwrap', '--unshare-user', 'user', { ...optional, uid: inUid, gid: inGid });
  }

  // Capabilities: root (uid 0 inside) keeps them all unless dropped; others get only
  // what --cap-add names. The flags were applied in order over the starting point.
  const capFlags = flags.filter((f) => f.name === '--cap-add' || f.name === '--cap-drop');
  if (root && inUid === 0) {
    const start: RunState = { ...st, sb: call(st.sb, 'bwrap', '--cap-add', 'capabilities', 'all') };
    for (const f of capFlags) applyRunFlag(start, f);
    st.sb = start.sb;
  }

  // The working directory: bwrap keeps the caller's where the new root has it, else '/'.
  // PWD says where that is.
  const home = process.env.HOME;
  const cwd = chdirs
    ? flags.filter((f) => f.name === '--chdir').pop()!.values[0]
    : [process.cwd(), home].find((d) => d !== undefined && d.startsWith('/') && visibleInside(flags.map(resolveSources), d)) ?? '/';
  if (!chdirs) st.sb = call(st.sb, 'bwrap', '--chdir', 'cwd', cwd);
  st.sb = call(st.sb, 'bwrap', '--chdir', 'env', { PWD: cwd });

  return { sb: st.sb, cmd: rest, argv0: st.spawn.argv0, statusFd: st.statusFd, infoFd, warnings };
}

/** bwrap reads relative host paths from its working directory; nsbind's builder wants them absolute. */
function resolveSources(f: ParsedFlag): ParsedFlag {
  const at = /^--(ro-|dev-)?bind(-try)?$|^--overlay-src$/.test(f.name) ? [0] : f.name === '--overlay' ? [0, 1] : [];
  if (at.length === 0) return f;
  return { ...f, values: f.values.map((v, i) => (at.includes(i) && v !== '' && !v.startsWith('/') ? resolve(v) : v)) };
}

/**
 * Whether host directory `dir` is at the same path in the new root, following the
 * filesystem flags in order: a bind whose destination contains it shows what its source
 * has there, anything else mounted over it (a tmpfs, an overlay) hides it. bwrap finds
 * out by trying chdir() inside; the plan is compiled before, so this answers from the host
 * (one stat, on the CLI's path only).
 */
function visibleInside(flags: ParsedFlag[], dir: string): boolean {
  const under = (dst: string) => {
    const d = dst.replace(/\/+$/, '');
    return d === '' ? dir : dir === d ? '' : dir.startsWith(`${d}/`) ? dir.slice(d.length) : undefined;
  };
  let visible = false;
  for (const f of flags) {
    if (/^--(ro-|dev-)?bind(-try)?$/.test(f.name)) {
      const rest = under(f.values[1]);
      if (rest !== undefined) visible = existsSync(`${f.values[0].replace(/\/+$/, '')}${rest.startsWith('/') || rest === '' ? rest : `/${rest}`}`);
    } else if (/^--(tmpfs|overlay|tmp-overlay|ro-overlay|proc|dev|mqueue)$/.test(f.name)) {
      const dst = f.name === '--overlay' ? f.values[2] : f.values[0];
      const rest = under(dst);
      // The mount point itself exists (chdir there works); what was beneath it is hidden.
      if (rest !== undefined) visible = rest === '';
    } else if (f.name === '--dir' && f.values[0].replace(/\/+$/, '') === dir) {
      visible = true;
    }
  }
  return visible;
}

/**
 * `--chmod OCTAL PATH`: the library's `.chmod()` where this build has it; otherwise a
 * path this command line creates (`--dir`, `--file`, `--tmpfs`) gets the mode at creation.
 */
function chmod(sb: Sandbox, f: ParsedFlag, octal: string, path: string): Sandbox {
  if (!/^0*[0-7]{1,4}$/.test(octal)) throw new BwrapError(`--chmod takes an octal argument, got '${octal}'`);
  const mode = parseInt(octal, 8);
  if (typeof (sb as unknown as Record<string, unknown>).chmod === 'function') return call(sb, 'bwrap', f.given, 'chmod', path, mode);
  const steps = ((sb.options as { fs?: Record<string, unknown>[] }).fs ?? []).map((s) => ({ ...s }));
  for (let i = steps.length - 1; i >= 0; i--) {
    const s = steps[i];
    if ((s.op === 'dir' || s.op === 'file') && s.path === path) {
      s.mode = mode;
      return sandbox({ ...(sb.options as object), fs: steps } as never);
    }
    if (s.op === 'tmpfs' && s.dst === path) {
      s.mode = mode;
      return sandbox({ ...(sb.options as object), fs: steps } as never);
    }
  }
  throw new BwrapError(`--chmod ${octal} ${path}: nsbind changes the mode only of what the sandbox creates (--dir, --file, --tmpfs)`);
}

/** strerror() for the errors a lock file meets (Node 20 has no getSystemErrorMessage). */
const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EAGAIN: 'Resource temporarily unavailable',
  EISDIR: 'Is a directory',
  ELOOP: 'Too many levels of symbolic links',
  ENOTDIR: 'Not a directory',
  ENOLCK: 'No locks available',
};

/** bwrap's messages for nsbind's setup errors that scripts grep for. */
export function bwrapMessage(e: unknown): string {
  if (e instanceof BwrapError) return e.message;
  if (e instanceof UsageError) return e.message;
  const err = e as NsbindError;
  const step = typeof err?.step === 'string' ? err.step : '';
  const bind = /^bind (.+) -> /.exec(step);
  if (bind && err.code === 'ENOENT' && (err.syscall === 'open_tree' || /open_tree/.test(err.message))) return `Can't find source path ${bind[1]}: No such file or directory`;
  if (err?.code === 'ENOENT' && /^execve /.test(step)) return `execvp ${step.slice(7)}: No such file or directory`;
  const lock = /^lock file (.+)$/.exec(step);
  if (lock) {
    const text = ERRNO_TEXT[String(err.code)] ?? String(err.code);
    return err.syscall === 'fcntl' ? `Unable to lock file ${lock[1]}: ${text}` : `Unable to open lock file ${lock[1]}: ${text}`;
  }
  const link = /^symlink (.+) -> /.exec(step);
  if (link && err.code === 'EEXIST') return `Can't make symlink at ${link[1]}: File exists`;
  return (e instanceof Error ? e.message : String(e)).replace(/^nsbind: /, '');
}

/**
 * bwrap's help, flag by flag in bwrap's order and words (`--help` lists every flag this
 * command takes, and says which are refused). The usage line names the program as bwrap's
 * does with its argv[0]: `nsbind bwrap`, or the name of the symlink or shim it was run as.
 */
export function bwrapHelp(name: string): string {
  const rows: [string, string][] = [
    ['--help', 'Print this help'],
    ['--version', 'Print version'],
    ['--args FD', 'Parse NUL-separated args from FD'],
    ['--argv0 VALUE', 'Set argv[0] to the value VALUE before running the program'],
    ['--level-prefix', 'Prepend e.g. <3> to diagnostic messages'],
    ['--unshare-all', 'Unshare every namespace we support by default'],
    ['--share-net', 'Retain the network namespace (can only combine with --unshare-all)'],
    ['--unshare-user', 'Create new user namespace (implied when not run by root)'],
    ['--unshare-user-try', 'Create new user namespace if possible else continue by skipping it'],
    ['--unshare-ipc', 'Create new ipc namespace'],
    ['--unshare-pid', 'Create new pid namespace'],
    ['--unshare-net', 'Create new network namespace'],
    ['--unshare-uts', 'Create new uts namespace'],
    ['--unshare-cgroup', 'Create new cgroup namespace'],
    ['--unshare-cgroup-try', 'Create new cgroup namespace if possible else continue by skipping it'],
    ['--userns FD', 'Not supported by nsbind (join with nsbind exec)'],
    ['--userns2 FD', 'Not supported by nsbind'],
    ['--disable-userns', 'Disable further use of user namespaces inside sandbox (nsbind\'s default)'],
    ['--assert-userns-disabled', 'Fail unless further use of user namespace inside sandbox is disabled'],
    ['--pidns FD', 'Not supported by nsbind (join with nsbind exec)'],
    ['--uid UID', 'Custom uid in the sandbox (requires --unshare-user when run by root)'],
    ['--gid GID', 'Custom gid in the sandbox (requires --unshare-user when run by root)'],
    ['--hostname NAME', 'Custom hostname in the sandbox (requires --unshare-uts)'],
    ['--chdir DIR', 'Change directory to DIR'],
    ['--clearenv', 'Unset all environment variables'],
    ['--setenv VAR VALUE', 'Set an environment variable'],
    ['--unsetenv VAR', 'Unset an environment variable'],
    ['--lock-file DEST', 'Take a lock on DEST while sandbox is running'],
    ['--sync-fd FD', 'Not supported by nsbind'],
    ['--bind SRC DEST', 'Bind mount the host path SRC on DEST'],
    ['--bind-try SRC DEST', 'Equal to --bind but ignores non-existent SRC'],
    ['--dev-bind SRC DEST', 'Bind mount the host path SRC on DEST, allowing device access'],
    ['--dev-bind-try SRC DEST', 'Equal to --dev-bind but ignores non-existent SRC'],
    ['--ro-bind SRC DEST', 'Bind mount the host path SRC readonly on DEST'],
    ['--ro-bind-try SRC DEST', 'Equal to --ro-bind but ignores non-existent SRC'],
    ['--bind-fd FD DEST', 'Bind open directory or path fd on DEST'],
    ['--ro-bind-fd FD DEST', 'Bind open directory or path fd read-only on DEST'],
    ['--remount-ro DEST', 'Remount DEST as readonly; does not recursively remount'],
    ['--overlay-src SRC', 'Read files from SRC in the following overlay'],
    ['--overlay RWSRC WORKDIR DEST', 'Mount overlayfs on DEST, with RWSRC as the host path for writes and WORKDIR an empty directory on the same filesystem as RWSRC'],
    ['--tmp-overlay DEST', 'Mount overlayfs on DEST, with writes going to an invisible tmpfs'],
    ['--ro-overlay DEST', 'Mount overlayfs read-only on DEST'],
    ['--exec-label LABEL', 'Not supported by nsbind (SELinux)'],
    ['--file-label LABEL', 'Not supported by nsbind (SELinux)'],
    ['--proc DEST', 'Mount new procfs on DEST'],
    ['--dev DEST', 'Mount new dev on DEST'],
    ['--tmpfs DEST', 'Mount new tmpfs on DEST'],
    ['--mqueue DEST', 'Mount new mqueue on DEST'],
    ['--dir DEST', 'Create dir at DEST'],
    ['--file FD DEST', 'Copy from FD to destination DEST'],
    ['--bind-data FD DEST', 'Copy from FD to file which is bind-mounted on DEST'],
    ['--ro-bind-data FD DEST', 'Copy from FD to file which is readonly bind-mounted on DEST'],
    ['--symlink SRC DEST', 'Create symlink at DEST with target SRC'],
    ['--seccomp FD', 'Load and use seccomp rules from FD (not repeatable)'],
    ['--add-seccomp-fd FD', 'Load and use seccomp rules from FD (repeatable)'],
    ['--block-fd FD', 'Not supported by nsbind'],
    ['--userns-block-fd FD', 'Not supported by nsbind'],
    ['--info-fd FD', 'Write information about the running container to FD'],
    ['--json-status-fd FD', 'Write container status to FD as multiple JSON documents'],
    ['--new-session', 'Create a new terminal session (nsbind\'s default)'],
    ['--die-with-parent', 'Kills with SIGKILL child process (COMMAND) when bwrap or bwrap\'s parent dies.'],
    ['--as-pid-1', 'Do not install a reaper process with PID=1'],
    ['--cap-add CAP', 'Add cap CAP when running as privileged user'],
    ['--cap-drop CAP', 'Drop cap CAP when running as privileged user'],
    ['--perms OCTAL', 'Set permissions of next argument (--bind-data, --file, etc.)'],
    ['--size BYTES', 'Set size of next argument (only for --tmpfs)'],
    ['--chmod OCTAL PATH', 'Change permissions of PATH (nsbind: only a path this command line creates)'],
  ];
  return `usage: ${name} [OPTIONS...] [--] COMMAND [ARGS...]\n\n${rows.map(([f, what]) => `    ${f.padEnd(28)} ${what}\n`).join('')}
bubblewrap's command line, run by nsbind (nsbind's own flags: 'nsbind run --help').
bwrap's defaults apply: an empty tmpfs root, no user namespace unless --unshare-user
when run by root, root keeps its capabilities.
`;
}

/**
 * The name bwrap's usage line shows (bwrap prints its argv[0]): `nsbind bwrap`, or, run
 * as a file named bwrap (a symlink to nsbind's CLI), that file as the kernel passed it
 * to Node; a shell shim names itself with NSBIND_BWRAP_ARGV0="$0"; `exec -a NAME node ...`
 * gives NAME.
 */
export function programName(invokedAs?: string): string {
  const fromEnv = process.env.NSBIND_BWRAP_ARGV0;
  if (fromEnv) return fromEnv;
  if (invokedAs) return invokedAs;
  return 'nsbind bwrap';
}

export async function main(argvIn: readonly string[], invokedAs?: string): Promise<number> {
  const name = programName(invokedAs);
  // The shim's variable names the program; the sandboxed program does not inherit it.
  delete process.env.NSBIND_BWRAP_ARGV0;
  const prefix = argvIn.includes('--level-prefix');
  const say = (level: number, msg: string) => process.stderr.write(`${prefix ? `<${level}>` : ''}bwrap: ${msg}\n`);
  let plan: BwrapPlan;
  try {
    plan = parseBwrap(argvIn);
  } catch (e) {
    say(3, bwrapMessage(e));
    return EXIT_BWRAP;
  }
  if (plan.help) {
    process.stdout.write(bwrapHelp(name));
    return 0;
  }
  if (plan.version) {
    process.stdout.write(`bubblewrap-compatible nsbind ${(require('../../package.json') as { version: string }).version}\n`);
    return 0;
  }
  for (const w of plan.warnings) say(4, w);
  return runBwrap(plan, say, argvIn.includes('--die-with-parent'));
}

/** bwrap's JSON: `"key": value` pairs, as its info and status lines are written. */
function bwrapJson(obj: Record<string, unknown>, pretty: boolean): string {
  const body = Object.entries(obj).map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`);
  return pretty ? `{\n    ${body.join(',\n    ')}\n}\n` : `{ ${body.join(', ')} }\n`;
}

async function runBwrap(plan: BwrapPlan, say: (level: number, msg: string) => void, dieWithParent: boolean): Promise<number> {
  let p: SandboxProcess;
  try {
    p = plan.sb.spawn(plan.cmd[0], plan.cmd.slice(1), { stdio: 'inherit', ...(plan.argv0 !== undefined ? { argv0: plan.argv0 } : {}) });
  } catch (e) {
    say(3, bwrapMessage(e));
    return EXIT_BWRAP;
  }
  const stopWatch = dieWithParent ? watchParent() : () => {};
  const forward = (sig: NodeJS.Signals) => p.kill(sig);
  const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];
  for (const sig of FORWARDED) process.on(sig, forward);
  p.once('spawn', () => {
    const info: Record<string, unknown> = { 'child-pid': p.pid };
    for (const t of ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'uts'] as const) {
      const id = p.namespaces?.[t]?.inode;
      if (id !== undefined) info[`${t}-namespace`] = id;
    }
    if (plan.infoFd !== undefined) writeSync(plan.infoFd, bwrapJson(info, true));
    if (plan.statusFd !== undefined) writeSync(plan.statusFd, bwrapJson(info, false));
  });
  try {
    const r = await p.exited;
    const code = exitStatus(r);
    const why = endReason(r);
    if (why) say(3, why.replace(/^nsbind: /, ''));
    if (plan.statusFd !== undefined) writeSync(plan.statusFd, bwrapJson({ 'exit-code': code }, false));
    return code;
  } catch (e) {
    say(3, bwrapMessage(e));
    return EXIT_BWRAP;
  } finally {
    stopWatch();
    for (const sig of FORWARDED) process.off(sig, forward);
  }
}
