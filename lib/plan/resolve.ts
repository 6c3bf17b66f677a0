// The resolve phase: everything a plan needs to know about this host and this moment,
// read once, before compiling (lib/plan.ts). Compile is then a pure function of the
// options, the spawn's input and these facts (test/plan/compile.unit.test.ts builds facts
// by hand). What is read here and why:
//
//   ids             geteuid/getegid; a root caller's /etc/subuid range and its own maps
//   id map writers  newuidmap/newgidmap on PATH when the kernel would refuse our own write
//   joins           each namespace to join opened now (a pidfd or its nsfs file)
//   idmapped binds  open_tree() of each writable bind a root caller idmaps
//   egress          the socketpair the setup sends its listening sockets over
//   kernel          release, cap_last_cap, Landlock ABI, nsbind-init's path
//   host state      the caller's cwd, PATH for the exec lookup
//
// Descriptors opened here are listed in `transientFds`: whoever compiles closes them once
// the spawn has its copies, or at once if the compile or the spawn refuses.
import { existsSync, fstatSync, readFileSync } from 'node:fs';
import { constants as osConstants, userInfo } from 'node:os';
import { delimiter, join } from 'node:path';
import { initBinary, native } from '../binding.js';
import { invalid, nsbindError, systemError } from '../errors.js';
import { subidRanges } from '../doctor/ids.js';
import { kernelRelease, noMountSetattr } from '../fs/kernel.js';
import type { FilesystemStep } from '../fs/steps.js';
import { createdNamespaces, isPrivileged } from '../namespaces/created.js';
import { mapped, ownNamespaceHas, ownSetgroupsAllowed, rootBase, rootDefaultMap } from '../namespaces/idmap.js';
import { resolveJoins } from '../namespaces/join.js';
import { egressListenersWanted } from '../net/egress/spawn.js';
import { userOptions, type IdMapEntry, type NamespaceType, type SandboxOptions } from '../options.js';
import { capLastCap } from '../security/capabilities.js';
import { defaultNofile } from '../security/rlimits.js';
import { landlockAbi, landlockWanted } from '../security/landlock.js';
import type { Facts, IdMaps, SpawnInput, UserFacts } from './context.js';

const DEFAULT_PATH = '/usr/local/bin:/usr/bin:/bin';

function findHelper(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(delimiter).concat(['/usr/bin', '/usr/sbin'])) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

function missingHelper(name: string, option: string) {
  return nsbindError('ERR_NSBIND_NO_IDMAP_HELPER', `${option}: mapping ids beyond your own needs ${name}, which is not installed`, {
    option,
    hint: `install it (Debian/Ubuntu: apt-get install uidmap) and give your user ranges in /etc/subuid and /etc/subgid`,
  });
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

/**
 * setgroups in a new user namespace: allowed for root, denied for an unprivileged caller
 * (the kernel takes its gid map only so) -- and for root of a namespace that denies it
 * itself (a rootless container: a child namespace cannot allow what its parent denies).
 */
function defaultSetgroups(privileged: boolean): 'allow' | 'deny' {
  return privileged && ownSetgroupsAllowed() ? 'allow' : 'deny';
}

/** The maps, and whether our own write of each would be refused (then: the helper). */
function userFacts(options: SandboxOptions, privileged: boolean, euid: number, egid: number): UserFacts {
  const u = userOptions(options) ?? {};
  const maps = idMaps(options, privileged);
  const setgroups = u.setgroups ?? defaultSetgroups(privileged);
  const out: UserFacts = { maps, setgroups };
  const ownOnly = (m: IdMapEntry[], own: number) => m.length === 1 && m[0].count === 1 && m[0].outside === own;
  if (!privileged && !ownOnly(maps.uidMap, euid)) {
    out.newuidmap = findHelper('newuidmap');
    if (!out.newuidmap) throw missingHelper('newuidmap', 'user.uidMap');
  }
  // Without privileges the kernel takes a gid map only once setgroups is denied; a map
  // beyond our own gid, or setgroups allowed, needs the setuid helper.
  if (!privileged && !(ownOnly(maps.gidMap, egid) && setgroups === 'deny')) {
    out.newgidmap = findHelper('newgidmap');
    if (!out.newgidmap) throw missingHelper('newgidmap', u.gidMap ? 'user.gidMap' : 'user.setgroups');
    if (setgroups === 'allow') refuseUngrantedSetgroups(maps.gidMap, euid);
  }
  return out;
}

/**
 * newgidmap allows setgroups only when /etc/subgid grants one of the mapped ranges; a
 * map of just our own gid makes it write "deny" instead. Asked for 'allow', the caller
 * must get it or an error, never a sandbox that silently differs (read only here, off
 * the default path).
 */
function refuseUngrantedSetgroups(gidMap: IdMapEntry[], euid: number): void {
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
  const ranges = subidRanges(text, name, euid);
  const granted = gidMap.some((e) => ranges.some((r) => e.outside >= r.start && e.outside + e.count <= r.start + r.count));
  if (!granted) {
    throw nsbindError('ERR_NSBIND_SETGROUPS', "user.setgroups: 'allow' needs a gid range of yours in /etc/subgid in the gid map (newgidmap denies setgroups for a map of only your own gid)", {
      option: 'user.setgroups',
      hint: `give ${name || 'your user'} a range in /etc/subgid and map it with .user({ gidMap }), run as root, or leave setgroups 'deny'`,
    });
  }
}

/**
 * Whether a bind is idmapped (BindOptions.idmap): writable, asked for (the default), and
 * made by a root caller for a new user namespace -- the one case where the program's host
 * id is not the caller's and the kernel lets the caller idmap the host's filesystems.
 * Idmapped mounts came with mount_setattr (5.12). Before, the default degrades to a plain
 * bind (as with { idmap: false }, and as for a filesystem that cannot be idmapped); an
 * explicit { idmap: true } is refused rather than silently not honoured.
 */
export function idmapped(privileged: boolean, created: Set<NamespaceType>, s: { src?: string; dst?: string; readonly?: boolean; idmap?: boolean }, release: string): boolean {
  if (!(privileged && created.has('user') && !s.readonly && s.idmap !== false)) return false;
  if (noMountSetattr(release)) {
    if (s.idmap === true) {
      throw systemError(38 /* ENOSYS */, {
        step: `bind ${s.src ?? ''} -> ${s.dst ?? ''}: idmapped mounts need Linux 5.12, this kernel is ${release}`,
        syscall: 'mount_setattr',
        option: 'bind.idmap',
        path: s.src,
        hint: 'drop { idmap: true } (the bind is then a plain one: the program writes what its host id may), or bind it read-only',
      });
    }
    return false;
  }
  return true;
}

/** At most this many idmapped binds per sandbox (each is a descriptor passed to the child). */
export const MAX_IDMAPPED = 32;

/**
 * Opens the tree of each bind (and `.files()` allowed path) a root caller idmaps, in the
 * Node process, and idmaps it for its owner (native/idmap.cc says why the owner's
 * mapping): on that mount the program's host ids act as the owner of the tree's top, so it
 * writes what the owner may, and what it creates belongs to the owner (SPEC 2.1).
 * Undefined where it cannot be opened (the child's own capture then reports the error as
 * for any bind).
 */
function idmapTrees(options: SandboxOptions, steps: readonly FilesystemStep[], privileged: boolean, created: Set<NamespaceType>, user: UserFacts | undefined, release: string, transient: number[]): Map<FilesystemStep, (number | undefined)[]> {
  const out = new Map<FilesystemStep, (number | undefined)[]>();
  if (!privileged || !created.has('user') || !user) return out;
  const { maps } = user;
  // The ids the program ends with: `.as()` is applied last, over the namespace's own.
  const uid = mapped(maps.uidMap, options.as?.uid ?? maps.uid);
  const gid = mapped(maps.gidMap, options.as?.gid ?? maps.gid);
  let count = 0;
  const open = (src: string, option: string): number | undefined => {
    if (uid === undefined || gid === undefined) return undefined;
    if (++count > MAX_IDMAPPED) {
      throw invalid(option, `at most ${MAX_IDMAPPED} writable binds are idmapped per sandbox`, 'give the others { idmap: false }');
    }
    const b = native();
    const fd = b.openTree(src);
    if (fd < 0) return undefined;
    transient.push(fd);
    const owner = fstatSync(fd);
    // Already the owner (an explicit map of host 0 over root's tree): a plain bind.
    if (owner.uid !== uid || owner.gid !== gid) {
      const r = b.idmapTree(fd, owner.uid, uid, owner.gid, gid);
      // EINVAL: a filesystem in the tree cannot be idmapped (devtmpfs, procfs, sysfs...):
      // the bind stays a plain one, with the host's ids, as with { idmap: false }.
      if (r < 0 && r !== -osConstants.errno.EINVAL) {
        throw systemError(-r, { step: `idmap ${src}`, syscall: 'mount_setattr', path: src });
      }
    }
    return fd;
  };
  for (const s of steps) {
    if (s.op === 'bind' && idmapped(privileged, created, s, release)) out.set(s, [open(s.src, 'bind.idmap')]);
    else if (s.op === 'files' && idmapped(privileged, created, {}, release)) out.set(s, s.write.allow.map((p) => open(p, 'files.write.allow')));
  }
  return out;
}

/** Reads what compiling this sandbox's plan needs to know about the host, now. */
export function resolve(options: SandboxOptions, input: SpawnInput): Facts {
  const privileged = isPrivileged();
  const created = createdNamespaces(options);
  const transientFds: number[] = [];
  const release = kernelRelease();
  try {
    const euid = process.geteuid!();
    const egid = created.has('user') || options.as ? process.getegid!() : -1;
    const steps = (options.fs ?? []) as unknown as FilesystemStep[];
    const rootChanged = steps.some((s) => s.op === 'root' || s.op === 'chroot');
    const facts: Facts = {
      privileged,
      euid,
      egid,
      created,
      user: created.has('user') ? userFacts(options, privileged, euid, egid) : undefined,
      joins: resolveJoins(options, transientFds),
      idmapTrees: undefined!,
      kernelRelease: release,
      capLastCap: capLastCap(),
      nofile: options.rlimits?.nofile ? null : defaultNofile(),
      landlockAbi: landlockWanted(options) ? landlockAbi() : 0,
      initPath: initBinary(),
      cwd: options.cwd === undefined && !rootChanged ? process.cwd() : undefined,
      execPath: input.file.includes('/') ? '' : ((input.env ?? process.env).PATH ?? DEFAULT_PATH),
      transientFds,
    };
    // After the user facts: the trees are idmapped to the ids the program ends with.
    facts.idmapTrees = idmapTrees(options, steps, privileged, created, facts.user, release, transientFds);
    if (egressListenersWanted(options, created)) {
      const pair = native().egressSocketpair();
      if (typeof pair === 'number') throw systemError(-pair, { step: 'egress: socketpair', syscall: 'socketpair' });
      // The parent's end is the egress preparer's to close (lib/net/egress/spawn.ts).
      transientFds.push(pair[1]);
      facts.egressPair = pair;
    }
    return facts;
  } catch (e) {
    for (const fd of transientFds) native().close(fd);
    throw e;
  }
}
