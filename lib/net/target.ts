// "Which network namespace": the forms SPEC 2.1 allows for a target, resolved to a file
// and opened once, so that everything after acts on that namespace even if the name or
// the pid is reused meanwhile.
import { constants as fsConstants } from 'node:fs';
import { native } from '../binding.js';
import { invalid, systemError } from '../errors.js';
import { validateNetnsName } from './names.js';
import { netnsPath } from './netns.js';

/**
 * A network namespace: the name of an `ip netns` namespace (`'blue'`), a host pid, a
 * `SandboxProcess` (or anything with a `pid`), or a path to a namespace file
 * (`/proc/PID/ns/net`, `/run/netns/NAME`, a bind-mounted nsfs file). A string with a `/`
 * is a path; without one, a name.
 */
export type NetnsTarget = string | number | { readonly pid: number };

/** The namespace file for a target, after checking its form. */
export function netnsTargetPath(option: string, target: unknown): string {
  if (typeof target === 'number') {
    if (!Number.isSafeInteger(target) || target <= 0) throw invalid(option, `a pid must be a positive integer, not ${target}`);
    return `/proc/${target}/ns/net`;
  }
  if (typeof target === 'string') {
    if (target.includes('\0')) throw invalid(option, 'a path must not contain NUL');
    if (target.includes('/')) return target;
    return netnsPath(validateNetnsName(option, target));
  }
  if (target !== null && typeof target === 'object' && 'pid' in target) {
    const pid = (target as { pid: unknown }).pid;
    if (typeof pid === 'number' && Number.isSafeInteger(pid) && pid > 0) return `/proc/${pid}/ns/net`;
    throw invalid(option, 'the process has no pid (it has not started, or its spawn failed)');
  }
  throw invalid(option, 'expected a netns name, a pid, a SandboxProcess or a path to a namespace file');
}

/** An open descriptor (CLOEXEC) of the target's namespace file; the caller closes it. */
export function openNetnsTarget(option: string, target: unknown, step: string): { fd: number; path: string } {
  const path = netnsTargetPath(option, target);
  // O_NONBLOCK | O_NOCTTY: a path is whatever the user typed (a FIFO, a tty) and must not
  // hang or take our terminal before it turns out not to be a namespace file.
  const fd = native().open(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK | fsConstants.O_NOCTTY);
  if (fd < 0) {
    let hint: string | undefined;
    if (fd === -2 /* ENOENT */) {
      hint =
        typeof target === 'string' && !target.includes('/')
          ? `there is no network namespace named '${target}': netns.list() shows them, netns.add() creates one`
          : typeof target === 'string'
            ? undefined
            : 'that process is gone';
    }
    throw systemError(-fd, { step, syscall: 'open', path, option, ...(hint ? { hint } : {}) });
  }
  return { fd, path };
}
