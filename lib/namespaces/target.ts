// What a user may name as "that namespace": a host pid, a running sandbox, a namespace
// file, or (for net) an `ip netns` name. Resolved and checked here, before anything runs,
// so that bad input is an error naming the option rather than a failure in a child.
import { constants as fsc, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { native } from '../binding.js';
import { invalid, systemError } from '../errors.js';
import { isNamespaceType, namespaceTypes, typeOfCloneFlag, type NamespaceType } from './types.js';

const ESRCH = 3;
const ENOTTY = 25;
const EINVAL = 22;

/** Anything with the host pid of a running process, as a `SandboxProcess` has. */
export interface HasPid {
  readonly pid?: number | undefined;
}

/**
 * An existing namespace to join or inspect: a host pid, a `SandboxProcess` (its `pid`),
 * a path to a namespace file (`/proc/PID/ns/net`, `/run/netns/NAME`, a bind-mounted nsfs
 * file), or, for `net` only, the name of an `ip netns` namespace.
 *
 * @example
 * sandbox().net({ join: 'blue' })            // /run/netns/blue
 * sandbox().net({ join: '/proc/1234/ns/net' })
 * enter(proc)                                 // a SandboxProcess
 */
export type NamespaceTarget = number | string | HasPid;

/** A target after checking: a live pid, or a namespace file of the right type. */
export type ResolvedTarget = { kind: 'pid'; pid: number } | { kind: 'file'; path: string };

/** Where ip netns keeps named network namespaces. */
export const netnsDir = '/run/netns';

/** A pid that names a live process, or ESRCH / ERR_NSBIND_INVALID. */
export function checkPid(pid: unknown, option: string): number {
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 0) {
    throw invalid(option, `a pid must be a positive integer, not ${describe(pid)}`);
  }
  try {
    statSync(`/proc/${pid}`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw systemError(ESRCH, { step: `${option}: pid ${pid}`, option, path: `/proc/${pid}` });
    }
    throw e;
  }
  return pid;
}

/**
 * Resolve `target` for a namespace of `type`. Files are opened and asked for their type
 * with NS_GET_NSTYPE, so a path that is not a namespace file, or one of another type,
 * fails here.
 */
export function resolveTarget(target: NamespaceTarget, type: NamespaceType, option: string): ResolvedTarget {
  if (typeof target === 'number') return { kind: 'pid', pid: checkPid(target, option) };
  if (typeof target === 'string') {
    if (target === '') throw invalid(option, 'an empty string is not a namespace');
    if (!target.includes('/')) {
      if (type !== 'net') {
        throw invalid(
          option,
          `'${target}' is not a path; only network namespaces can be named (ip netns names)`,
          `give a pid, a SandboxProcess, or a path such as /proc/PID/ns/${type}`,
        );
      }
      if (target === '.' || target === '..') throw invalid(option, `'${target}' is not a netns name`);
      const path = `${netnsDir}/${target}`;
      checkFile(path, type, option, `no network namespace is named '${target}': create it with netns.add('${target}') or \`ip netns add ${target}\``);
      return { kind: 'file', path };
    }
    const path = isAbsolute(target) ? target : resolve(target);
    checkFile(path, type, option);
    return { kind: 'file', path };
  }
  if (target !== null && typeof target === 'object' && 'pid' in target) {
    const pid = (target as HasPid).pid;
    if (pid === undefined) throw invalid(option, 'the process has no pid: it has not started (or failed to start)');
    return { kind: 'pid', pid: checkPid(pid, option) };
  }
  throw invalid(option, `a namespace target is a pid, a SandboxProcess or a path, not ${describe(target)}`);
}

/**
 * The namespace file of `type` for a resolved target (for pids, under /proc). A process's
 * time namespace is the one its children get, `time_for_children`: before Linux 6.12 a
 * sandbox's top process is nsbind-init, which stays in its creator's time namespace and
 * forks the program into the new one (SandboxProcess.namespaces reads it the same way).
 * For any other process the two are the same file unless it unshared one and has not
 * forked or exec'd since: then its children's is the one joiners want too.
 */
export function targetPath(t: ResolvedTarget, type: NamespaceType): string {
  if (t.kind === 'file') return t.path;
  return type === 'time' ? `/proc/${t.pid}/ns/time_for_children` : `/proc/${t.pid}/ns/${type}`;
}

/**
 * Open a namespace file read-only (CLOEXEC); the caller closes the fd. O_NONBLOCK and
 * O_NOCTTY because the path may be anything a user typed (a FIFO, a tty) and must not
 * hang or change our terminal before it is found not to be a namespace.
 */
export function openNamespaceFile(path: string, option: string, hint?: string): number {
  const fd = native().open(path, fsc.O_RDONLY | fsc.O_NONBLOCK | fsc.O_NOCTTY);
  if (fd < 0) {
    const errno = -fd;
    throw systemError(errno, { step: `${option}: open ${path}`, syscall: 'open', path, option, ...(hint && errno === 2 ? { hint } : {}) });
  }
  return fd;
}

/** The type of the namespace behind an open fd, or undefined when it is not a namespace. */
export function namespaceTypeOf(fd: number): NamespaceType | undefined {
  const r = native().nsType(fd);
  return r < 0 ? undefined : typeOfCloneFlag(r);
}

/** Check that `path` is a namespace file of `type` (NS_GET_NSTYPE). */
export function checkFile(path: string, type: NamespaceType | undefined, option: string, missingHint?: string): NamespaceType {
  const b = native();
  const fd = openNamespaceFile(path, option, missingHint);
  try {
    const r = b.nsType(fd);
    if (r === -ENOTTY || r === -EINVAL) throw invalid(option, `${path} is not a namespace file`, 'namespace files are /proc/PID/ns/TYPE, /run/netns/NAME, or bind mounts of those');
    if (r < 0) throw systemError(-r, { step: `${option}: ${path}`, syscall: 'ioctl(NS_GET_NSTYPE)', path, option });
    const actual = typeOfCloneFlag(r);
    if (!actual) throw invalid(option, `${path} is a namespace of a type nsbind does not know (${r})`);
    if (type && actual !== type) throw invalid(option, `${path} is a ${actual} namespace, not ${type}`);
    return actual;
  } finally {
    b.close(fd);
  }
}

/** Validate a list of namespace type names (`enter(target, types)`, `.all({ except })`). */
export function checkTypes(types: unknown, option: string): NamespaceType[] {
  if (!Array.isArray(types)) throw invalid(option, `expected an array of namespace types, not ${describe(types)}`);
  const out: NamespaceType[] = [];
  for (const t of types) {
    if (!isNamespaceType(t)) {
      throw invalid(
        option,
        `unknown namespace type ${describe(t)}`,
        t === 'mount' ? "the kernel's name is 'mnt'" : `the types are ${namespaceTypes.join(' ')}`,
      );
    }
    if (!out.includes(t)) out.push(t);
  }
  return out;
}

export function describe(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}
