// The immutable builder: every method validates at once and returns a new Sandbox.
// `sb.options` is the configuration as plain JSON data and `sandbox(sb.options)` rebuilds
// it, so a sandbox designed in code can be stored, sent or used from the CLI.
import { existsSync } from 'node:fs';
import { invalid } from './errors.js';
import {
  NAMESPACE_TYPES,
  type Credentials,
  type EgressOptions,
  type NamespaceOptionsMap,
  type NamespaceType,
  type SandboxOptions,
} from './options.js';
import { normalizeLimits, type Limits } from './cgroup/limits.js';
import { forkSandbox, type ForkedProcess, type ForkOptions } from './fork.js';
import { validateVeth } from './net/veth.js';
import { checkSandboxPorts, validateEgress, validatePorts } from './net/egress/options.js';
import { normalizeCapabilities, type CapabilitiesOption } from './security/capabilities.js';
import type { LandlockOptions } from './security/landlock.js';
import { normalizeLandlock } from './security/landlock-builder.js';
import { normalizeRlimits, type RlimitsOption } from './security/rlimits.js';
import { normalizeSeccomp, type SeccompOption } from './security/seccomp.js';
import * as fsb from './fs/builder.js';
import { lockFiles } from './lock-file.js';
import type { FilesPolicy } from './fs/policy.js';
import type { BindOptions, FileOptions, OverlayOptions, TmpfsOptions } from './fs/steps.js';
import { validateJoin } from './namespaces/join.js';
import { methodOf } from './namespaces/types.js';
import type { SandboxProcess } from './process.js';
import { runSandbox, spawnSandbox } from './spawn.js';
import type { RunOptions, RunResult, SpawnOptions } from './spawn-types.js';
import * as v from './validate.js';

export type { RunOptions, RunResult, SpawnOptions } from './spawn-types.js';

const NS_KEYS: { [T in NamespaceType]: readonly string[] } = {
  user: ['optional', 'join', 'uid', 'gid', 'uidMap', 'gidMap', 'setgroups'],
  pid: ['optional', 'join', 'init'],
  mnt: ['optional', 'join', 'propagation'],
  uts: ['optional', 'join', 'hostname', 'domainname'],
  ipc: ['optional', 'join'],
  net: ['optional', 'join', 'loopback', 'veth', 'egress', 'forward', 'expose'],
  cgroup: ['optional', 'join'],
  time: ['optional', 'join', 'monotonic', 'boottime'],
};


function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    Object.freeze(o);
    for (const value of Object.values(o)) deepFreeze(value);
  }
  return o;
}

/** Validates one namespace method's options; returns the normalised copy. */
function validateNamespace<T extends NamespaceType>(type: T, raw: unknown): NamespaceOptionsMap[T] {
  const m = methodOf(type);
  const o = v.plainObject(raw, m);
  v.knownKeys(o, NS_KEYS[type], m);
  const out: Record<string, unknown> = {};
  if (o.optional !== undefined) out.optional = v.bool(o.optional, `${m}.optional`);
  if (o.join !== undefined) {
    // Joining takes the namespace as it is: options that shape a new one do not apply.
    const extra = Object.keys(o).filter((k) => k !== 'join' && k !== 'optional' && o[k] !== undefined);
    if (extra.length) throw invalid(`${m}.${extra[0]}`, 'cannot be given with join: it shapes a new namespace, and this one is joined');
    out.join = validateJoin(o.join, type, `${m}.join`);
    return out as NamespaceOptionsMap[T];
  }
  switch (type) {
    case 'user':
      if (o.uid !== undefined) out.uid = v.id(o.uid, 'user.uid');
      if (o.gid !== undefined) out.gid = v.id(o.gid, 'user.gid');
      if (o.uidMap !== undefined) {
        if (o.uid !== undefined) throw invalid('user.uidMap', 'give either uid or uidMap, not both');
        out.uidMap = v.idMap(o.uidMap, 'user.uidMap');
      }
      if (o.gidMap !== undefined) {
        if (o.gid !== undefined) throw invalid('user.gidMap', 'give either gid or gidMap, not both');
        out.gidMap = v.idMap(o.gidMap, 'user.gidMap');
      }
      if (o.setgroups !== undefined) out.setgroups = v.oneOf(o.setgroups, ['deny', 'allow'], 'user.setgroups');
      break;
    case 'pid':
      if (o.init !== undefined) out.init = v.bool(o.init, 'pid.init');
      break;
    case 'mnt':
      if (o.propagation !== undefined) {
        out.propagation = v.oneOf(o.propagation, ['private', 'slave', 'shared', 'unchanged'], 'mount.propagation');
      }
      break;
    case 'uts':
      if (o.hostname !== undefined) out.hostname = v.cString(o.hostname, 'uts.hostname', { empty: true, maxBytes: 64 });
      if (o.domainname !== undefined) {
        out.domainname = v.cString(o.domainname, 'uts.domainname', { empty: true, maxBytes: 64 });
      }
      break;
    case 'net':
      if (o.loopback !== undefined) out.loopback = v.bool(o.loopback, 'net.loopback');
      if (o.veth !== undefined) {
        if (o.join !== undefined) {
          throw invalid('net.veth', 'a veth pair needs a new network namespace, not a joined one', 'to wire an existing namespace, create the pair there and use links.move()');
        }
        out.veth = validateVeth(o.veth);
      }
      if (o.egress !== undefined) out.egress = validateEgress(o.egress);
      if (o.forward !== undefined) out.forward = validatePorts(o.forward, 'net.forward', ['host', 'sandbox']);
      if (o.expose !== undefined) out.expose = validatePorts(o.expose, 'net.expose', ['sandbox', 'host']);
      checkSandboxPorts(out.egress as EgressOptions | undefined, out.expose as { sandbox: number }[] | undefined);
      break;
    case 'time':
      if (o.monotonic !== undefined) out.monotonic = v.clockOffset(o.monotonic, 'time.monotonic');
      if (o.boottime !== undefined) out.boottime = v.clockOffset(o.boottime, 'time.boottime');
      break;
  }
  return out as NamespaceOptionsMap[T];
}

/** Namespace types this kernel has (a file in /proc/self/ns for each). */
export function supportedNamespaces(): NamespaceType[] {
  return NAMESPACE_TYPES.filter((t) => existsSync(`/proc/self/ns/${t}`));
}

function splitArgs<O>(args: readonly string[] | O | undefined, opts: O | undefined, option: string): [string[], O | undefined] {
  if (Array.isArray(args)) return [args as string[], opts];
  // As child_process: run('echo', '-n') is a mistake to report, not an argument to drop.
  if (args !== undefined && args !== null && (typeof args !== 'object' || opts !== undefined)) {
    throw invalid(option, `expected an array of strings, got ${v.describe(args)}${typeof args === 'string' ? ` (write [${JSON.stringify(args)}])` : ''}`);
  }
  return [[], (args as O | undefined) ?? opts];
}

/**
 * A sandbox configuration. Immutable: every method returns a new Sandbox, so a base
 * can be shared and extended.
 *
 * @example
 * const base = sandbox().user().net();
 * const r = await base.uts({ hostname: 'box' }).run('hostname');
 * r.stdout; // 'box\n'
 */
export class Sandbox {
  /** The configuration as plain JSON data; `sandbox(sb.options)` rebuilds it. */
  readonly options: Readonly<SandboxOptions>;

  /** @internal use {@link sandbox} */
  constructor(options: SandboxOptions = {}) {
    this.options = deepFreeze(structuredClone(options));
  }

  /** @internal */
  protected with(patch: Partial<SandboxOptions>): Sandbox {
    return new Sandbox({ ...structuredClone(this.options as SandboxOptions), ...structuredClone(patch) });
  }

  private ns<T extends NamespaceType>(type: T, o: unknown): Sandbox {
    const opts = validateNamespace(type, o);
    const namespaces = { ...(this.options.namespaces ?? {}), [type]: opts };
    return this.with({ namespaces });
  }

  /**
   * The user namespace. Every sandbox has one (`.user()` only shapes it): an unprivileged
   * caller's uid/gid appear as `uid`/`gid` inside (root by default); a root caller's
   * inside-root is an unprivileged host id (root's range in /etc/subuid, else 65534).
   * `.user(false)`: no user namespace, the program keeps the caller's own ids -- unsafe for
   * untrusted code (it can read and ptrace the Node process of the same uid, and a root
   * caller's program is host root).
   * @example sandbox().user({ uid: 1000, gid: 1000 })
   */
  user(o?: NamespaceOptionsMap['user'] | false): Sandbox {
    if (o === false) return this.with({ namespaces: { ...(this.options.namespaces ?? {}), user: false } });
    return this.ns('user', o);
  }

  /**
   * A new pid namespace: nsbind's init is PID 1 and the program PID 2 (`init: false`: the
   * program is PID 1).
   * @example sandbox().pid().run('sh', ['-c', 'echo $$']) // stdout '2\n'
   */
  pid(o?: NamespaceOptionsMap['pid']): Sandbox {
    return this.ns('pid', o);
  }

  /**
   * A new mount namespace (`mnt`); `/` is made recursively private first.
   * @example sandbox().mount({ propagation: 'slave' })
   */
  mount(o?: NamespaceOptionsMap['mnt']): Sandbox {
    return this.ns('mnt', o);
  }

  /**
   * A new UTS namespace, optionally with a hostname and domain name.
   * @example sandbox().uts({ hostname: 'box' })
   */
  uts(o?: NamespaceOptionsMap['uts']): Sandbox {
    return this.ns('uts', o);
  }

  /** A new IPC namespace (System V IPC, POSIX message queues). */
  ipc(o?: NamespaceOptionsMap['ipc']): Sandbox {
    return this.ns('ipc', o);
  }

  /**
   * A new network namespace: only `lo`, up (`loopback: false` leaves it down).
   * @example sandbox().net().run('ip', ['-o', 'link'])
   */
  net(o?: NamespaceOptionsMap['net']): Sandbox {
    return this.ns('net', o);
  }

  /** A new cgroup namespace, rooted at the sandbox's own cgroup when `limits` are set. */
  cgroup(o?: NamespaceOptionsMap['cgroup']): Sandbox {
    return this.ns('cgroup', o);
  }

  /**
   * A new time namespace with CLOCK_MONOTONIC / CLOCK_BOOTTIME offsets in seconds.
   * @example sandbox().time({ monotonic: 86400 })
   */
  time(o?: NamespaceOptionsMap['time']): Sandbox {
    return this.ns('time', o);
  }

  /**
   * Every namespace type the kernel supports, except those listed.
   * @example sandbox().all({ except: ['net'] })
   */
  all(o?: { except?: NamespaceType[]; optional?: boolean }): Sandbox {
    const opts = v.plainObject(o, 'all');
    v.knownKeys(opts, ['except', 'optional'], 'all');
    const except = opts.except === undefined ? [] : opts.except;
    if (!Array.isArray(except)) throw invalid('all.except', 'expected an array of namespace types');
    const skip = new Set(except.map((t, i) => v.namespaceType(t, `all.except[${i}]`)));
    let sb: Sandbox = this;
    for (const t of supportedNamespaces()) {
      if (skip.has(t)) continue;
      const existing = (this.options.namespaces ?? {})[t];
      const extra = opts.optional !== undefined ? { optional: v.bool(opts.optional, 'all.optional') } : {};
      sb = sb.ns(t, { ...(existing ?? {}), ...extra });
    }
    return sb;
  }

  /**
   * Environment variables: set (a string) or unset (`undefined`/`null`). By default the
   * program starts from `process.env` as it is at spawn time; `inherit: false` starts empty.
   * @example sandbox().env({ HOME: '/tmp', SECRET: undefined }, { inherit: true })
   */
  env(vars: Record<string, string | undefined | null>, o?: { inherit?: boolean }): Sandbox {
    const obj = v.plainObject(vars, 'env');
    const env: Record<string, string | null> = { ...(this.options.env ?? {}) };
    for (const [k, value] of Object.entries(obj)) {
      v.cString(k, `env.${k}`);
      if (k.includes('=')) throw invalid(`env.${k}`, "a variable name must not contain '='");
      env[k] = value === undefined || value === null ? null : v.cString(value, `env.${k}`, { empty: true });
    }
    const opts = v.plainObject(o, 'env.options');
    v.knownKeys(opts, ['inherit'], 'env');
    const patch: Partial<SandboxOptions> = { env };
    if (opts.inherit !== undefined) patch.inheritEnv = v.bool(opts.inherit, 'env.inherit');
    return this.with(patch);
  }

  /**
   * The working directory inside (absolute). It is resolved inside the sandbox's root as
   * a mount destination is: a symlink cannot lead out of it, and a /proc magic link
   * (`/proc/self/fd/N`, `/dev/fd/N`, `/proc/1/cwd`...) is refused at spawn with `ELOOP`;
   * the forms written out here are refused at once.
   * @default '/' when the root changes, else the caller's cwd ('/' if missing inside)
   */
  cwd(dir: string): Sandbox {
    const d = v.absolutePath(dir, 'cwd');
    if (/^\/proc\/(self|thread-self|\d+)(\/task\/\d+)?\/(fd|cwd|root|map_files)(\/|$)|^\/dev\/(fd|stdin|stdout|stderr)(\/|$)/.test(d)) {
      throw invalid('cwd', `'${d}' would reach outside the sandbox through a /proc magic link`);
    }
    return this.with({ cwd: d });
  }

  /**
   * Credentials inside, set after the namespaces are made (without it the program runs as
   * the user namespace's uid/gid, default 0). For a root caller these ids are also mapped to
   * the same host ids: `.as({ uid: 1000 })` runs as host uid 1000.
   * @example sandbox().user({ uidMap: [...] }).as({ uid: 1000, gid: 1000, groups: [] })
   */
  as(creds: Credentials): Sandbox {
    const o = v.plainObject(creds, 'as');
    v.knownKeys(o, ['uid', 'gid', 'groups'], 'as');
    const out: Credentials = {};
    if (o.uid !== undefined) out.uid = v.id(o.uid, 'as.uid');
    if (o.gid !== undefined) out.gid = v.id(o.gid, 'as.gid');
    if (o.groups !== undefined) {
      if (!Array.isArray(o.groups)) throw invalid('as.groups', 'expected an array of gids');
      if (o.groups.length > 65536) throw invalid('as.groups', 'too many groups');
      out.groups = o.groups.map((g, i) => v.id(g, `as.groups[${i}]`));
    }
    return this.with({ as: out });
  }

  /**
   * Kill the sandbox when the Node process dies (all of it with a pid namespace or a
   * cgroup; otherwise its top process).
   * @default true
   */
  dieWithParent(on = true): Sandbox {
    return this.with({ dieWithParent: v.bool(on, 'dieWithParent') });
  }

  /**
   * Run the program in a new session (setsid), so it cannot reach the caller's terminal.
   * @default true
   */
  newSession(on = true): Sandbox {
    return this.with({ newSession: v.bool(on, 'newSession') });
  }

  /**
   * Resource limits, through a cgroup of the sandbox's own created beneath the Node
   * process's cgroup (v2, or v1 on hybrid hosts) and removed after the sandbox is gone.
   * The child is inside before it runs anything. Where no cgroup hierarchy is writable
   * the spawn fails: limits are never silently dropped. `ExitResult.reason` is `'oom'`
   * when the kernel's OOM killer ended the program; `usage.memoryPeakBytes` and
   * `usage.pidsPeak` come from the cgroup. Each call replaces the previous limits.
   * @default none
   * @example sandbox().pid().limits({ memory: '256M', pids: 64, cpu: 0.5 }).run('make')
   */
  limits(l: Limits): Sandbox {
    normalizeLimits(l);
    const copy: Limits = {};
    for (const k of ['memory', 'memorySwap', 'pids', 'cpu', 'cpuWeight'] as const) {
      if (l[k] !== undefined) (copy as Record<string, unknown>)[k] = l[k];
    }
    return this.with({ limits: copy });
  }

  /**
   * Starts the sandbox's process in the cgroup(s) of another process (nsenter's
   * `--join-cgroup`), a pid or a running `SandboxProcess`: e.g. a helper that must count
   * against a sandbox's limits. Read at each spawn from `/proc/PID/cgroup`; on hybrid and v1
   * hosts every hierarchy the target is in (its v1 controllers', systemd's and the unified
   * one), on v2 the one. The cgroup stays the target's: nothing in it is killed when this
   * process ends. Needs write access to the target's `cgroup.procs` (a cgroup delegated
   * to you; root). Not with `.limits()` (a cgroup of its own).
   * @example enter(box).joinCgroup(box).run('sh', ['-c', 'make -j8'])
   */
  joinCgroup(target: number | { readonly pid?: number }): Sandbox {
    const pid = typeof target === 'object' && target !== null ? target.pid : target;
    if (typeof pid !== 'number' || !Number.isInteger(pid) || pid < 1) {
      throw invalid('joinCgroup', `expected a pid (a positive integer) or a running SandboxProcess, got ${v.describe(target)}`);
    }
    return this.with({ joinCgroup: pid });
  }

  /** The umask inside. @default the caller's */
  umask(mask: number): Sandbox {
    return this.with({ umask: v.mode(mask, 'umask', 0o777) });
  }

  /**
   * The capabilities the program keeps; every other one is dropped from all five sets
   * (effective, permitted, inheritable, ambient and bounding). Kept ones are also
   * ambient, so they survive exec for a non-root uid set with `.as()`. `'all'` keeps
   * everything the creator could give (inside a new user namespace: all of them, over
   * that namespace's resources).
   * @default 'none'
   * @example sandbox().net().capabilities(['CAP_NET_ADMIN']).run('ip', ['link', 'add', 'd0', 'type', 'dummy'])
   */
  capabilities(keep: CapabilitiesOption): Sandbox {
    return this.with({ capabilities: normalizeCapabilities(keep) });
  }

  /**
   * The seccomp filter, installed as the last step before exec. `'default'` refuses
   * nested user namespaces, keyrings, bpf, userfaultfd, perf_event_open, kexec, module
   * loading, open_by_handle_at and the TIOCSTI/TIOCLINUX ioctls with EPERM, and answers
   * clone3 with ENOSYS (libc falls back to clone). `{ deny, errno, base }` adds to it;
   * a `Uint8Array` is a compiled classic-BPF program installed as given.
   * @default 'default'
   * @example sandbox().seccomp({ deny: ['ptrace', 'mount'], errno: 'EACCES' })
   */
  seccomp(profile: SeccompOption): Sandbox {
    return this.with({ seccomp: normalizeSeccomp(profile) });
  }

  /**
   * PR_SET_NO_NEW_PRIVS: exec never grants privileges (setuid bits and file
   * capabilities are ignored). Turning it off lets setuid programs work inside; the
   * seccomp filter then needs CAP_SYS_ADMIN when it is installed, which root and a new
   * user namespace have.
   * @default true
   * @example sandbox().noNewPrivileges(false).run('ping', ['-c1', '127.0.0.1'])
   */
  noNewPrivileges(on = true): Sandbox {
    return this.with({ noNewPrivileges: v.bool(on, 'noNewPrivileges') });
  }

  /**
   * Resource limits (setrlimit) by name: one number sets soft and hard, `[soft, hard]`
   * both; `'unlimited'` or `Infinity` for none. Units are the kernel's (bytes, seconds
   * for `cpu`, microseconds for `rttime`). Limits not named are inherited, except
   * `nofile`: Node raises its own soft limit at start-up, and the program gets the
   * system's usual one back.
   * @default { nofile: [the soft limit Node started with, the hard limit] }
   * @example sandbox().rlimits({ nofile: 256, nproc: [64, 128], core: 0 })
   */
  rlimits(limits: RlimitsOption): Sandbox {
    const merged = { ...(this.options.rlimits ?? {}), ...normalizeRlimits(limits) };
    return this.with({ rlimits: merged });
  }

  // ---- the filesystem (SPEC 2.2, 2.5): steps stored in order in `options.fs` (lib/fs/builder.ts) ----

  /**
   * Bind-mounts the host path `src` at `dst` inside the sandbox. Binds are `nosuid`,
   * and `nodev` unless `devices` is set; `readonly` applies to every submount too.
   * @param dst @default src
   * @example sandbox().bind('/data', '/mnt/data', { readonly: true })
   */
  bind(src: string, dst?: string, o?: BindOptions): Sandbox {
    return this.with({ fs: fsb.bind(this.options, src, dst, o) });
  }

  /**
   * `.bind()` with `readonly: true`: read-only recursively.
   * @param dst @default src
   * @example sandbox().roBind('/usr').roBind('/etc/resolv.conf')
   */
  roBind(src: string, dst?: string, o?: Omit<BindOptions, 'readonly'>): Sandbox {
    return this.with({ fs: fsb.roBind(this.options, src, dst, o) });
  }

  /**
   * A tmpfs at `dst` (`nosuid`, `nodev`); its contents vanish with the sandbox.
   * @example sandbox().tmpfs('/tmp', { size: '64M', mode: 0o1777 })
   */
  tmpfs(dst: string, o?: TmpfsOptions): Sandbox {
    return this.with({ fs: fsb.tmpfs(this.options, dst, o) });
  }

  /**
   * A procfs for the sandbox's pid namespace (implies `.pid()`), with /proc/kcore,
   * /proc/keys, /proc/timer_list, /proc/sched_debug, /proc/acpi, /proc/scsi and
   * /sys/firmware masked and /proc/sys, /proc/sysrq-trigger, /proc/irq, /proc/bus
   * read-only.
   * @param dst @default '/proc'
   * @example sandbox().proc().run('ps', ['ax'])
   */
  proc(dst?: string): Sandbox {
    return this.with({ fs: fsb.proc(this.options, dst) });
  }

  /**
   * A minimal /dev: null, zero, full, random, urandom, tty (bound from the host), a
   * private devpts with ptmx, a shm tmpfs, and the fd/stdin/stdout/stderr links.
   * @param dst @default '/dev'
   * @example sandbox().root().roBind('/usr').dev().proc()
   */
  dev(dst?: string): Sandbox {
    return this.with({ fs: fsb.dev(this.options, dst) });
  }

  /**
   * An mqueue filesystem for the sandbox's IPC namespace (implies `.ipc()`).
   * @param dst @default '/dev/mqueue'
   */
  mqueue(dst?: string): Sandbox {
    return this.with({ fs: fsb.freshMount(this.options, 'mqueue', dst) });
  }

  /**
   * An overlayfs at `dst`: `lower` layers (host paths, top-most first) under a writable
   * `upper` (with its `work` dir), or under a tmpfs when both are omitted.
   * @example sandbox().overlay('/src', { lower: ['/home/me/src'] }) // writes vanish
   */
  overlay(dst: string, o: OverlayOptions): Sandbox {
    return this.with({ fs: fsb.overlay(this.options, dst, o) });
  }

  /**
   * Creates a directory (and missing parents) inside a filesystem the sandbox made.
   * @param mode @default 0o755
   * @example sandbox().tmpfs('/work').dir('/work/out', 0o700)
   */
  dir(path: string, mode?: number): Sandbox {
    return this.with({ fs: fsb.dir(this.options, path, mode) });
  }

  /**
   * Creates a symbolic link `path` -> `target` inside a filesystem the sandbox made.
   * @example sandbox().root().roBind('/usr').symlink('usr/bin', '/bin')
   */
  symlink(target: string, path: string): Sandbox {
    return this.with({ fs: fsb.symlink(this.options, target, path) });
  }

  /**
   * Creates a file with `content` inside a filesystem the sandbox made; with
   * `{ bind: true }`, a file of its own mounted at `path`, which may cover an existing
   * file (of the host's too, left untouched), as bubblewrap's `--bind-data`.
   * @param mode @default 0o644
   * @example sandbox().tmpfs('/etc').file('/etc/hostname', 'box\n')
   * @example sandbox().file('/etc/resolv.conf', 'nameserver 10.0.0.1\n', 0o644, { bind: true })
   */
  file(path: string, content: string | Uint8Array, mode?: number, o?: FileOptions): Sandbox {
    return this.with({ fs: fsb.file(this.options, path, content, mode, o) });
  }

  /**
   * Makes `path` and everything mounted under it read-only.
   * @param path @default '/'
   * @example sandbox().tmpfs('/tmp').readonly('/')
   */
  readonly(path?: string): Sandbox {
    return this.with({ fs: fsb.readonly(this.options, path) });
  }

  /**
   * Hides a file (it reads empty) or a directory (empty and read-only).
   * @example sandbox().mask('/etc/shadow')
   */
  mask(path: string): Sandbox {
    return this.with({ fs: fsb.mask(this.options, path) });
  }

  /**
   * `pivot_root` into the host directory `dir`, or into a fresh empty tmpfs; the old
   * root is detached. Destinations of all steps are then inside the new root, sources
   * stay host paths. The working directory defaults to '/'.
   * @example sandbox().root().roBind('/usr').symlink('usr/bin', '/bin').run('/bin/sh', ['-c', 'ls /'])
   */
  root(dir?: string): Sandbox {
    return this.with({ fs: fsb.root(this.options, dir) });
  }

  /**
   * `chroot` into the host directory `dir`: like `.root(dir)` but weaker — the old root
   * stays mounted in the sandbox's mount namespace, and a process holding
   * CAP_SYS_CHROOT can escape a chroot. Prefer `.root()`.
   * @example sandbox().chroot('/srv/rootfs')
   */
  chroot(dir: string): Sandbox {
    return this.with({ fs: fsb.chroot(this.options, dir) });
  }

  /**
   * A filesystem policy over the view the sandbox already has: everything stays
   * readable except `read.deny`, nothing is writable except `write.allow` minus
   * `write.deny` and the mandatory list (`.git/hooks`, `.git/config`, shell start-up
   * files, `.npmrc`, `.ssh`, `.gnupg`, `.aws`, `.config/gh` inside each allowed path).
   * Paths may start with `~`, be relative (to the current directory, now), and end in
   * `*` / `**` globs; they are resolved now. Enforced by mounts, and by Landlock where
   * the kernel has it. Steps written after it are not affected by it.
   * @example sandbox().files({ read: { deny: ['~/.ssh', '~/.aws'] }, write: { allow: ['.', '/tmp'] } })
   */
  files(policy: FilesPolicy): Sandbox {
    return this.with({ fs: fsb.files(this.options, policy) });
  }

  /**
   * A Landlock ruleset (Linux 5.13+), applied last before seccomp: each kind you name
   * is denied except beneath the listed paths (or for the listed ports). Rights the
   * kernel does not know are left out; `isolation.landlock` is the ABI applied.
   * @example sandbox().landlock({ write: ['/tmp'], connectTcp: [443] })
   */
  landlock(o: LandlockOptions): Sandbox {
    return this.with({ landlock: normalizeLandlock(o) });
  }

  /**
   * Holds a read lock (fcntl `F_RDLCK`, the whole file) on `path` while the sandbox
   * runs, as bubblewrap's `--lock-file`: taken by nsbind's init after the filesystem
   * steps (the path is the sandbox's view, and the file must exist there), released
   * when the sandbox ends, however it ends. Outside, a write lock (`F_SETLK`) fails
   * while the sandbox runs; `F_SETLKW` waits for its end. These are POSIX (fcntl)
   * locks: `flock(2)` and `flock(1)` do not see them. Not with `pid({ init: false })`
   * (no init to hold it). Several calls take several locks.
   * @example sandbox().bind('/run/app').lockFile('/run/app/lock').run('server')
   */
  lockFile(path: string | readonly string[]): Sandbox {
    return this.with({ lockFile: lockFiles(this.options.lockFile, path) });
  }

  /**
   * Starts the program in the sandbox and returns at once, like `child_process.spawn`.
   * Invalid arguments throw; setup failures reject `exited` (and emit `error`).
   * @example
   * const p = sandbox().pid().spawn('sleep', ['5']);
   * p.kill(); await p.exited;
   */
  spawn(file: string, args?: readonly string[] | SpawnOptions, opts?: SpawnOptions): SandboxProcess {
    const [argv, o] = splitArgs(args, opts, 'spawn.args');
    return spawnSandbox(this.options as SandboxOptions, file, argv, o ?? {});
  }

  /**
   * Runs a Node module in the sandbox with an IPC channel, like `child_process.fork`:
   * `process.execPath` with `execArgv` (default: the parent's), the module and `args`.
   * The child's `process.send`/`process.on('message')` work unchanged; the result also
   * has `send()`, `disconnect()`, `connected` and the 'message'/'disconnect' events.
   * `modulePath` is a path (relative to the caller's cwd) or a `file:` URL. A module that
   * does not exist or cannot be read throws at once.
   * @example
   * const child = sandbox().user().net().pid().fork('./server.js', ['--port', '80']);
   * child.on('message', (m) => console.log('child says', m));
   * child.send({ cmd: 'start' });
   */
  fork(modulePath: string | URL, args?: readonly string[] | ForkOptions, opts?: ForkOptions): ForkedProcess {
    const [argv, o] = splitArgs(args, opts, 'fork.args');
    return forkSandbox(this, modulePath, argv, o ?? {});
  }

  /**
   * Runs the program to its end and collects its output. Resolves for any end of the
   * program (exit, signal, oom, timeout); rejects for setup failures, `maxBuffer` and aborts.
   * @example
   * const { code, stdout } = await sandbox().net().run('ip', ['-o', 'link']);
   */
  async run(file: string, args: readonly string[] | undefined, opts: RunOptions & { encoding: 'buffer' }): Promise<RunResult<Buffer>>;
  async run(file: string, opts: RunOptions & { encoding: 'buffer' }): Promise<RunResult<Buffer>>;
  async run(file: string, args?: readonly string[] | RunOptions, opts?: RunOptions): Promise<RunResult<string>>;
  async run(file: string, args?: readonly string[] | RunOptions, opts?: RunOptions): Promise<RunResult<string | Buffer>> {
    const [argv, o] = splitArgs(args, opts, 'spawn.args');
    return runSandbox(this.options as SandboxOptions, file, argv, o ?? {});
  }
}

/**
 * A new sandbox configuration, empty or rebuilt from `sb.options`.
 * @example
 * const sb = sandbox().user().pid();
 * const again = sandbox(JSON.parse(JSON.stringify(sb.options)));
 */
export function sandbox(options?: SandboxOptions): Sandbox {
  let sb = new Sandbox();
  if (options === undefined) return sb;
  const o = v.plainObject(options, 'sandbox');
  for (const [key, value] of Object.entries(o)) {
    if (value === undefined) continue;
    switch (key) {
      case 'namespaces': {
        const nss = v.plainObject(value, 'namespaces');
        for (const [t, nso] of Object.entries(nss)) {
          const type = v.namespaceType(t, `namespaces.${t}`);
          sb = (sb as unknown as Record<string, (x: unknown) => Sandbox>)[methodOf(type)].call(sb, nso);
        }
        break;
      }
      case 'env':
        sb = sb.env(value as Record<string, string | null>);
        break;
      case 'inheritEnv':
        sb = sb.env({}, { inherit: value as boolean });
        break;
      case 'fs': {
        if (!Array.isArray(value)) throw invalid('fs', 'expected an array of steps');
        sb = replayFs(sb, value);
        break;
      }
      default: {
        const method = (sb as unknown as Record<string, unknown>)[key];
        if (typeof method !== 'function' || key === 'spawn' || key === 'run' || key === 'fork' || key === 'constructor') {
          throw invalid(key, 'unknown option');
        }
        sb = (method as (x: unknown) => Sandbox).call(sb, value);
      }
    }
  }
  return sb;
}

/** Filesystem steps are replayed through their methods (one per step kind). */
function replayFs(sb: Sandbox, steps: unknown[]): Sandbox {
  for (const [i, step] of steps.entries()) sb = fsb.replayFs(sb, v.plainObject(step, `fs[${i}]`), `fs[${i}]`);
  return sb;
}
