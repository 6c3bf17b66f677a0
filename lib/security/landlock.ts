// Landlock (SPEC 2.5): `.landlock()` and the ruleset `.files()` adds, compiled into one
// NSB_OP_LANDLOCK (native/landlock.cc) that runs last before seccomp.
//
// What Landlock can say: a ruleset *handles* some rights (they are denied everywhere)
// and its rules give them back beneath listed paths or for listed ports. It cannot take a
// right away beneath a path it was given for, so "write here except .git/hooks" stays
// the mounts' job (.files() makes those read-only); Landlock adds what mounts cannot do:
// files created after start, renames and hard links (REFER) cannot carry a file out of
// a writable tree or into it with more rights than it had, and it needs no namespace at
// all (degraded mode).
//
// Rights are reduced to the kernel's ABI (the highest one it has, probed once per
// process): a kernel without REFER (ABI 1) still gets the rest, and `isolation.landlock`
// says which ABI was applied.
import { homedir } from 'node:os';
import { invalid } from '../errors.js';
import { native } from '../binding.js';
import type { PlanContext } from '../plan/context.js';
import { Op } from '../plan/layout.js';
import * as v from '../validate.js';
import type { FilesStep, FilesystemStep } from '../fs/steps.js';
import { degradedRules } from '../fs/degraded.js';

/** LANDLOCK_ACCESS_FS_* (uapi/linux/landlock.h) with the ABI that introduced each. */
export const FS = {
  EXECUTE: 1n << 0n,
  WRITE_FILE: 1n << 1n,
  READ_FILE: 1n << 2n,
  READ_DIR: 1n << 3n,
  REMOVE_DIR: 1n << 4n,
  REMOVE_FILE: 1n << 5n,
  MAKE_CHAR: 1n << 6n,
  MAKE_DIR: 1n << 7n,
  MAKE_REG: 1n << 8n,
  MAKE_SOCK: 1n << 9n,
  MAKE_FIFO: 1n << 10n,
  MAKE_BLOCK: 1n << 11n,
  MAKE_SYM: 1n << 12n,
  REFER: 1n << 13n, // ABI 2
  TRUNCATE: 1n << 14n, // ABI 3
  IOCTL_DEV: 1n << 15n, // ABI 5
} as const;
export const NET = { BIND_TCP: 1n, CONNECT_TCP: 2n } as const; // ABI 4
export const SCOPE = { ABSTRACT_UNIX_SOCKET: 1n, SIGNAL: 2n } as const; // ABI 6
/** landlock_restrict_self(2) flags (ABI 7): log denials of the program we exec too. */
const RESTRICT_SELF_LOG_NEW_EXEC_ON = 2;

/** All fs rights a kernel of this ABI knows. */
export function fsRightsOf(abi: number): bigint {
  let all = (1n << 13n) - 1n;
  if (abi >= 2) all |= FS.REFER;
  if (abi >= 3) all |= FS.TRUNCATE;
  if (abi >= 5) all |= FS.IOCTL_DEV;
  return all;
}

export const READ = FS.READ_FILE | FS.READ_DIR;
/** Everything that changes the filesystem (IOCTL_DEV is not: it is about devices). */
export const WRITE =
  FS.WRITE_FILE | FS.REMOVE_DIR | FS.REMOVE_FILE | FS.MAKE_CHAR | FS.MAKE_DIR | FS.MAKE_REG |
  FS.MAKE_SOCK | FS.MAKE_FIFO | FS.MAKE_BLOCK | FS.MAKE_SYM | FS.REFER | FS.TRUNCATE;

let probed: number | undefined;
/** The kernel's Landlock ABI (0: none, or disabled at boot). `NSBIND_LANDLOCK_ABI` lowers it, for tests. */
export function landlockAbi(): number {
  if (probed === undefined) {
    const r = native().probes().landlock;
    probed = r > 0 ? r : 0;
  }
  const cap = process.env.NSBIND_LANDLOCK_ABI;
  return cap !== undefined && /^\d+$/.test(cap) ? Math.min(probed, Number(cap)) : probed;
}

/** Options of `.landlock()`. Naming a kind restricts it: only the listed paths or ports. */
export interface LandlockOptions {
  /** Paths (and what is beneath) that may be read. Given, nothing else may be read. */
  read?: string[];
  /** Paths that may be written, created in, removed from (and read, when `read` is given). */
  write?: string[];
  /** Paths whose files may be executed. Given, nothing else may be executed. */
  execute?: string[];
  /** TCP ports the program may bind (Linux 6.7+, ABI 4). Given, no other. */
  bindTcp?: number[];
  /** TCP ports the program may connect to (Linux 6.7+, ABI 4). Given, no other. */
  connectTcp?: number[];
  /**
   * Scopes (Linux 6.12+, ABI 6): `signals` keeps the program from signalling processes
   * outside the sandbox; `abstractUnix` from connecting to abstract unix sockets outside
   * it (off by default: X11, D-Bus and similar tools use them).
   * @default { signals: true, abstractUnix: false }
   */
  scope?: { signals?: boolean; abstractUnix?: boolean };
}

/** `~` and `~/x` are the caller's home directory. */
export function expandHome(p: unknown, option: string): string {
  const s = v.cString(p, option, { maxBytes: 4095 });
  if (s === '~' || s.startsWith('~/')) {
    const home = process.env.HOME || homedir();
    return home + s.slice(1);
  }
  if (s.startsWith('~')) throw invalid(option, `'${s}': only '~' and '~/...' (the caller's home) are understood`);
  return s;
}

interface Rule {
  path?: string;
  port?: number;
  access: bigint;
  optional: boolean;
}

/** What the `.files()` steps ask of Landlock: writes only beneath write.allow. */
function filesRules(steps: readonly FilesystemStep[]): { handled: bigint; rules: Rule[] } | undefined {
  const files = steps.filter((s) => s.op === 'files') as Extract<FilesystemStep, { op: 'files' }>[];
  if (files.length === 0) return undefined;
  const rules: Rule[] = [];
  for (const f of files) for (const p of f.write.allow) rules.push({ path: p, access: WRITE, optional: true });
  // Writable filesystems mounted by steps after the (last) .files() are not the policy's
  // business (SPEC 2.5: a policy over the view the sandbox already has).
  const last = steps.lastIndexOf(files[files.length - 1]);
  for (const s of steps.slice(last + 1)) {
    if (s.op === 'tmpfs' || s.op === 'overlay' || (s.op === 'bind' && !s.readonly)) rules.push({ path: s.dst, access: WRITE, optional: true });
    if (s.op === 'dev') rules.push({ path: `${s.dst}/shm`, access: WRITE, optional: true });
  }
  return { handled: WRITE, rules };
}

/** @internal The ruleset for these options, reduced to `abi`; undefined when none is asked. */
export function landlockRuleset(options: { landlock?: LandlockOptions; fs?: unknown[]; filesDegraded?: FilesStep[] }, abi: number) {
  const ll = options.landlock;
  const files = filesRules((options.fs ?? []) as unknown as FilesystemStep[]);
  const degraded = options.filesDegraded;
  if (!ll && !files && !degraded) return undefined;
  let handledFs = files?.handled ?? 0n;
  let handledNet = 0n;
  const rules: Rule[] = [...(files?.rules ?? [])];
  if (degraded) {
    // No mounts: Landlock is the policy (lib/fs/degraded.ts).
    handledFs |= WRITE;
    if (degraded.some((f) => f.read.deny.length > 0)) handledFs |= READ;
    const access = { read: READ, readDir: FS.READ_DIR, write: WRITE };
    for (const r of degradedRules(degraded)) rules.push({ path: r.path, access: access[r.access], optional: true });
  }
  if (ll) {
    if (ll.read) handledFs |= READ;
    if (ll.write) handledFs |= WRITE;
    if (ll.execute) handledFs |= FS.EXECUTE;
    for (const p of ll.read ?? []) rules.push({ path: p, access: READ, optional: false });
    for (const p of ll.write ?? []) rules.push({ path: p, access: WRITE | READ, optional: false });
    for (const p of ll.execute ?? []) rules.push({ path: p, access: FS.EXECUTE | READ, optional: false });
    if (ll.bindTcp) handledNet |= NET.BIND_TCP;
    if (ll.connectTcp) handledNet |= NET.CONNECT_TCP;
    for (const port of ll.bindTcp ?? []) rules.push({ port, access: NET.BIND_TCP, optional: false });
    for (const port of ll.connectTcp ?? []) rules.push({ port, access: NET.CONNECT_TCP, optional: false });
  }
  if (handledFs & FS.WRITE_FILE) {
    // Devices are written without changing the filesystem (/dev/null, a terminal): a
    // write there is DAC's business, as on a read-only mount. /dev/shm is POSIX shm.
    rules.push({ path: '/dev', access: FS.WRITE_FILE | FS.TRUNCATE, optional: true });
    rules.push({ path: '/dev/shm', access: WRITE, optional: true });
  }
  let scoped = 0n;
  if (ll?.scope?.signals ?? true) scoped |= SCOPE.SIGNAL;
  if (ll?.scope?.abstractUnix ?? false) scoped |= SCOPE.ABSTRACT_UNIX_SOCKET;

  // Reduce to what this kernel knows: a right it does not know cannot be handled (and is
  // not enforced: that is what degrading per ABI means).
  const knownFs = fsRightsOf(abi);
  handledFs &= knownFs;
  if (abi < 4) {
    if (handledNet !== 0n) {
      throw invalid(ll?.bindTcp ? 'landlock.bindTcp' : 'landlock.connectTcp', `TCP rules need Landlock ABI 4 (Linux 6.7); this kernel has ABI ${abi}`);
    }
  }
  if (abi < 6) scoped = 0n;
  const out = rules
    .map((r) => ({ ...r, access: r.port !== undefined ? r.access & handledNet : r.access & handledFs }))
    .filter((r) => r.access !== 0n);
  return { handledFs, handledNet, scoped, rules: out };
}

function compileLandlock(ctx: PlanContext): void {
  const o = ctx.options as { landlock?: LandlockOptions; fs?: unknown[]; filesDegraded?: FilesStep[] };
  if (!o.landlock && !o.filesDegraded && !(o.fs ?? []).some((s) => (s as { op: string }).op === 'files')) return;
  const abi = landlockAbi();
  if (abi === 0 && o.filesDegraded) {
    throw invalid('files', 'this host refuses user namespaces and has no Landlock: nothing could enforce the policy', 'run nsbind doctor');
  }
  if (abi === 0) {
    // .files() is still enforced by its mounts; .landlock() asked for Landlock itself.
    if (o.landlock) {
      throw invalid('landlock', 'this kernel has no Landlock (Linux 5.13+, enabled in the lsm= boot list)', 'run nsbind doctor');
    }
    return;
  }
  if (ctx.options.noNewPrivileges === false) {
    throw invalid('landlock', 'Landlock needs no_new_privs (noNewPrivileges: false was asked)');
  }
  const rs = landlockRuleset(o, abi)!;
  // Nothing this kernel can enforce (a bare `.landlock({})` below ABI 6): no ruleset.
  if (rs.handledFs === 0n && rs.handledNet === 0n && rs.scoped === 0n) return;
  const w = ctx.writer;
  const blob = Buffer.alloc(24 * rs.rules.length);
  rs.rules.forEach((r, i) => {
    blob.writeUInt32LE(r.path !== undefined ? 1 : 2, i * 24);
    blob.writeUInt32LE(r.optional ? 1 : 0, i * 24 + 4);
    blob.writeBigUInt64LE(r.access, i * 24 + 8);
    blob.writeBigUInt64LE(r.path !== undefined ? BigInt(w.str(r.path)) : BigInt(r.port!), i * 24 + 16);
  });
  w.op(Op.LANDLOCK, `landlock (ABI ${abi})`, {
    s: [rs.rules.length ? w.blob(blob, 8) : 0, 0, rs.rules.length],
    n: [rs.handledFs, rs.handledNet, rs.scoped],
    flags: abi >= 7 ? RESTRICT_SELF_LOG_NEW_EXEC_ON : 0,
  });
  ctx.isolationExtra.landlock = abi;
}

// Runs between no_new_privs and seccomp: lib/security/phases.ts calls it there.
export { compileLandlock };
