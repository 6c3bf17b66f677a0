// `.joinCgroup(pid)` (nsenter's --join-cgroup): the sandbox's process starts in the
// cgroup(s) of another process, e.g. a sandbox with limits, so what it runs counts against
// that sandbox's limits.
//
// Which hierarchies: every one in which the target sits elsewhere than the Node process
// (the new process starts where Node is; a hierarchy where both are in the same cgroup
// needs no move). On pure cgroup v2 that is the one unified hierarchy, as nsenter. On
// hybrid hosts (controllers on v1, plus systemd's controller-less v2 mount) and v1 hosts,
// where nsenter refuses ("only supported in cgroup v2"), it is each v1 controller
// hierarchy (memory, pids, cpu... : where the limits are), the named ones (systemd's) and
// the unified one: the process ends up exactly where `/proc/PID/cgroup` says the target is.
//
// How: as for a sandbox's own cgroup (cgroup/spawn.ts), the addon writes the process into
// each cgroup.procs only once its setup runs in nsbind-init, in memory of its own: the
// target's cgroup may have a memory limit, and an OOM kill of a task sharing Node's memory
// would kill Node (SPEC 4). So not CLONE_INTO_CGROUP, which would put the setup child
// there. The cgroup stays the target's: the init kills nothing in it (`cgroupShared`), and
// nsbind never moves any process but the one it creates.
import { readFileSync } from 'node:fs';
import { invalid, systemError, type NsbindError } from '../errors.js';
import type { PreparedSpawn, SpawnPreparer } from '../spawn-types.js';
import { ownDirUnder, parseMountinfo, parseProcCgroup, type CgroupMount, type ProcCgroupEntry } from './layout.js';

function label(e: ProcCgroupEntry): string {
  if (e.id === 0) return 'the unified (v2) hierarchy';
  return e.name !== undefined ? `the name=${e.name} hierarchy` : `the ${e.controllers.join(',')} hierarchy`;
}

function mountOf(mounts: CgroupMount[], e: ProcCgroupEntry): CgroupMount | undefined {
  return mounts.find((m) => {
    if (ownDirUnder(m, e.path) === undefined) return false;
    if (e.id === 0) return m.version === 2;
    if (m.version !== 1) return false;
    if (e.name !== undefined) return m.name === e.name;
    return e.controllers.length > 0 && e.controllers.every((c) => m.controllers.includes(c));
  });
}

/**
 * The cgroup.procs files that put a new process where the target is: from the texts of
 * our /proc/self/mountinfo and /proc/self/cgroup and the target's /proc/PID/cgroup (pure:
 * test/cgroup/join.test.ts). Throws ERR_NSBIND_INVALID when a hierarchy the target
 * is elsewhere in cannot be reached from here.
 */
export function joinProcsFiles(mountinfo: string, ownCgroup: string, targetCgroup: string, pid: number): string[] {
  const mounts = parseMountinfo(mountinfo);
  const own = parseProcCgroup(ownCgroup);
  const files: string[] = [];
  for (const t of parseProcCgroup(targetCgroup)) {
    const mine = own.find((o) => o.id === t.id);
    if (mine && mine.path === t.path) continue;
    if (t.path.startsWith('/..')) {
      throw invalid('joinCgroup', `pid ${pid} is in ${label(t)} outside this process's cgroup namespace (${t.path})`);
    }
    const m = mountOf(mounts, t);
    if (!m) {
      throw invalid('joinCgroup', `pid ${pid}'s cgroup in ${label(t)} (${t.path}) is not mounted where this process can reach it`);
    }
    files.push(`${ownDirUnder(m, t.path)!.replace(/\/$/, '')}/cgroup.procs`);
  }
  return files;
}

function readProc(pid: number | 'self', file: string): string {
  const path = `/proc/${pid}/${file}`;
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const errno = -((e as { errno?: number }).errno ?? -2);
    throw systemError(errno, { step: 'joinCgroup', path, option: 'joinCgroup', ...(errno === 2 ? { hint: `no process ${pid}: it ended, or it is in another pid namespace` } : {}) });
  }
}

/** The spawn preparer for `.joinCgroup()`. */
export const joinCgroupPreparer: SpawnPreparer = (options, request): PreparedSpawn | void => {
  const pid = options.joinCgroup as number | undefined;
  if (pid === undefined) return;
  if (options.limits !== undefined) {
    throw invalid('joinCgroup', 'a sandbox with limits has a cgroup of its own; it cannot also join another process\'s', 'drop .limits() (the target\'s cgroup limits apply), or drop .joinCgroup()');
  }
  const files = joinProcsFiles(readProc('self', 'mountinfo'), readProc('self', 'cgroup'), readProc(pid, 'cgroup'), pid);
  if (files.length === 0) return; // already where the target is
  request.cgroupProcs = files;
  request.cgroupShared = true;
  return {
    refineError(e: NsbindError): NsbindError {
      if (e.step !== 'join cgroup') return e;
      const hint = e.code === 'EACCES' || e.code === 'EPERM'
        ? `moving a process into pid ${pid}'s cgroup needs write access to its cgroup.procs (and, on v2, to that of the common ancestor of both cgroups): the target's cgroup must be delegated to you`
        : `pid ${pid}'s cgroup could not be joined (${files.join(', ')})`;
      return systemError(e.errno ?? 1, { step: 'join cgroup', option: 'joinCgroup', hint, ...(e.syscall ? { syscall: e.syscall } : {}) });
    },
  };
};
