// Builder options -> what the addon needs: clone flags, the parent's steps (id maps,
// time offsets) and the child's ordered ops. This is the one place that decides order:
//
//   (clone: user, pid, mnt, uts, ipc, net, time namespaces; the parent writes id maps
//    and time offsets while the child waits)
//   propagation -> cgroup ns -> hostname -> lo up -> filesystem steps -> setsid ->
//   umask -> groups/gid/uid -> die-with-parent again -> cwd -> exec (through the init
//   when there is a new pid namespace)
//
// Why this order: mounts need the capabilities the user namespace gives, so they come
// before the uid switch (which drops them); the cgroup namespace is created after the
// parent has put the setup in its cgroup, so that cgroup is the namespace's root;
// PR_SET_PDEATHSIG is cleared by a credential change and set again after it.
//
// Which process runs which ops (the setup child, which shares the Node process's memory
// until its exec, or nsbind-init, with memory of its own) is decided in plan/takeover.ts.
import { constants as osConstants, userInfo } from 'node:os';
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { initBinary, native, type NativeSpawnRequest } from './binding.js';
import { invalid, nsbindError } from './errors.js';
import { userOptions, type IdMapEntry, type NamespaceType, type SandboxOptions } from './options.js';
import { mapped, ownNamespaceHas, ownSetgroupsAllowed, rootBase, rootDefaultMap } from './namespaces/idmap.js';
import { CHDIR_FALLBACK_ROOT, EXEC_VIA_INIT, Op } from './plan/layout.js';
import { kernelRelease, timeEnteredAtExec } from './fs/kernel.js';
import { initTakeover } from './plan/takeover.js';
import { PlanWriter } from './plan/writer.js';
import { cloneFlag } from './namespaces/types.js';
import { joinPhase } from './namespaces/join.js';
import { subidRanges } from './doctor/ids.js';

const MS_PRIVATE = 1 << 18;
const MS_SLAVE = 1 << 19;
const MS_SHARED = 1 << 20;
const DEFAULT_PATH = '/usr/local/bin:/usr/bin:/bin';

export interface SpawnInput {
  file: string;
  args: string[];
  argv0?: string;
  /** The program's environment; omitted, it inherits the process's (see sandbox.ts). */
  env?: Record<string, string>;
  /** How many descriptors the program gets (stdio slots). */
  nfds: number;
  extraFds?: number[];
  /** stdin is a pseudo-terminal to make the session's controlling terminal. */
  pty?: boolean;
}

export interface CompiledPlan {
  request: Omit<NativeSpawnRequest, 'stdio'>;
  /** Step names by op index, for error reports. */
  steps: string[];
  /** The step name of the program's exec. */
  execStep: string;
  /** Namespace types created for the sandbox, and `landlock` when a ruleset is applied. */
  isolation: Isolation;
  /** Descriptors the parent opened for the child (namespaces to join): closed after the spawn. */
  transientFds: number[];
}

/** Hooks by which other concerns (filesystem, security, cgroups, network) add their ops. */
export interface PlanContext {
  options: SandboxOptions;
  writer: PlanWriter;
  request: Omit<NativeSpawnRequest, 'stdio'>;
  created: Set<NamespaceType>;
  privileged: boolean;
  /** Descriptors opened for the child: closed once the spawn has its copies. */
  transientFds: number[];
  /** The new user namespace's maps and ids (undefined: none created). */
  maps?: IdMaps;
  /** Whether identity() has switched to the namespace's ids. */
  identityDone?: boolean;
  /** How many writable trees are idmapped (lib/fs/compile.ts). */
  idmapped?: number;
  /** What else was applied, for `isolation` (e.g. `landlock`: the ABI). */
  isolationExtra: { landlock?: number };
}

/** The namespaces created, and what else was applied (`landlock`: the ABI). */
export type Isolation = NamespaceType[] & { landlock?: number };

type Phase = (ctx: PlanContext) => void;
const filesystemPhases: Phase[] = [];
const beforeCredentialsPhases: Phase[] = [];
const beforeExecPhases: Phase[] = [];

/** Registers ops to run where filesystem steps run (after lo, before setsid). */
export function addFilesystemPhase(p: Phase): void {
  filesystemPhases.push(p);
}
/** Registers ops that run just before the uid/gid switch (e.g. rlimits). */
export function addBeforeCredentialsPhase(p: Phase): void {
  beforeCredentialsPhases.push(p);
}
/** Registers ops that run last, after cwd, right before exec (capabilities, seccomp). */
export function addBeforeExecPhase(p: Phase): void {
  beforeExecPhases.push(p);
}

export function isPrivileged(): boolean {
  return process.geteuid?.() === 0;
}

/**
 * The namespace types this sandbox creates, after what other options imply: filesystem
 * steps need a mount namespace, `.proc()` a pid namespace, and every sandbox a user
 * namespace (SPEC 2.1: root's and an unprivileged caller's bare `sandbox()` included), unless
 * it says `.user(false)` or joins one. A sandbox that joins other namespaces and says
 * nothing of users gets none: a new user namespace would own none of them, and joining
 * needs capabilities over their owner.
 */
export function createdNamespaces(options: SandboxOptions, privileged = isPrivileged()): Set<NamespaceType> {
  const out = new Set<NamespaceType>();
  const ns = options.namespaces ?? {};
  for (const [type, o] of Object.entries(ns) as [NamespaceType, { join?: unknown } | undefined][]) {
    if (o && o.join === undefined) out.add(type);
  }
  const fs = options.fs ?? [];
  if (fs.length > 0 && ns.mnt?.join === undefined) out.add('mnt');
  if (fs.some((s) => s.op === 'proc') && ns.pid?.join === undefined) out.add('pid');
  // An mqueue mount shows the IPC namespace's queues: the sandbox's own, not the host's.
  if (fs.some((s) => s.op === 'mqueue') && ns.ipc?.join === undefined) out.add('ipc');
  const user = ns.user;
  const joinsOthers = Object.values(ns).some((o) => o && o.join !== undefined);
  if (user !== false && user?.join === undefined && (user !== undefined || !joinsOthers)) out.add('user');
  return out;
}


function mapText(entries: IdMapEntry[]): string {
  return entries.map((e) => `${e.inside} ${e.outside} ${e.count}\n`).join('');
}

function findHelper(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(delimiter).concat(['/usr/bin', '/usr/sbin'])) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/**
 * setgroups in a new user namespace: allowed for root, denied for an unprivileged caller
 * (the kernel takes its gid map only so) -- and for root of a namespace that denies it
 * itself (a rootless container: a child namespace cannot allow what its parent denies).
 */
function defaultSetgroups(privileged: boolean): 'allow' | 'deny' {
  return privileged && ownSetgroupsAllowed() ? 'allow' : 'deny';
}

/** A new user namespace's maps, and the ids the program runs as inside (SPEC 2.1). */
export interface IdMaps {
  uidMap: IdMapEntry[];
  gidMap: IdMapEntry[];
  uid: number;
  gid: number;
}

/**
 * The maps (see namespaces/idmap.ts for a root caller's default) and the program's ids:
 * `uid`/`gid` (default 0), or with a map of the user's, 0 when it maps 0, else its first id.
 */
export function idMaps(options: SandboxOptions, privileged = isPrivileged()): IdMaps {
  const u = userOptions(options) ?? {};
  const as = options.as ?? {};
  const euid = process.geteuid!();
  const egid = process.getegid!();
  const ubase = privileged ? rootBase('uid') : undefined;
  const gbase = privileged ? rootBase('gid') : undefined;
  const same = (kind: 'uid' | 'gid', ids: (number | undefined)[]) =>
    ids.filter((id): id is number => id !== undefined && ownNamespaceHas(kind, id, 1));
  const uidMap =
    u.uidMap ??
    (ubase
      ? rootDefaultMap(ubase.range, u.uid ?? 0, same('uid', [as.uid]))
      : [{ inside: u.uid ?? 0, outside: euid, count: 1 }]);
  const gidMap =
    u.gidMap ??
    (gbase
      ? rootDefaultMap(gbase.range, u.gid ?? 0, same('gid', [as.gid, ...(as.groups ?? [])]))
      : [{ inside: u.gid ?? 0, outside: egid, count: 1 }]);
  const runAs = (map: IdMapEntry[], given: number | undefined, option: string): number => {
    const id = given ?? (mapped(map, 0) !== undefined ? 0 : Math.min(...map.map((e) => e.inside)));
    if (mapped(map, id) === undefined) {
      throw invalid(option, `${id} is not mapped in the user namespace`, 'give an id inside your subordinate range, or a uidMap/gidMap');
    }
    return id;
  };
  return { uidMap, gidMap, uid: runAs(uidMap, u.uid, 'user.uid'), gid: runAs(gidMap, u.gid, 'user.gid') };
}

/** uid_map/gid_map for a new user namespace: written directly, or by newuidmap/newgidmap. */
function userMaps(options: SandboxOptions, maps: IdMaps, request: Omit<NativeSpawnRequest, 'stdio'>, privileged: boolean): void {
  const u = userOptions(options) ?? {};
  const euid = process.geteuid!();
  const egid = process.getegid!();
  const { uidMap, gidMap } = maps;
  const setgroups = u.setgroups ?? defaultSetgroups(privileged);
  const ownOnly = (m: IdMapEntry[], own: number) => m.length === 1 && m[0].count === 1 && m[0].outside === own;

  if (privileged || ownOnly(uidMap, euid)) {
    request.uidMap = mapText(uidMap);
  } else {
    const helper = findHelper('newuidmap');
    if (!helper) throw missingHelper('newuidmap', 'user.uidMap');
    request.newuidmap = [helper, ...uidMap.flatMap((e) => [e.inside, e.outside, e.count].map(String))];
  }
  // Without privileges the kernel takes a gid map only once setgroups is denied; a map
  // beyond our own gid, or setgroups allowed, needs the setuid helper.
  if (privileged || (ownOnly(gidMap, egid) && setgroups === 'deny')) {
    request.setgroups = setgroups;
    request.gidMap = mapText(gidMap);
  } else {
    const helper = findHelper('newgidmap');
    if (!helper) throw missingHelper('newgidmap', u.gidMap ? 'user.gidMap' : 'user.setgroups');
    if (setgroups === 'deny') request.setgroups = 'deny';
    else refuseUngrantedSetgroups(gidMap);
    request.newgidmap = [helper, ...gidMap.flatMap((e) => [e.inside, e.outside, e.count].map(String))];
  }
}

/**
 * newgidmap allows setgroups only when /etc/subgid grants one of the mapped ranges; a
 * map of just our own gid makes it write "deny" instead. Asked for 'allow', the caller
 * must get it or an error, never a sandbox that silently differs (read only here, off
 * the default path).
 */
function refuseUngrantedSetgroups(gidMap: IdMapEntry[]): void {
  let text = '';
  try {
    text = readFileSync('/etc/subgid', 'utf8');
  } catch {
    // no file: nothing is granted
  }
  let name = '';
  try {
    name = userInfo().username;
  } catch {
    // no passwd entry: only a numeric line can match
  }
  const ranges = subidRanges(text, name, process.geteuid!());
  const granted = gidMap.some((e) => ranges.some((r) => e.outside >= r.start && e.outside + e.count <= r.start + r.count));
  if (!granted) {
    throw nsbindError('ERR_NSBIND_SETGROUPS', "user.setgroups: 'allow' needs a gid range of yours in /etc/subgid in the gid map (newgidmap denies setgroups for a map of only your own gid)", {
      option: 'user.setgroups',
      hint: `give ${name || 'your user'} a range in /etc/subgid and map it with .user({ gidMap }), run as root, or leave setgroups 'deny'`,
    });
  }
}

function missingHelper(name: string, option: string) {
  return nsbindError('ERR_NSBIND_NO_IDMAP_HELPER', `${option}: mapping ids beyond your own needs ${name}, which is not installed`, {
    option,
    hint: `install it (Debian/Ubuntu: apt-get install uidmap) and give your user ranges in /etc/subuid and /etc/subgid`,
  });
}

function propagationFlag(p: string): number {
  return p === 'slave' ? MS_SLAVE : p === 'shared' ? MS_SHARED : MS_PRIVATE;
}

// Compiled plans, per Sandbox: its options are deep-frozen (immutable builders), so a
// plan depends only on them and on the few inputs in cacheKey(); compiling costs ~40 us
// of the JS thread per spawn (~100 us under load, plus garbage) and a cache hit ~2 us
// (bench/README.md). Keyed on the options object itself: a Sandbox that is collected
// takes its plans with it.
const planCache = new WeakMap<SandboxOptions, Map<string, CompiledPlan>>();
const PLAN_CACHE_MAX = 32;

/**
 * What a plan depends on besides the options, or undefined when it must be compiled per
 * spawn: namespaces to join (descriptors opened now, pids that may be gone), descriptors
 * passed in, an environment of its own (PATH lookup, envp).
 */
function cacheKey(options: SandboxOptions, input: SpawnInput): string | undefined {
  if (input.env !== undefined || (input.extraFds !== undefined && input.extraFds.length > 0)) return undefined;
  const ns = options.namespaces;
  if (ns) for (const t in ns) if ((ns as Record<string, { join?: unknown } | undefined>)[t]?.join !== undefined) return undefined;
  // argv is not in the plan (it is put in per spawn); cwd, PATH and the ids are host
  // state the plan reads (the default cwd, the PATH lookup, the id maps and newuidmap).
  // (getegid only where a user namespace may be made: each id is a syscall, ~1 us.)
  const euid = process.geteuid?.();
  const gid = euid !== 0 || ns?.user ? process.getegid?.() : '';
  return `${input.file}\0${input.nfds}\0${process.cwd()}\0${process.env.PATH}\0${euid}:${gid}`;
}

export function compile(options: SandboxOptions, input: SpawnInput): CompiledPlan {
  const key = cacheKey(options, input);
  const plans = key === undefined ? undefined : planCache.get(options);
  const hit = key === undefined ? undefined : plans?.get(key);
  if (hit) {
    return {
      ...hit,
      request: { ...hit.request, argv: [input.argv0 ?? input.file, ...input.args] },
      isolation: [...hit.isolation],
      transientFds: [],
    };
  }
  // Descriptors opened for the child (namespaces to join) must not leak if a later
  // check refuses the plan.
  const transientFds: number[] = [];
  let plan: CompiledPlan;
  try {
    plan = compileWith(options, input, transientFds);
  } catch (e) {
    for (const fd of transientFds) native().close(fd);
    throw e;
  }
  if (key !== undefined && transientFds.length === 0) {
    let m = plans;
    if (!m) planCache.set(options, (m = new Map()));
    if (m.size >= PLAN_CACHE_MAX) m.clear();
    // Kept frozen: what callers get shares the plan Buffer, the steps and the maps.
    m.set(key, { ...plan, request: { ...plan.request }, isolation: [...plan.isolation], transientFds: [] });
  }
  return plan;
}

function compileWith(options: SandboxOptions, input: SpawnInput, transientFds: number[]): CompiledPlan {
  const privileged = isPrivileged();
  const created = createdNamespaces(options, privileged);
  const ns = options.namespaces ?? {};
  const w = new PlanWriter();
  const request: Omit<NativeSpawnRequest, 'stdio'> = {
    plan: Buffer.alloc(0),
    argv: [input.argv0 ?? input.file, ...input.args],
    cloneFlags: 0,
    extraFds: input.extraFds ?? [],
  };
  if (input.env) request.envp = Object.entries(input.env).map(([k, v]) => `${k}=${v}`);
  const maps = created.has('user') ? idMaps(options, privileged) : undefined;
  const ctx: PlanContext = { options, writer: w, request, created, privileged, transientFds, maps, isolationExtra: {} };

  for (const t of created) if (t !== 'cgroup') request.cloneFlags |= cloneFlag(t);
  if (maps) userMaps(options, maps, request, privileged);
  if (created.has('time')) {
    const t = ns.time ?? {};
    if (t.monotonic || t.boottime) {
      request.timeOffsets = `monotonic ${t.monotonic ?? 0} 0\nboottime ${t.boottime ?? 0} 0\n`;
    }
  }
  if (options.dieWithParent !== false) request.pdeathsig = osConstants.signals.SIGKILL;

  // Joining existing namespaces comes first: what follows acts inside them.
  const joinedNeedsFork = joinPhase(ctx, transientFds).viaInit;

  if (created.has('mnt')) {
    const p = ns.mnt?.propagation ?? 'private';
    if (p !== 'unchanged') {
      w.op(Op.PROPAGATION, `make / ${p}`, { n: [propagationFlag(p)] });
    }
  }
  if (created.has('cgroup')) {
    w.op(Op.UNSHARE, 'cgroup namespace', { n: [native().constants.CLONE_NEWCGROUP] });
  }
  if (created.has('uts')) {
    const { hostname, domainname } = ns.uts ?? {};
    if (hostname !== undefined) w.op(Op.SETHOSTNAME, `hostname ${hostname}`, { s: [w.str(hostname)] });
    if (domainname !== undefined) w.op(Op.SETDOMAINNAME, `domainname ${domainname}`, { s: [w.str(domainname)] });
  }
  if (created.has('net') && ns.net?.loopback !== false) w.op(Op.LOOPBACK_UP, 'bring lo up');
  for (const phase of filesystemPhases) phase(ctx);

  // A pty needs a session of its own to be its controlling terminal (spawn() refuses a
  // pty with newSession(false)).
  if (input.pty) w.op(Op.SETCTTY, 'controlling terminal', { n: [0] });
  else if (options.newSession !== false) w.op(Op.SETSID, 'setsid');
  if (options.umask !== undefined) w.op(Op.UMASK, 'umask', { n: [options.umask] });
  for (const phase of beforeCredentialsPhases) phase(ctx);
  identity(ctx, maps);
  credentials(ctx);

  const rootChanged = (options.fs ?? []).some((s) => s.op === 'root' || s.op === 'chroot');
  if (options.cwd !== undefined) {
    w.op(Op.CHDIR, `cwd ${options.cwd}`, { s: [w.str(options.cwd)] });
  } else {
    const cwd = rootChanged ? '/' : process.cwd();
    w.op(Op.CHDIR, `cwd ${cwd}`, { s: [w.str(cwd)], flags: CHDIR_FALLBACK_ROOT });
  }
  for (const phase of beforeExecPhases) phase(ctx);

  const path = input.file.includes('/') ? '' : ((input.env ?? process.env).PATH ?? DEFAULT_PATH);
  const execStep = `execve ${input.file}`;
  // A joined pid namespace holds only the joiner's children: the init forks the program
  // into it. A sandbox with limits always has the init as its supervisor, with or without
  // a pid namespace: it kills the whole cgroup when Node dies (unless the program itself
  // is PID 1: `pid({ init: false })`, whose death the kernel turns into the namespace's).
  const limits = options.limits !== undefined;
  // A time namespace is entered at exec only on new kernels; before, only by a fork: the
  // init forks the program (lib/fs/kernel.ts).
  const timeByFork = created.has('time') && !(created.has('pid') && ns.pid?.init === false) && !timeEnteredAtExec(kernelRelease());
  const viaInit =
    (created.has('pid') && ns.pid?.init !== false) || joinedNeedsFork || (limits && !created.has('pid')) || timeByFork;
  w.op(Op.EXEC, execStep, { s: [w.str(input.file), w.str(path)], flags: viaInit ? EXEC_VIA_INIT : 0 });
  // No task that shares Node's memory may ever be in a limited cgroup (SPEC 4).
  const from = initTakeover(w, { viaInit, privileged, wholeSetup: limits || request.initFrom === 0 });
  if (from !== undefined) request.initFrom = from;
  // Always: the addon also starts the init on its own (a cgroup to join).
  request.initPath = initBinary();

  request.plan = w.finish();
  const isolation: Isolation = [...created];
  if (ctx.isolationExtra.landlock !== undefined) isolation.landlock = ctx.isolationExtra.landlock;
  return { request, steps: w.steps, execStep, isolation, transientFds };
}

/**
 * The namespace's own ids (SPEC 2.1), taken as soon as the filesystem sources are captured
 * (compileFilesystem calls this; without filesystem steps, plan.ts does before `.as()`):
 * the setup child starts with the caller's host credentials, which the kernel keeps (shown
 * as 65534) when the map does not contain them -- a root caller's default map, a range
 * through newuidmap. The program must never run with them, and files the setup creates in
 * filesystems it made must get a mapped owner (an unmapped one is EOVERFLOW). Switching to
 * the namespace's root keeps every capability in it (the kernel raises the effective set
 * when the new euid is the namespace's root), so the rest of the setup is unchanged; what
 * `.as()` asks comes later, as for an unprivileged caller. Sources are captured before, with
 * the caller's rights, as the caller sees them (SPEC 2.2). The unprivileged default
 * (inside 0 = the caller) needs no switch: that spawn path has no extra step.
 */
export function identity(ctx: PlanContext, maps: IdMaps | undefined): void {
  if (!maps || ctx.identityDone) return;
  ctx.identityDone = true;
  const ids: { uid?: number; gid?: number } = {};
  if (mapped(maps.uidMap, maps.uid) !== process.geteuid!()) ids.uid = maps.uid;
  if (mapped(maps.gidMap, maps.gid) !== process.getegid!()) ids.gid = maps.gid;
  switchIds(ctx, ids);
}

/** `.as()`, after everything that needs the setup's capabilities. */
function credentials(ctx: PlanContext): void {
  if (ctx.options.as) switchIds(ctx, ctx.options.as);
}

/** Supplementary groups, then gid, then uid, then the parent-death signal again. */
function switchIds(ctx: PlanContext, as: { uid?: number; gid?: number; groups?: number[] }): void {
  const { options, writer: w, created, privileged } = ctx;
  if (as.uid === undefined && as.gid === undefined && as.groups === undefined) return;
  const setgroupsAllowed =
    !created.has('user') || (userOptions(options)?.setgroups ?? defaultSetgroups(privileged)) === 'allow';
  // Clearing the supplementary groups implicitly is only safe where we know setgroups is
  // allowed: not in a joined user namespace, whose /proc/PID/setgroups may say deny.
  const joinedUser = userOptions(options)?.join !== undefined;
  const groups =
    as.groups ?? (setgroupsAllowed && !joinedUser && (as.uid !== undefined || as.gid !== undefined) ? [] : undefined);
  if (groups !== undefined) {
    if (!setgroupsAllowed && groups.length > 0) {
      throw invalid('as.groups', 'supplementary groups need setgroups allowed in the user namespace', "use .user({ setgroups: 'allow' })");
    }
    if (setgroupsAllowed) {
      const blob = Buffer.alloc(Math.max(4, groups.length * 4));
      groups.forEach((g, i) => blob.writeUInt32LE(g, i * 4));
      w.op(Op.SETGROUPS, `setgroups ${groups.join(',')}`, { s: [w.blob(blob, 4)], n: [groups.length] });
    }
  }
  if (as.gid !== undefined) w.op(Op.SETRESGID, `setgid ${as.gid}`, { n: [as.gid] });
  if (as.uid !== undefined) w.op(Op.SETRESUID, `setuid ${as.uid}`, { n: [as.uid] });
  if (options.dieWithParent !== false && (as.uid !== undefined || as.gid !== undefined)) {
    w.op(Op.DIE_WITH_PARENT, 'die with parent');
  }
}
