import { getSystemErrorMap } from 'node:util';
import { constants as osConstants } from 'node:os';

/** Fields of an {@link NsbindError} besides the message. */
export interface NsbindErrorInit {
  /** `'EPERM'`, `'ENOENT'`, … as Node's system errors, or `'ERR_NSBIND_*'`. */
  code: string;
  /** The positive errno, for system errors. */
  errno?: number;
  /** The system call that failed, e.g. `'mount'`. */
  syscall?: string;
  /** The sandbox step that failed, e.g. `'bind /data -> /mnt'`. */
  step?: string;
  /** A path the error is about. */
  path?: string;
  /** The option at fault: method and key, e.g. `'tmpfs.size'`. */
  option?: string;
  /** What to change so that it works. */
  hint?: string;
  /** The underlying error, if any. */
  cause?: unknown;
}

/**
 * The one error class of nsbind. The message reads
 * `nsbind: <step>: <syscall>: <code> (<description>)`, then the hint on its own line.
 *
 * @example
 * try { await sandbox().bind('/nope', '/mnt').run('true') }
 * catch (e) { if (e instanceof NsbindError) console.log(e.step, e.code) } // 'bind /nope -> /mnt' 'ENOENT'
 */
export class NsbindError extends Error {
  readonly code: string;
  readonly errno?: number;
  readonly syscall?: string;
  readonly step?: string;
  readonly path?: string;
  readonly option?: string;
  readonly hint?: string;

  constructor(message: string, init: NsbindErrorInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'NsbindError';
    this.code = init.code;
    if (init.errno !== undefined) this.errno = init.errno;
    if (init.syscall !== undefined) this.syscall = init.syscall;
    if (init.step !== undefined) this.step = init.step;
    if (init.path !== undefined) this.path = init.path;
    if (init.option !== undefined) this.option = init.option;
    if (init.hint !== undefined) this.hint = init.hint;
  }
}

const errnoNames = new Map<number, string>();
for (const [name, num] of Object.entries(osConstants.errno)) {
  if (!errnoNames.has(num)) errnoNames.set(num, name);
}
const systemErrors = getSystemErrorMap();

/** `2` -> `'ENOENT'`. */
export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `E${errno}`;
}

/** `2` -> `'no such file or directory'`. */
export function errnoDescription(errno: number): string {
  return systemErrors.get(-errno)?.[1] ?? `errno ${errno}`;
}

/** `'ENOENT'` -> `2`. */
export function errnoNumber(name: string): number | undefined {
  return (osConstants.errno as Record<string, number>)[name];
}

/** A system error from a step: formats the message as SPEC section 8 says. */
export function systemError(
  errno: number,
  fields: { step?: string; syscall?: string; path?: string; option?: string; hint?: string },
): NsbindError {
  const code = errnoName(errno);
  const parts = ['nsbind'];
  if (fields.step) parts.push(fields.step);
  if (fields.syscall) parts.push(fields.syscall);
  let message = `${parts.join(': ')}: ${code} (${errnoDescription(errno)})`;
  const hint = fields.hint ?? hintFor(code, fields.syscall, fields.step);
  if (hint) message += `\n  hint: ${hint}`;
  return new NsbindError(message, { ...fields, code, errno, ...(hint ? { hint } : {}) });
}

/** Bad input, before anything runs: `ERR_NSBIND_INVALID` naming the option. */
export function invalid(option: string, problem: string, hint?: string): NsbindError {
  let message = `nsbind: ${option}: ${problem}`;
  if (hint) message += `\n  hint: ${hint}`;
  return new NsbindError(message, {
    code: 'ERR_NSBIND_INVALID',
    option,
    ...(hint ? { hint } : {}),
  });
}

/** Anything nsbind refuses that is not bad input nor a system error. */
export function nsbindError(code: string, message: string, extra: Partial<NsbindErrorInit> = {}): NsbindError {
  let text = `nsbind: ${message}`;
  if (extra.hint) text += `\n  hint: ${extra.hint}`;
  return new NsbindError(text, { ...extra, code });
}

/** The common refusals, and what to change. */
export function hintFor(code: string, syscall?: string, step?: string): string | undefined {
  const s = `${step ?? ''} ${syscall ?? ''}`;
  if (/^veth: create/.test(step ?? '') && code === 'EEXIST') {
    return 'an interface with the net.veth.peer name already exists on the host (or in net.veth.peerNetns): pick another name; nothing was created';
  }
  if (/^veth: /.test(step ?? '') && (code === 'EPERM' || code === 'EACCES')) {
    return 'creating a veth pair on the host needs CAP_NET_ADMIN there (root), as `ip link add` does';
  }
  if (code === 'ENOSPC' && /clone|unshare|namespace/.test(s)) {
    return 'a namespace limit is reached: raise the sysctl user.max_<type>_namespaces (e.g. `sysctl -w user.max_user_namespaces=15000`) or end other sandboxes';
  }
  if ((code === 'EPERM' || code === 'EACCES') && /clone|unshare/.test(s)) {
    return unprivilegedUsernsHint();
  }
  if (code === 'EPERM' && /uid_map|gid_map|newuidmap|newgidmap/.test(s)) {
    return 'only your own uid/gid can be mapped without privileges: install newuidmap/newgidmap (package uidmap) and give your user ranges in /etc/subuid and /etc/subgid, or map a single id';
  }
  if (code === 'ENOSYS' && /open_tree|move_mount|fsopen|fsconfig|fsmount|mount_setattr|openat2/.test(s)) {
    return 'filesystem steps use the new mount API: they need Linux 5.12 or later (overlay layers by descriptor: 6.8)';
  }
  if (code === 'EINVAL' && /^overlay .*fsconfig/.test(s)) {
    return 'overlayfs refused the layers: upper and work must be directories on the same writable filesystem that supports overlay upper layers (not procfs, overlayfs or a read-only mount); passing layers by descriptor needs Linux 6.8';
  }
  if (code === 'ENOENT' && /openat2/.test(s)) {
    return 'the destination does not exist inside the sandbox; nsbind creates missing mount points only inside filesystems the sandbox made (.tmpfs(), .overlay(), .root())';
  }
  if (code === 'ELOOP' && /openat2/.test(s)) {
    return 'the destination goes through a /proc magic link (such as /proc/self/root), which could lead out of the sandbox';
  }
  if (code === 'EACCES' && /seccomp/.test(s)) {
    return 'without noNewPrivileges the kernel installs a seccomp filter only for a process with CAP_SYS_ADMIN: keep .noNewPrivileges(true), add a user namespace (.user()), or use .seccomp(\'none\')';
  }
  if (code === 'EPERM' && /capset|capabilities/.test(s)) {
    return 'a sandbox can keep only capabilities its creator holds: run as root, or add a user namespace (.user()) to hold them over the sandbox\'s own namespaces';
  }
  if (code === 'EPERM' && /prlimit|rlimit/.test(s)) {
    return 'raising a hard limit above the current one needs root (CAP_SYS_RESOURCE in the host\'s user namespace, which a user namespace does not give): only lower it';
  }
  if (code === 'ENOENT' && /execve/.test(s)) {
    return 'the program is not found inside the sandbox: check the path or PATH, and that its directory is bound into the sandbox';
  }
  if (code === 'EACCES' && /execve/.test(s)) {
    return 'the program is not executable inside the sandbox (permissions, or a noexec mount)';
  }
  return undefined;
}

/** Why unprivileged user namespaces may be refused, read from this machine's sysctls. */
export function unprivilegedUsernsHint(): string {
  return (
    'creating namespaces was refused. Unprivileged user namespaces may be disabled: check ' +
    '`sysctl kernel.unprivileged_userns_clone` (Debian: set it to 1), `sysctl user.max_user_namespaces` (must be > 0), ' +
    'and on Ubuntu 23.10+ `sysctl kernel.apparmor_restrict_unprivileged_userns` (set to 0, or give node an AppArmor profile with `userns,`); ' +
    'inside a container, the runtime\'s seccomp profile may forbid them. `npx nsbind doctor` tells which.'
  );
}
