// Builder options -> what the addon needs: clone flags, the parent's steps (id maps,
// time offsets) and the child's ordered ops. compile() = resolve (lib/plan/resolve.ts: all
// the I/O) + compilePlan (pure: options, input and facts -> the plan, the native request
// assembled here and only here). compilePlan decides the order:
//
//   (clone: user, pid, mnt, uts, ipc, net, time namespaces; the parent writes id maps
//    and time offsets while the child waits)
//   propagation -> cgroup ns -> hostname -> lo up -> filesystem steps -> setsid ->
//   umask -> groups/gid/uid -> die-with-parent again -> cwd -> lock files -> exec
//   (through the init when there is a new pid namespace or a lock file)
//
// Why this order: mounts need the capabilities the user namespace gives, so they come
// before the uid switch (which drops them); the cgroup namespace is created after the
// parent has put the setup in its cgroup, so that cgroup is the namespace's root;
// PR_SET_PDEATHSIG is cleared by a credential change and set again after it.
//
// Which process runs which ops (the setup child, which shares the Node process's memory
// until its exec, or nsbind-init, with memory of its own) is decided in plan/takeover.ts.
import { constants as osConstants } from 'node:os';
import { native } from './binding.js';
import type { NativeSpawnRequest } from './binding.js';
import type { SandboxOptions } from './options.js';
import { CHDIR_FALLBACK_ROOT, EXEC_VIA_INIT, Op } from './plan/layout.js';
import type { IdMapEntry } from './options.js';
import type { CompiledPlan, Facts, Isolation, PlanContext, SpawnInput } from './plan/context.js';
import { credentials, identity } from './plan/identity.js';
import { resolve } from './plan/resolve.js';
import { timeEnteredAtExec } from './fs/kernel.js';
import { compileFilesystem } from './fs/compile.js';
import { egressListeners } from './net/egress/spawn.js';
import { securityBeforeCredentials, securityBeforeExec } from './security/phases.js';
import { initTakeover } from './plan/takeover.js';
import { PlanWriter } from './plan/writer.js';
import { cloneFlag } from './namespaces/types.js';
import { joinPhase } from './namespaces/join.js';
import { compileLockFiles } from './plan/lock-files.js';

export type { CompiledPlan, Facts, IdMaps, Isolation, PlanContext, SpawnInput } from './plan/context.js';
export { idMaps } from './plan/resolve.js';

const MS_PRIVATE = 1 << 18;
const MS_SLAVE = 1 << 19;
const MS_SHARED = 1 << 20;

function mapText(entries: IdMapEntry[]): string {
  return entries.map((e) => `${e.inside} ${e.outside} ${e.count}\n`).join('');
}

function helperArgs(helper: string, map: IdMapEntry[]): string[] {
  return [helper, ...map.flatMap((e) => [e.inside, e.outside, e.count].map(String))];
}

/** uid_map/gid_map for a new user namespace: written by the parent, or by newuidmap/newgidmap. */
function userMaps(facts: Facts, request: Omit<NativeSpawnRequest, 'stdio'>): void {
  const user = facts.user!;
  const { uidMap, gidMap } = user.maps;
  if (user.newuidmap) request.newuidmap = helperArgs(user.newuidmap, uidMap);
  else request.uidMap = mapText(uidMap);
  if (user.newgidmap) {
    // newgidmap writes setgroups 'allow' itself where /etc/subgid grants it (resolve checked).
    if (user.setgroups === 'deny') request.setgroups = 'deny';
    request.newgidmap = helperArgs(user.newgidmap, gidMap);
  } else {
    request.setgroups = user.setgroups;
    request.gidMap = mapText(gidMap);
  }
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

/** Resolves the facts and compiles (or takes the cached plan): what a spawn calls. */
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
  const facts = resolve(options, input);
  let plan: CompiledPlan;
  try {
    plan = compilePlan(options, input, facts);
  } catch (e) {
    // Descriptors opened for the child must not leak when the plan is refused.
    for (const fd of facts.transientFds) native().close(fd);
    if (facts.egressPair) native().close(facts.egressPair[0]);
    throw e;
  }
  if (key !== undefined && plan.transientFds.length === 0 && !plan.egress) {
    let m = plans;
    if (!m) planCache.set(options, (m = new Map()));
    if (m.size >= PLAN_CACHE_MAX) m.clear();
    // Kept frozen: what callers get shares the plan Buffer, the steps and the maps.
    m.set(key, { ...plan, request: { ...plan.request }, isolation: [...plan.isolation], transientFds: [] });
  }
  return plan;
}


/**
 * The plan, from the options, the spawn's input and the resolved facts: no I/O, no host
 * state read (test/plan/compile.unit.test.ts). Throws ERR_NSBIND_INVALID for combinations
 * only the facts reveal (an id the map does not hold, Landlock asked on a kernel without it).
 */
export function compilePlan(options: SandboxOptions, input: SpawnInput, facts: Facts): CompiledPlan {
  const { privileged, created } = facts;
  const maps = facts.user?.maps;
  const ns = options.namespaces ?? {};
  const w = new PlanWriter();
  const request: Omit<NativeSpawnRequest, 'stdio'> = {
    plan: Buffer.alloc(0),
    argv: [input.argv0 ?? input.file, ...input.args],
    cloneFlags: 0,
    extraFds: input.extraFds ?? [],
  };
  if (input.env) request.envp = Object.entries(input.env).map(([k, v]) => `${k}=${v}`);
  const ctx: PlanContext = { options, facts, writer: w, request, created, privileged, transientFds: facts.transientFds, maps, isolationExtra: {} };

  for (const t of created) if (t !== 'cgroup') request.cloneFlags |= cloneFlag(t);
  if (facts.user) userMaps(facts, request);
  if (created.has('time')) {
    const t = ns.time ?? {};
    if (t.monotonic || t.boottime) {
      request.timeOffsets = `monotonic ${t.monotonic ?? 0} 0\nboottime ${t.boottime ?? 0} 0\n`;
    }
  }
  if (options.dieWithParent !== false) request.pdeathsig = osConstants.signals.SIGKILL;

  // Joining existing namespaces comes first: what follows acts inside them.
  const joinedNeedsFork = joinPhase(ctx, facts.joins).viaInit;

  if (created.has('mnt')) {
    const p = ns.mnt?.propagation ?? 'private';
    if (p !== 'unchanged') {
      w.op(Op.PROPAGATION, `make / ${p}`, { n: [propagationFlag(p)] });
    }
  }
  if (created.has('cgroup')) {
    w.op(Op.UNSHARE, 'cgroup namespace', { n: [cloneFlag('cgroup')] });
  }
  if (created.has('uts')) {
    const { hostname, domainname } = ns.uts ?? {};
    if (hostname !== undefined) w.op(Op.SETHOSTNAME, `hostname ${hostname}`, { s: [w.str(hostname)] });
    if (domainname !== undefined) w.op(Op.SETDOMAINNAME, `domainname ${domainname}`, { s: [w.str(domainname)] });
  }
  if (created.has('net') && ns.net?.loopback !== false) w.op(Op.LOOPBACK_UP, 'bring lo up');
  compileFilesystem(ctx);
  const egress = egressListeners(ctx);

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
    const cwd = rootChanged ? '/' : facts.cwd!;
    w.op(Op.CHDIR, `cwd ${cwd}`, { s: [w.str(cwd)], flags: CHDIR_FALLBACK_ROOT });
  }
  // Held by the init, which must then exist (lib/lock-file.ts).
  const locks = compileLockFiles(ctx);
  securityBeforeExec(ctx);

  const path = facts.execPath;
  const execStep = `execve ${input.file}`;
  // A joined pid namespace holds only the joiner's children: the init forks the program
  // into it. A sandbox with limits always has the init as its supervisor, with or without
  // a pid namespace: it kills the whole cgroup when Node dies (unless the program itself
  // is PID 1: `pid({ init: false })`, whose death the kernel turns into the namespace's).
  const limits = options.limits !== undefined;
  // A time namespace is entered at exec only on new kernels; before, only by a fork: the
  // init forks the program (lib/fs/kernel.ts).
  const timeByFork = created.has('time') && !(created.has('pid') && ns.pid?.init === false) && !timeEnteredAtExec(facts.kernelRelease);
  const viaInit =
    (created.has('pid') && ns.pid?.init !== false) || joinedNeedsFork || (limits && !created.has('pid')) || timeByFork || locks;
  w.op(Op.EXEC, execStep, { s: [w.str(input.file), w.str(path)], flags: viaInit ? EXEC_VIA_INIT : 0 });
  // No task that shares Node's memory may ever be in a limited cgroup (SPEC 4).
  const from = initTakeover(w, { viaInit, privileged, wholeSetup: limits || request.initFrom === 0 });
  if (from !== undefined) request.initFrom = from;
  // Always: the addon also starts the init on its own (a cgroup to join).
  request.initPath = facts.initPath;

  request.plan = w.finish();
  const isolation: Isolation = [...created];
  if (ctx.isolationExtra.landlock !== undefined) isolation.landlock = ctx.isolationExtra.landlock;
  return { request, steps: w.steps, execStep, isolation, transientFds: facts.transientFds, ...(egress ? { egress } : {}) };
}
