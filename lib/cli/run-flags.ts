// `nsbind run` flags: util-linux unshare's names where unshare has the concept,
// bubblewrap's for the rest, and each one's translation into builder calls. Flags are
// applied in the order written (filesystem steps run in that order, as in bwrap).
import type { NamespaceType, SandboxOptions } from '../options.js';
// The public index, not sandbox.js: other parts of nsbind add their builder methods and
// spawn steps when the index loads them, and the CLI must see what a program sees.
import { sandbox, type Sandbox } from '../index.js';
import type { FlagSpec, ParsedFlag } from './args.js';
import { call, withNamespace } from './builder.js';
import { UsageError } from './usage.js';

const CMD = 'run';

const ns = (type: NamespaceType, long: string, short: string): FlagSpec[] => [
  { names: [`--${long}`, `-${short}`], arity: 'optional', metavar: ['FILE'] },
  { names: [`--${long}-try`], arity: 0 },
  ...(type === 'mnt' || type === 'time' ? [] : [{ names: [`--unshare-${long}`], arity: 0 } as FlagSpec]),
  ...(type === 'mnt' || type === 'time' ? [] : [{ names: [`--unshare-${long}-try`], arity: 0 } as FlagSpec]),
];

export const RUN_FLAGS: FlagSpec[] = [
  ...ns('user', 'user', 'U'),
  ...ns('pid', 'pid', 'p'),
  ...ns('mnt', 'mount', 'm'),
  ...ns('uts', 'uts', 'u'),
  ...ns('ipc', 'ipc', 'i'),
  ...ns('net', 'net', 'n'),
  ...ns('cgroup', 'cgroup', 'C'),
  ...ns('time', 'time', 'T'),
  { names: ['--all'], arity: 0 },
  { names: ['--all-try'], arity: 0 },
  { names: ['--unshare-all'], arity: 0 },
  { names: ['--share-net'], arity: 0 },
  { names: ['--allow-net'], arity: 1, metavar: ['PATTERN'] },
  { names: ['--deny-net'], arity: 1, metavar: ['PATTERN'] },
  { names: ['--forward'], arity: 1, metavar: ['HOST:SANDBOX'] },
  { names: ['--expose'], arity: 1, metavar: ['SANDBOX:HOST'] },
  { names: ['--fork', '-f'], arity: 0 },
  { names: ['--as-pid-1'], arity: 0 },
  { names: ['--map-root-user', '-r'], arity: 0 },
  { names: ['--map-current-user', '-c'], arity: 0 },
  { names: ['--map-user'], arity: 1, metavar: ['UID'] },
  { names: ['--map-group'], arity: 1, metavar: ['GID'] },
  { names: ['--map-users'], arity: 1, metavar: ['OUTER,INNER,COUNT'] },
  { names: ['--map-groups'], arity: 1, metavar: ['OUTER,INNER,COUNT'] },
  { names: ['--setgroups'], arity: 1, metavar: ['allow|deny'] },
  { names: ['--uid'], arity: 1, metavar: ['UID'] },
  { names: ['--gid'], arity: 1, metavar: ['GID'] },
  { names: ['--setuid', '-S'], arity: 1, metavar: ['UID'] },
  { names: ['--setgid', '-G'], arity: 1, metavar: ['GID'] },
  { names: ['--propagation'], arity: 1, metavar: ['slave|shared|private|unchanged'] },
  { names: ['--mount-proc'], arity: 'optional', metavar: ['DIR'] },
  { names: ['--hostname'], arity: 1, metavar: ['NAME'] },
  { names: ['--domainname'], arity: 1, metavar: ['NAME'] },
  { names: ['--monotonic'], arity: 1, metavar: ['SECONDS'] },
  { names: ['--boottime'], arity: 1, metavar: ['SECONDS'] },
  { names: ['--root', '-R'], arity: 1, metavar: ['DIR'] },
  { names: ['--empty-root'], arity: 0 },
  { names: ['--chroot'], arity: 1, metavar: ['DIR'] },
  { names: ['--wd', '-w'], arity: 1, metavar: ['DIR'] },
  { names: ['--chdir'], arity: 1, metavar: ['DIR'] },
  { names: ['--bind'], arity: 2, metavar: ['SRC', 'DEST'] },
  { names: ['--bind-try'], arity: 2, metavar: ['SRC', 'DEST'] },
  { names: ['--dev-bind'], arity: 2, metavar: ['SRC', 'DEST'] },
  { names: ['--dev-bind-try'], arity: 2, metavar: ['SRC', 'DEST'] },
  { names: ['--ro-bind'], arity: 2, metavar: ['SRC', 'DEST'] },
  { names: ['--ro-bind-try'], arity: 2, metavar: ['SRC', 'DEST'] },
  { names: ['--remount-ro'], arity: 1, metavar: ['DEST'] },
  { names: ['--tmpfs'], arity: 1, metavar: ['DEST'] },
  { names: ['--size'], arity: 1, metavar: ['BYTES'] },
  { names: ['--perms'], arity: 1, metavar: ['OCTAL'] },
  { names: ['--proc'], arity: 1, metavar: ['DEST'] },
  { names: ['--dev'], arity: 1, metavar: ['DEST'] },
  { names: ['--mqueue'], arity: 1, metavar: ['DEST'] },
  { names: ['--dir'], arity: 1, metavar: ['DEST'] },
  { names: ['--symlink'], arity: 2, metavar: ['TARGET', 'DEST'] },
  { names: ['--setenv'], arity: 2, metavar: ['VAR', 'VALUE'] },
  { names: ['--unsetenv'], arity: 1, metavar: ['VAR'] },
  { names: ['--clearenv'], arity: 0 },
  { names: ['--cap-add'], arity: 1, metavar: ['CAP'] },
  { names: ['--cap-drop'], arity: 1, metavar: ['CAP'] },
  { names: ['--die-with-parent'], arity: 0 },
  { names: ['--new-session'], arity: 0 },
  { names: ['--no-new-session'], arity: 0 },
  { names: ['--pty'], arity: 0 },
  { names: ['--no-pty'], arity: 0 },
  { names: ['--memory'], arity: 1, metavar: ['SIZE'] },
  { names: ['--memory-swap'], arity: 1, metavar: ['SIZE'] },
  { names: ['--pids'], arity: 1, metavar: ['N'] },
  { names: ['--cpus'], arity: 1, metavar: ['CORES'] },
  { names: ['--cpu-weight'], arity: 1, metavar: ['1-10000'] },
  { names: ['--deny-read'], arity: 1, metavar: ['PATH'] },
  { names: ['--allow-write'], arity: 1, metavar: ['PATH'] },
  { names: ['--deny-write'], arity: 1, metavar: ['PATH'] },
  { names: ['--landlock'], arity: 0 },
  { names: ['--config'], arity: 1, metavar: ['FILE.json'] },
  { names: ['--json-status-fd'], arity: 1, metavar: ['FD'] },
  { names: ['--help', '-h'], arity: 0 },
];

const NS_BY_FLAG: Record<string, NamespaceType> = {
  user: 'user', pid: 'pid', mount: 'mnt', uts: 'uts', ipc: 'ipc', net: 'net', cgroup: 'cgroup', time: 'time',
};

/** What applying the flags accumulates besides the sandbox itself. */
export interface RunState {
  sb: Sandbox;
  /** `--json-status-fd`. */
  statusFd?: number;
  /** bwrap's `--size`/`--perms` apply to the next `--tmpfs`/`--dir`. */
  nextSize?: number;
  nextPerms?: number;
  /** Variables set so far, so that `--clearenv` clears them too (bwrap applies env flags in order). */
  envKeys: Set<string>;
  /** `--deny-read/--allow-write/--deny-write` so far: one `.files()` policy, as given. */
  files?: { readDeny: string[]; writeAllow: string[]; writeDeny: string[] };
  /** `--pty` / `--no-pty`; unset: a pty when stdin is a terminal (and the session is new). */
  pty?: boolean;
}

/**
 * The policy flags add up to one `.files()` step, placed where the first of them was
 * written (a step written after it is not under it, as in the library).
 */
function policyFlag(st: RunState, flag: ParsedFlag, key: 'readDeny' | 'writeAllow' | 'writeDeny'): Sandbox {
  const fs = (st.sb.options.fs ?? []) as { op: string }[];
  let base = st.sb;
  if (st.files && fs.length > 0 && fs[fs.length - 1].op === 'files') {
    base = sandbox({ ...(st.sb.options as object), fs: fs.slice(0, -1) } as SandboxOptions);
  } else {
    st.files = { readDeny: [], writeAllow: [], writeDeny: [] };
  }
  st.files![key].push(flag.values[0]);
  const f = st.files!;
  return call(base, CMD, flag.given, 'files', { read: { deny: f.readDeny }, write: { allow: f.writeAllow, deny: f.writeDeny } });
}

function bad(flag: ParsedFlag, problem: string): UsageError {
  return new UsageError(CMD, `${flag.given}: ${problem}`);
}

/** A decimal integer (ids, counts, seconds); `-` allowed where `signed`. */
function integer(flag: ParsedFlag, text: string, signed = false): number {
  if (!(signed ? /^-?\d+$/ : /^\d+$/).test(text)) throw bad(flag, `expected ${signed ? 'an integer' : 'a non-negative integer'}, got '${text}'`);
  return Number(text);
}

function number(flag: ParsedFlag, text: string): number {
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(text)) throw bad(flag, `expected a number, got '${text}'`);
  return Number(text);
}

/** `256M`, `1.5G`, `4096`: bytes, or a string the library's size parser takes. */
function size(flag: ParsedFlag, text: string): number | string {
  if (/^\d+$/.test(text)) return Number(text);
  if (!/^(\d+(\.\d+)?)\s*([kmgt]i?b?|b)$/i.test(text)) {
    throw bad(flag, `expected a size like 4096, 64K, 256M or 1G, got '${text}'`);
  }
  return text;
}

function idRange(flag: ParsedFlag, text: string): { inside: number; outside: number; count: number } {
  const m = /^(\d+)[,:](\d+)[,:](\d+)$/.exec(text);
  if (!m) throw bad(flag, `expected OUTER,INNER,COUNT, got '${text}'`);
  return { outside: Number(m[1]), inside: Number(m[2]), count: Number(m[3]) };
}

function mergeLimits(st: RunState, flag: ParsedFlag, patch: Record<string, unknown>): Sandbox {
  const current = (st.sb.options as Record<string, unknown>).limits as Record<string, unknown> | undefined;
  return call(st.sb, CMD, flag.given, 'limits', { ...(current ?? {}), ...patch });
}

function capabilities(st: RunState, flag: ParsedFlag, add: boolean): Sandbox {
  const cap = flag.values[0].toUpperCase();
  const current = (st.sb.options as Record<string, unknown>).capabilities as string | string[] | undefined;
  let next: string | string[];
  if (cap === 'ALL') next = add ? 'all' : 'none';
  else {
    const name = cap.startsWith('CAP_') ? cap : `CAP_${cap}`;
    if (current === 'all') {
      if (add) return st.sb;
      throw bad(flag, `dropping one capability from ALL is not supported; list the ones to keep with --cap-add`);
    }
    const list = Array.isArray(current) ? current.filter((c) => c !== name) : [];
    next = add ? [...list, name] : list;
    if (next.length === 0) next = 'none';
  }
  return call(st.sb, CMD, flag.given, 'capabilities', next);
}

/** Applies one flag to the state (returns nothing: `st.sb` is replaced). */
export function applyRunFlag(st: RunState, flag: ParsedFlag): void {
  const [a, b] = flag.values;
  const g = flag.given;
  const nsFlag = /^--(?:unshare-)?(user|pid|mount|uts|ipc|net|cgroup|time)(-try)?$/.exec(flag.name);
  if (nsFlag) {
    const type = NS_BY_FLAG[nsFlag[1]];
    if (a !== undefined) {
      throw bad(flag, `persisting a namespace to a file ('${g}=${a}') is not supported by nsbind run; use namespaces.persist() from the library`);
    }
    st.sb = withNamespace(st.sb, CMD, g, type, { optional: nsFlag[2] ? true : undefined });
    return;
  }
  const sb = st.sb;
  switch (flag.name) {
    case '--all':
    case '--all-try':
      st.sb = call(sb, CMD, g, 'all', flag.name === '--all-try' ? { optional: true } : {});
      return;
    case '--unshare-all':
      // bwrap: user and cgroup only where possible (it tries them), the rest required.
      st.sb = ['user', 'pid', 'ipc', 'net', 'uts', 'cgroup'].reduce(
        (s, t) => withNamespace(s, CMD, g, t as NamespaceType, t === 'user' || t === 'cgroup' ? { optional: true } : {}),
        sb,
      );
      return;
    case '--share-net': {
      // bwrap: undo --unshare-all's network namespace. The builder has no "remove", so the
      // sandbox is rebuilt from its options without it.
      const { net: _net, ...rest } = sb.options.namespaces ?? {};
      st.sb = sandbox({ ...(sb.options as SandboxOptions), namespaces: rest });
      return;
    }
    case '--allow-net':
    case '--deny-net': {
      // Egress policy (SPEC 5.1): implies --net; patterns accumulate in the order given.
      const net = sb.options.namespaces?.net;
      const egress = net?.egress ?? { allow: [] };
      const key = flag.name === '--allow-net' ? 'allow' : 'deny';
      st.sb = withNamespace(sb, CMD, g, 'net', { egress: { ...egress, [key]: [...(egress[key] ?? []), a] } });
      return;
    }
    case '--forward':
    case '--expose': {
      const m = /^(\d+):(\d+)$/.exec(a);
      if (!m) throw bad(flag, `expected ${flag.name === '--forward' ? 'HOST:SANDBOX' : 'SANDBOX:HOST'} ports, like 8080:80`);
      const key = flag.name === '--forward' ? 'forward' : 'expose';
      const entry = key === 'forward' ? { host: Number(m[1]), sandbox: Number(m[2]) } : { sandbox: Number(m[1]), host: Number(m[2]) };
      const existing = (sb.options.namespaces?.net?.[key] ?? []) as object[];
      st.sb = withNamespace(sb, CMD, g, 'net', { [key]: [...existing, entry] });
      return;
    }
    case '--fork':
    case '--die-with-parent':
    case '--new-session':
      // nsbind always forks, kills the sandbox with its parent and starts a new session by default.
      return;
    case '--no-new-session':
      // As unshare: the program stays in the caller's session, on the caller's terminal.
      st.sb = sb.newSession(false);
      return;
    case '--pty':
    case '--no-pty':
      st.pty = flag.name === '--pty';
      return;
    case '--as-pid-1':
      st.sb = withNamespace(sb, CMD, g, 'pid', { init: false });
      return;
    // As unshare, these two also deny setgroups (a later --setgroups overrides).
    case '--map-root-user':
      st.sb = withNamespace(sb, CMD, g, 'user', { uid: 0, gid: 0, uidMap: undefined, gidMap: undefined, setgroups: 'deny' });
      return;
    case '--map-current-user':
      st.sb = withNamespace(sb, CMD, g, 'user', {
        uid: process.geteuid!(), gid: process.getegid!(), uidMap: undefined, gidMap: undefined, setgroups: 'deny',
      });
      return;
    case '--map-user':
    case '--uid':
      st.sb = withNamespace(sb, CMD, g, 'user', { uid: integer(flag, a), uidMap: undefined });
      return;
    case '--map-group':
    case '--gid':
      st.sb = withNamespace(sb, CMD, g, 'user', { gid: integer(flag, a), gidMap: undefined });
      return;
    case '--map-users':
    case '--map-groups': {
      const key = flag.name === '--map-users' ? 'uidMap' : 'gidMap';
      const single = key === 'uidMap' ? 'uid' : 'gid';
      const existing = ((sb.options.namespaces?.user || undefined)?.[key] ?? []) as object[];
      st.sb = withNamespace(sb, CMD, g, 'user', { [key]: [...existing, idRange(flag, a)], [single]: undefined });
      return;
    }
    case '--setgroups':
      st.sb = withNamespace(sb, CMD, g, 'user', { setgroups: a as 'allow' | 'deny' });
      return;
    case '--setuid':
      st.sb = call(sb, CMD, g, 'as', { ...(sb.options.as ?? {}), uid: integer(flag, a) });
      return;
    case '--setgid':
      st.sb = call(sb, CMD, g, 'as', { ...(sb.options.as ?? {}), gid: integer(flag, a) });
      return;
    case '--propagation':
      st.sb = withNamespace(sb, CMD, g, 'mnt', { propagation: a as 'private' });
      return;
    case '--mount-proc':
      // unshare: implies --mount; nsbind's .proc() also implies a pid namespace.
      st.sb = call(withNamespace(sb, CMD, g, 'mnt'), CMD, g, 'proc', a ?? '/proc');
      return;
    case '--hostname':
      st.sb = withNamespace(sb, CMD, g, 'uts', { hostname: a });
      return;
    case '--domainname':
      st.sb = withNamespace(sb, CMD, g, 'uts', { domainname: a });
      return;
    case '--monotonic':
      st.sb = withNamespace(sb, CMD, g, 'time', { monotonic: integer(flag, a, true) });
      return;
    case '--boottime':
      st.sb = withNamespace(sb, CMD, g, 'time', { boottime: integer(flag, a, true) });
      return;
    case '--root':
      st.sb = call(sb, CMD, g, 'root', a);
      return;
    case '--empty-root':
      st.sb = call(sb, CMD, g, 'root');
      return;
    case '--chroot':
      st.sb = call(sb, CMD, g, 'chroot', a);
      return;
    case '--wd':
    case '--chdir':
      st.sb = call(sb, CMD, g, 'cwd', a);
      return;
    case '--bind':
      st.sb = call(sb, CMD, g, 'bind', a, b);
      return;
    case '--bind-try':
      st.sb = call(sb, CMD, g, 'bind', a, b, { optional: true });
      return;
    case '--dev-bind':
      st.sb = call(sb, CMD, g, 'bind', a, b, { devices: true });
      return;
    case '--dev-bind-try':
      st.sb = call(sb, CMD, g, 'bind', a, b, { devices: true, optional: true });
      return;
    case '--ro-bind':
      st.sb = call(sb, CMD, g, 'roBind', a, b);
      return;
    case '--ro-bind-try':
      st.sb = call(sb, CMD, g, 'roBind', a, b, { optional: true });
      return;
    case '--remount-ro':
      st.sb = call(sb, CMD, g, 'readonly', a);
      return;
    case '--size':
      st.nextSize = integer(flag, a);
      return;
    case '--perms':
      if (!/^[0-7]{1,4}$/.test(a)) throw bad(flag, `expected an octal mode like 0755, got '${a}'`);
      st.nextPerms = parseInt(a, 8);
      return;
    case '--tmpfs': {
      const o: Record<string, number> = {};
      if (st.nextSize !== undefined) o.size = st.nextSize;
      if (st.nextPerms !== undefined) o.mode = st.nextPerms;
      st.nextSize = st.nextPerms = undefined;
      st.sb = call(sb, CMD, g, 'tmpfs', a, o);
      return;
    }
    case '--dir': {
      const mode = st.nextPerms;
      st.nextPerms = undefined;
      st.sb = mode === undefined ? call(sb, CMD, g, 'dir', a) : call(sb, CMD, g, 'dir', a, mode);
      return;
    }
    case '--proc':
      st.sb = call(sb, CMD, g, 'proc', a);
      return;
    case '--dev':
      st.sb = call(sb, CMD, g, 'dev', a);
      return;
    case '--mqueue':
      st.sb = call(sb, CMD, g, 'mqueue', a);
      return;
    case '--symlink':
      st.sb = call(sb, CMD, g, 'symlink', a, b);
      return;
    case '--setenv':
      st.envKeys.add(a);
      st.sb = call(sb, CMD, g, 'env', { [a]: b });
      return;
    case '--unsetenv':
      st.sb = call(sb, CMD, g, 'env', { [a]: null });
      return;
    case '--clearenv': {
      const cleared = Object.fromEntries([...st.envKeys, ...Object.keys(sb.options.env ?? {})].map((k) => [k, null]));
      st.envKeys.clear();
      st.sb = call(sb, CMD, g, 'env', cleared, { inherit: false });
      return;
    }
    case '--cap-add':
    case '--cap-drop':
      st.sb = capabilities(st, flag, flag.name === '--cap-add');
      return;
    case '--memory':
      st.sb = mergeLimits(st, flag, { memory: size(flag, a) });
      return;
    case '--memory-swap':
      st.sb = mergeLimits(st, flag, { memorySwap: size(flag, a) });
      return;
    case '--pids':
      st.sb = mergeLimits(st, flag, { pids: integer(flag, a) });
      return;
    case '--cpus':
      st.sb = mergeLimits(st, flag, { cpu: number(flag, a) });
      return;
    case '--cpu-weight':
      st.sb = mergeLimits(st, flag, { cpuWeight: integer(flag, a) });
      return;
    case '--json-status-fd':
      st.statusFd = integer(flag, a);
      return;
    case '--deny-read':
      st.sb = policyFlag(st, flag, 'readDeny');
      return;
    case '--allow-write':
      st.sb = policyFlag(st, flag, 'writeAllow');
      return;
    case '--deny-write':
      st.sb = policyFlag(st, flag, 'writeDeny');
      return;
    case '--landlock': {
      // Landlock required: the run fails where the kernel has none instead of relying on
      // the mounts alone.
      const current = (sb.options as Record<string, unknown>).landlock as Record<string, unknown> | undefined;
      st.sb = call(sb, CMD, g, 'landlock', current ?? {});
      return;
    }
    default:
      // --config and --help are handled by the command before the flags are applied.
      throw bad(flag, 'is not allowed here');
  }
}
