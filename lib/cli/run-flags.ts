// `nsbind run` flags: util-linux unshare's names where unshare has the concept,
// bubblewrap's for the rest, and each one's translation into builder calls. Flags are
// applied in the order written (filesystem steps run in that order, as in bwrap).
import type { NamespaceType, SandboxOptions } from '../options.js';
// The public index, not sandbox.js: other parts of nsbind add their builder methods and
// spawn steps when the index loads them, and the CLI must see what a program sees.
import { sandbox, type Sandbox } from '../index.js';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { subidRanges } from '../doctor/ids.js';
import { CAPABILITIES } from '../security/capabilities.js';
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
  { names: ['--map-user'], arity: 1, metavar: ['UID|NAME'] },
  { names: ['--map-group'], arity: 1, metavar: ['GID|NAME'] },
  { names: ['--map-users'], arity: 1, metavar: ['INNER:OUTER:COUNT|OUTER,INNER,COUNT|auto'] },
  { names: ['--map-groups'], arity: 1, metavar: ['INNER:OUTER:COUNT|OUTER,INNER,COUNT|auto'] },
  { names: ['--map-auto'], arity: 0 },
  { names: ['--map-subids'], arity: 0 },
  { names: ['--keep-caps'], arity: 0 },
  { names: ['--kill-child'], arity: 'optional', metavar: ['SIGNAL'] },
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
  { names: ['--clear-env'], arity: 0 },
  { names: ['--whitelist-env'], arity: 1, metavar: ['VAR,VAR...'] },
  { names: ['--env', '-e'], arity: 1, metavar: ['VAR=VALUE'] },
  { names: ['--argv0'], arity: 1, metavar: ['VALUE'] },
  { names: ['--file'], arity: 2, metavar: ['FD', 'DEST'] },
  { names: ['--bind-data'], arity: 2, metavar: ['FD', 'DEST'] },
  { names: ['--ro-bind-data'], arity: 2, metavar: ['FD', 'DEST'] },
  { names: ['--overlay-src'], arity: 1, metavar: ['SRC'] },
  { names: ['--overlay'], arity: 3, metavar: ['RWSRC', 'WORKDIR', 'DEST'] },
  { names: ['--tmp-overlay'], arity: 1, metavar: ['DEST'] },
  { names: ['--ro-overlay'], arity: 1, metavar: ['DEST'] },
  { names: ['--seccomp'], arity: 1, metavar: ['FD'] },
  { names: ['--seccomp-deny'], arity: 1, metavar: ['SYSCALL,SYSCALL...'] },
  { names: ['--disable-userns'], arity: 0 },
  { names: ['--assert-userns-disabled'], arity: 0 },
  { names: ['--timeout'], arity: 1, metavar: ['SECONDS'] },
  { names: ['--rlimit'], arity: 1, metavar: ['NAME=SOFT[:HARD]'] },
  { names: ['--cap-add'], arity: 1, metavar: ['CAP'] },
  { names: ['--cap-drop'], arity: 1, metavar: ['CAP'] },
  { names: ['--die-with-parent'], arity: 0 },
  { names: ['--lock-file'], arity: 1, metavar: ['DEST'] },
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
  /** Options of the spawn itself (`--argv0`, `--timeout`). */
  spawn: { argv0?: string; timeout?: number; dieWithParent?: boolean };
  /** bwrap's `--overlay-src` layers, consumed by the next `--overlay`/`--tmp-overlay`/`--ro-overlay`. */
  overlaySrc: string[];
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

type IdRange = { inside: number; outside: number; count: number };

/**
 * util-linux's two spellings: since 2.39 `INNER:OUTER:COUNT` (the order of
 * /proc/PID/uid_map); before, `OUTER,INNER,COUNT` -- which 2.39 still reads, in its
 * old order. Mixing the separators is refused rather than guessed.
 */
export function idRange(flag: ParsedFlag, text: string): IdRange {
  const colon = /^(\d+):(\d+):(\d+)$/.exec(text);
  if (colon) return { inside: Number(colon[1]), outside: Number(colon[2]), count: Number(colon[3]) };
  const comma = /^(\d+),(\d+),(\d+)$/.exec(text);
  if (comma) return { outside: Number(comma[1]), inside: Number(comma[2]), count: Number(comma[3]) };
  throw bad(flag, `expected INNER:OUTER:COUNT (or the older OUTER,INNER,COUNT) or auto, got '${text}'`);
}

/**
 * unshare's `--map-user=<uid>|<name>` / `--map-group=<gid>|<name>`: a number, or a name
 * as getpwnam()/getgrnam() resolve it (through getent, so NSS sources count too).
 */
function idOrName(flag: ParsedFlag, text: string, kind: 'uid' | 'gid'): number {
  if (/^\d+$/.test(text)) return Number(text);
  const db = kind === 'uid' ? 'passwd' : 'group';
  let line = '';
  try {
    if (/^[^:\s]+$/.test(text)) line = execFileSync('getent', [db, text], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    // Not found (exit 2), or no getent: said below.
  }
  const id = line.split('\n')[0].split(':')[2];
  if (id === undefined || !/^\d+$/.test(id)) throw bad(flag, `expected a ${kind} or a ${kind === 'uid' ? 'user' : 'group'} name, got '${text}' (no such ${kind === 'uid' ? 'user' : 'group'})`);
  return Number(id);
}

/** The caller's first block in /etc/subuid or /etc/subgid (what util-linux's `auto` uses). */
function firstSubidBlock(flag: ParsedFlag, kind: 'uid' | 'gid'): { start: number; count: number } {
  const file = kind === 'uid' ? '/etc/subuid' : '/etc/subgid';
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    // A missing file is the same as no line for us, said below.
  }
  const uid = process.geteuid!();
  let name = String(uid);
  try {
    name = userInfo().username;
  } catch {
    // No passwd entry: only a numeric line can match.
  }
  const block = subidRanges(text, name, uid)[0];
  if (!block) throw bad(flag, `no line for user ${name} in ${file} (sudo usermod --add-sub${kind}s 100000-165535 ${name})`);
  return block;
}

/** uid/gid maps of one id each: inside `uid`/`gid` is the caller's own id. */
function ownIdMaps(uid: number, gid: number): { uid: undefined; gid: undefined; uidMap: IdRange[]; gidMap: IdRange[] } {
  return {
    uid: undefined, gid: undefined,
    uidMap: [{ inside: uid, outside: process.geteuid!(), count: 1 }],
    gidMap: [{ inside: gid, outside: process.getegid!(), count: 1 }],
  };
}

function addRange(st: RunState, flag: ParsedFlag, kind: 'uid' | 'gid', range: IdRange): void {
  const key = kind === 'uid' ? 'uidMap' : 'gidMap';
  const existing = ((st.sb.options.namespaces?.user || undefined)?.[key] ?? []) as object[];
  st.sb = withNamespace(st.sb, CMD, flag.given, 'user', { [key]: [...existing, range], [kind]: undefined });
}

/** Reads an inherited file descriptor to its end (bwrap's `--file FD`, `--seccomp FD`). */
function readFd(flag: ParsedFlag, text: string): Buffer {
  const fd = integer(flag, text);
  try {
    return readFileSync(fd);
  } catch (e) {
    throw bad(flag, `cannot read file descriptor ${fd}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function overlay(st: RunState, flag: ParsedFlag, dst: string, rw?: { upper: string; work: string }): void {
  if (st.overlaySrc.length === 0) throw bad(flag, 'needs at least one --overlay-src before it');
  // bwrap stacks the sources in the order given, the last on top; overlayfs lists the
  // top-most first.
  const lower = [...st.overlaySrc].reverse();
  st.overlaySrc = [];
  st.sb = call(st.sb, CMD, flag.given, 'overlay', dst, { lower, ...(rw ?? {}) });
}

function mergeLimits(st: RunState, flag: ParsedFlag, patch: Record<string, unknown>): Sandbox {
  const current = (st.sb.options as Record<string, unknown>).limits as Record<string, unknown> | undefined;
  return call(st.sb, CMD, flag.given, 'limits', { ...(current ?? {}), ...patch });
}

/**
 * The capabilities this process holds (its permitted set): "ALL but one" can only keep
 * what there is to keep (a container's root often lacks some).
 */
function heldCapabilities(): string[] {
  let mask = 0n;
  try {
    const m = /^CapPrm:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) mask = BigInt(`0x${m[1]}`);
  } catch {
    return Object.keys(CAPABILITIES);
  }
  return Object.entries(CAPABILITIES).filter(([, n]) => (mask >> BigInt(n)) & 1n).map(([name]) => name);
}

function capabilities(st: RunState, flag: ParsedFlag, add: boolean): Sandbox {
  const cap = flag.values[0].toUpperCase();
  const current = (st.sb.options as Record<string, unknown>).capabilities as string | string[] | undefined;
  let next: string | string[];
  if (cap === 'ALL') next = add ? 'all' : 'none';
  else {
    const name = cap.startsWith('CAP_') ? cap : `CAP_${cap}`;
    if (current === 'all' && add) return st.sb;
    if (!Object.hasOwn(CAPABILITIES, name)) throw bad(flag, `unknown capability '${flag.values[0]}' (names are those of capabilities(7), e.g. CAP_NET_ADMIN)`);
    // Dropping one from ALL (bwrap as root keeps them all): every known one but it.
    // In a new user namespace the program holds every capability (over that namespace);
    // without one, only what this process holds can be kept.
    const inUserns = !!(st.sb.options.namespaces as Record<string, unknown> | undefined)?.user;
    const known = current === 'all' ? (inUserns ? Object.keys(CAPABILITIES) : heldCapabilities()) : Array.isArray(current) ? current : [];
    const list = known.filter((c) => c !== name);
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
    case '--new-session':
      // nsbind always forks and starts a new session by default.
      return;
    case '--die-with-parent':
      // The sandbox already dies with nsbind; this makes nsbind die with its own parent.
      st.spawn.dieWithParent = true;
      return;
    case '--lock-file':
      st.sb = call(sb, CMD, g, 'lockFile', a);
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
    // Explicit one-id maps of the caller's own ids, as unshare writes them: for a root
    // caller that is host 0, which the CLI user asked for by name (the library's default
    // map for root is unprivileged; SPEC 2.1).
    case '--map-root-user':
      st.sb = withNamespace(sb, CMD, g, 'user', { ...ownIdMaps(0, 0), setgroups: 'deny' });
      return;
    case '--map-current-user':
      st.sb = withNamespace(sb, CMD, g, 'user', { ...ownIdMaps(process.geteuid!(), process.getegid!()), setgroups: 'deny' });
      return;
    // unshare's --map-user/--map-group deny setgroups as -r does; bwrap's --uid/--gid do not.
    case '--map-user':
    case '--uid':
      st.sb = withNamespace(sb, CMD, g, 'user', flag.name === '--map-user'
        ? { uidMap: [{ inside: idOrName(flag, a, 'uid'), outside: process.geteuid!(), count: 1 }], uid: undefined, setgroups: 'deny' as const }
        : { uid: integer(flag, a), uidMap: undefined });
      return;
    case '--map-group':
    case '--gid':
      st.sb = withNamespace(sb, CMD, g, 'user', flag.name === '--map-group'
        ? { gidMap: [{ inside: idOrName(flag, a, 'gid'), outside: process.getegid!(), count: 1 }], gid: undefined, setgroups: 'deny' as const }
        : { gid: integer(flag, a), gidMap: undefined });
      return;
    case '--map-users':
    case '--map-groups': {
      const kind = flag.name === '--map-users' ? 'uid' : 'gid';
      if (a === 'auto') {
        const b = firstSubidBlock(flag, kind);
        addRange(st, flag, kind, { inside: 0, outside: b.start, count: b.count });
      } else addRange(st, flag, kind, idRange(flag, a));
      return;
    }
    case '--map-auto':
      // util-linux: --map-users=auto --map-groups=auto (the first block from 0 inside).
      for (const kind of ['uid', 'gid'] as const) {
        const b = firstSubidBlock(flag, kind);
        addRange(st, flag, kind, { inside: 0, outside: b.start, count: b.count });
      }
      return;
    case '--map-subids':
      // util-linux: the first block mapped onto the same ids inside.
      for (const kind of ['uid', 'gid'] as const) {
        const b = firstSubidBlock(flag, kind);
        addRange(st, flag, kind, { inside: b.start, outside: b.start, count: b.count });
      }
      return;
    case '--keep-caps':
      // unshare: the capabilities the new user namespace grants survive the exec.
      st.sb = call(sb, CMD, g, 'capabilities', 'all');
      return;
    case '--kill-child':
      // unshare: kill the program when unshare dies. nsbind does that always (with SIGKILL,
      // through the init's parent-death signal); another signal is not offered. Unlike
      // --die-with-parent, nsbind itself does not end with its own parent (nor does unshare).
      if (a !== undefined && !/^(SIG)?KILL$|^9$/i.test(a)) {
        throw bad(flag, `nsbind ends the sandbox with SIGKILL when it dies; '${a}' cannot be chosen`);
      }
      st.sb = call(sb, CMD, g, 'dieWithParent', true);
      return;
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
      if (st.nextSize !== undefined) throw bad(flag, 'given twice for the same --tmpfs');
      st.nextSize = integer(flag, a);
      return;
    case '--perms':
      if (!/^0*[0-7]{1,4}$/.test(a)) throw bad(flag, `expected an octal mode like 0755, got '${a}'`);
      if (st.nextPerms !== undefined) throw bad(flag, 'given twice for the same operation');
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
    case '--clear-env':
      st.envKeys.clear();
      st.sb = call(sb, CMD, g, 'env', Object.fromEntries(Object.keys(sb.options.env ?? {}).map((k) => [k, null])), { inherit: false });
      return;
    case '--whitelist-env': {
      // Start empty and copy only the named variables from nsbind's own environment.
      const keep: Record<string, string> = {};
      for (const name of a.split(',').filter(Boolean)) if (process.env[name] !== undefined) keep[name] = process.env[name]!;
      st.sb = call(sb, CMD, g, 'env', keep, { inherit: false });
      return;
    }
    case '--env': {
      const eq = a.indexOf('=');
      if (eq <= 0) throw bad(flag, `expected VAR=VALUE, got '${a}'`);
      st.envKeys.add(a.slice(0, eq));
      st.sb = call(sb, CMD, g, 'env', { [a.slice(0, eq)]: a.slice(eq + 1) });
      return;
    }
    case '--argv0':
      st.spawn.argv0 = a;
      return;
    case '--file':
    case '--bind-data':
    case '--ro-bind-data': {
      const mode = st.nextPerms ?? (flag.name === '--file' ? 0o666 : 0o600);
      st.nextPerms = undefined;
      // bwrap: --file writes a file (where the sandbox may create one); the -data flags
      // bind a file of their own over DEST, which may be a host file the sandbox sees.
      st.sb = flag.name === '--file' ? call(sb, CMD, g, 'file', b, readFd(flag, a), mode) : call(sb, CMD, g, 'file', b, readFd(flag, a), mode, { bind: true });
      if (flag.name === '--ro-bind-data') st.sb = call(st.sb, CMD, g, 'readonly', b);
      return;
    }
    case '--overlay-src':
      st.overlaySrc.push(a);
      return;
    case '--overlay':
      overlay(st, flag, flag.values[2], { upper: a, work: b });
      return;
    case '--tmp-overlay':
      overlay(st, flag, a);
      return;
    case '--ro-overlay':
      overlay(st, flag, a);
      st.sb = call(st.sb, CMD, g, 'readonly', a);
      return;
    case '--seccomp':
      st.sb = call(sb, CMD, g, 'seccomp', new Uint8Array(readFd(flag, a)));
      return;
    case '--seccomp-deny':
      st.sb = call(sb, CMD, g, 'seccomp', { deny: a.split(',').filter(Boolean) });
      return;
    case '--disable-userns':
    case '--assert-userns-disabled':
      // nsbind's default seccomp filter already refuses new user namespaces inside; these
      // only insist that it stays on.
      if (sb.options.seccomp !== undefined && sb.options.seccomp !== 'default' &&
          !(typeof sb.options.seccomp === 'object' && 'base' in sb.options.seccomp && sb.options.seccomp.base === 'default')) {
        throw bad(flag, 'needs the default seccomp filter (it refuses user namespaces inside); a --seccomp program replaces it');
      }
      return;
    case '--timeout': {
      const seconds = number(flag, a);
      st.spawn.timeout = Math.round(seconds * 1000);
      return;
    }
    case '--rlimit': {
      const m = /^([a-z_]+)=([^:]+)(?::(.+))?$/i.exec(a);
      if (!m) throw bad(flag, `expected NAME=SOFT[:HARD] like nofile=256 or core=0, got '${a}'`);
      const val = (x: string) => (x === 'unlimited' || x === 'infinity' ? 'unlimited' : integer(flag, x));
      const name = m[1].toLowerCase().replace(/^rlimit_/, '');
      st.sb = call(sb, CMD, g, 'rlimits', { [name]: m[3] === undefined ? val(m[2]) : [val(m[2]), val(m[3])] });
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
