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
import { userOptions, type IdMapEntry, type SandboxOptions } from './options.js';
import { mapped, ownNamespaceHas, rootBase, rootDefaultMap } from './namespaces/idmap.js';
import { createdNamespaces, isPrivileged } from './namespaces/created.js';
import { CHDIR_FALLBACK_ROOT, EXEC_VIA_INIT, Op } from './plan/layout.js';
import type { CompiledPlan, IdMaps, Isolation, PlanContext, SpawnInput } from './plan/context.js';
import { credentials, defaultSetgroups, identity } from './plan/identity.js';
import { kernelRelease, timeEnteredAtExec } from './fs/kernel.js';
import { compileFilesystem } from './fs/compile.js';
import { egressListeners } from './net/egress/spawn.js';
import { securityBeforeCredentials, securityBeforeExec } from './security/phases.js';
import { initTakeover } from './plan/takeover.js';
import { PlanWriter } from './plan/writer.js';
import { cloneFlag } from './namespaces/types.js';
import { joinPhase } from './namespaces/join.js';
import { subidRanges } from './doctor/ids.js';

export type { CompiledPlan, IdMaps, Isolation, PlanContext, SpawnInput } from './plan/context.js';

const MS_PRIVATE = 1 << 18;
const MS_SLAVE = 1 << 19;
const MS_SHARED = 1 << 20;
const DEFAULT_PATH = '/usr/local/bin:/usr/bin:/bin';

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
  compileFilesystem(ctx);
  egressListeners(ctx);

  // A pty needs a session of its own to be its controlling terminal (spawn() refuses a
  // pty with newSession(false)).
  if (input.pty) w.op(Op.SETCTTY, 'controlling terminal', { n: [0] });
  else if (options.newSession !== false) w.op(Op.SETSID, 'setsid');
  if (options.umask !== undefined) w.op(Op.UMASK, 'umask', { n: [options.umask] });
  securityBeforeCredentials(ctx);
  identity(ctx, maps);
  credentials(ctx);

  const rootChanged = (options.fs ?? []).some((s) => s.op === 'root' || s.op === 'chroot');
  if (options.cwd !== undefined) {
    w.op(Op.CHDIR, `cwd ${options.cwd}`, { s: [w.str(options.cwd)] });
  } else {
    const cwd = rootChanged ? '/' : process.cwd();
    w.op(Op.CHDIR, `cwd ${cwd}`, { s: [w.str(cwd)], flags: CHDIR_FALLBACK_ROOT });
  }
  securityBeforeExec(ctx);

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
