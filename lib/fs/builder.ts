// The filesystem methods of the builder (SPEC 2.2). Each validates at once and appends
// one step to `options.fs`; `Sandbox.replayFs` turns a stored step back into its call,
// so `sandbox(sb.options)` rebuilds the same sandbox.
import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { invalid } from '../errors.js';
import type { FsStep } from '../options.js';
import { Sandbox } from '../sandbox.js';
import * as v from '../validate.js';
import { kindOf, STEP_KINDS, type StepKind, type StepOp } from './kinds.js';
import { creatable, parentOf } from './layers.js';
import type { BindOptions, FilesystemStep, OverlayOptions, TmpfsOptions } from './steps.js';
import { destination, size, source } from './validate.js';

/** At most this many host paths per sandbox (the child keeps one descriptor for each). */
export const MAX_SOURCES = 240;

declare module '../sandbox.js' {
  interface Sandbox {
    /**
     * Bind-mounts the host path `src` at `dst` inside the sandbox. Binds are `nosuid`,
     * and `nodev` unless `devices` is set; `readonly` applies to every submount too.
     * @param dst @default src
     * @example sandbox().bind('/data', '/mnt/data', { readonly: true })
     */
    bind(src: string, dst?: string, o?: BindOptions): Sandbox;
    /**
     * `.bind()` with `readonly: true`: read-only recursively.
     * @param dst @default src
     * @example sandbox().roBind('/usr').roBind('/etc/resolv.conf')
     */
    roBind(src: string, dst?: string, o?: Omit<BindOptions, 'readonly'>): Sandbox;
    /**
     * A tmpfs at `dst` (`nosuid`, `nodev`); its contents vanish with the sandbox.
     * @example sandbox().tmpfs('/tmp', { size: '64M', mode: 0o1777 })
     */
    tmpfs(dst: string, o?: TmpfsOptions): Sandbox;
    /**
     * A procfs for the sandbox's pid namespace (implies `.pid()`), with /proc/kcore,
     * /proc/keys, /proc/timer_list, /proc/sched_debug, /proc/acpi, /proc/scsi and
     * /sys/firmware masked and /proc/sys, /proc/sysrq-trigger, /proc/irq, /proc/bus
     * read-only.
     * @param dst @default '/proc'
     * @example sandbox().proc().run('ps', ['ax'])
     */
    proc(dst?: string): Sandbox;
    /**
     * A minimal /dev: null, zero, full, random, urandom, tty (bound from the host), a
     * private devpts with ptmx, a shm tmpfs, and the fd/stdin/stdout/stderr links.
     * @param dst @default '/dev'
     * @example sandbox().root().roBind('/usr').dev().proc()
     */
    dev(dst?: string): Sandbox;
    /**
     * An mqueue filesystem for the sandbox's IPC namespace (implies `.ipc()`).
     * @param dst @default '/dev/mqueue'
     */
    mqueue(dst?: string): Sandbox;
    /**
     * An overlayfs at `dst`: `lower` layers (host paths, top-most first) under a writable
     * `upper` (with its `work` dir), or under a tmpfs when both are omitted.
     * @example sandbox().overlay('/src', { lower: ['/home/me/src'] }) // writes vanish
     */
    overlay(dst: string, o: OverlayOptions): Sandbox;
    /**
     * Creates a directory (and missing parents) inside a filesystem the sandbox made.
     * @param mode @default 0o755
     * @example sandbox().tmpfs('/work').dir('/work/out', 0o700)
     */
    dir(path: string, mode?: number): Sandbox;
    /**
     * Creates a symbolic link `path` -> `target` inside a filesystem the sandbox made.
     * @example sandbox().root().roBind('/usr').symlink('usr/bin', '/bin')
     */
    symlink(target: string, path: string): Sandbox;
    /**
     * Creates a file with `content` inside a filesystem the sandbox made.
     * @param mode @default 0o644
     * @example sandbox().tmpfs('/etc').file('/etc/hostname', 'box\n')
     */
    file(path: string, content: string | Uint8Array, mode?: number): Sandbox;
    /**
     * Makes `path` and everything mounted under it read-only.
     * @param path @default '/'
     * @example sandbox().tmpfs('/tmp').readonly('/')
     */
    readonly(path?: string): Sandbox;
    /**
     * Hides a file (it reads empty) or a directory (empty and read-only).
     * @example sandbox().mask('/etc/shadow')
     */
    mask(path: string): Sandbox;
    /**
     * `pivot_root` into the host directory `dir`, or into a fresh empty tmpfs; the old
     * root is detached. Destinations of all steps are then inside the new root, sources
     * stay host paths. The working directory defaults to '/'.
     * @example sandbox().root().roBind('/usr').symlink('usr/bin', '/bin').run('/bin/sh', ['-c', 'ls /'])
     */
    root(dir?: string): Sandbox;
    /**
     * `chroot` into the host directory `dir`: like `.root(dir)` but weaker — the old root
     * stays mounted in the sandbox's mount namespace, and a process holding
     * CAP_SYS_CHROOT can escape a chroot. Prefer `.root()`.
     * @example sandbox().chroot('/srv/rootfs')
     */
    chroot(dir: string): Sandbox;
  }
}

function steps(sb: Sandbox): FilesystemStep[] {
  return (sb.options.fs ?? []) as unknown as FilesystemStep[];
}

function sourceCount(all: readonly FilesystemStep[]): number {
  let n = 0;
  for (const s of all) {
    if (s.op === 'bind' || (s.op === 'root' && s.dir !== undefined) || s.op === 'chroot') n++;
    else if (s.op === 'overlay') n += s.lower.length + (s.upper ? 2 : 0);
    else if (s.op === 'dev') n += 6;
    else if (s.op === 'files') n += s.write.allow.length;
  }
  return n;
}

function add(sb: Sandbox, step: FilesystemStep, method: string): Sandbox {
  const all = [...steps(sb), step];
  if (sourceCount(all) > MAX_SOURCES) throw invalid(method, `more than ${MAX_SOURCES} host paths in one sandbox`);
  return new Sandbox({ ...(sb.options as object), fs: structuredClone(all) as unknown as FsStep[] });
}

/** `.dir/.symlink/.file` create things: only where the sandbox made the filesystem. */
function mustBeCreatable(sb: Sandbox, path: string, method: string): void {
  if (!creatable(steps(sb), parentOf(path)) && !creatable(steps(sb), path)) {
    throw invalid(
      `${method}.path`,
      `'${path}' is not inside a filesystem the sandbox made; nsbind never creates files on the host's filesystems`,
      `mount a tmpfs or an overlay over it first (.tmpfs('${parentOf(path)}')), or use .root()`,
    );
  }
}

function bindOptions(o: unknown, method: string, keys: string[]): BindOptions {
  const opts = v.plainObject(o, `${method}.options`);
  v.knownKeys(opts, keys, method);
  const out: BindOptions = {};
  if (opts.readonly !== undefined) out.readonly = v.bool(opts.readonly, `${method}.readonly`);
  if (opts.optional !== undefined) out.optional = v.bool(opts.optional, `${method}.optional`);
  if (opts.devices !== undefined) out.devices = v.bool(opts.devices, `${method}.devices`);
  if (opts.idmap !== undefined) out.idmap = v.bool(opts.idmap, `${method}.idmap`);
  return out;
}

Sandbox.prototype.bind = function bind(this: Sandbox, src: string, dst?: string, o?: BindOptions): Sandbox {
  const s = source(src, 'bind.src');
  const d = destination(dst ?? s, 'bind.dst');
  return add(this, { op: 'bind', src: s, dst: d, ...bindOptions(o, 'bind', ['readonly', 'optional', 'devices', 'idmap']) }, 'bind');
};

Sandbox.prototype.roBind = function roBind(this: Sandbox, src: string, dst?: string, o?: Omit<BindOptions, 'readonly'>): Sandbox {
  const s = source(src, 'roBind.src');
  const d = destination(dst ?? s, 'roBind.dst');
  return add(this, { op: 'bind', src: s, dst: d, ...bindOptions(o, 'roBind', ['optional', 'devices']), readonly: true }, 'roBind');
};

Sandbox.prototype.tmpfs = function tmpfs(this: Sandbox, dst: string, o?: TmpfsOptions): Sandbox {
  const d = destination(dst, 'tmpfs.dst');
  const opts = v.plainObject(o, 'tmpfs.options');
  v.knownKeys(opts, ['size', 'mode'], 'tmpfs');
  const step: FilesystemStep = { op: 'tmpfs', dst: d };
  if (opts.size !== undefined) {
    size(opts.size, 'tmpfs.size');
    step.size = opts.size as number | string;
  }
  if (opts.mode !== undefined) step.mode = v.mode(opts.mode, 'tmpfs.mode');
  return add(this, step, 'tmpfs');
};

Sandbox.prototype.proc = function proc(this: Sandbox, dst = '/proc'): Sandbox {
  return add(this, { op: 'proc', dst: destination(dst, 'proc.dst') }, 'proc');
};

Sandbox.prototype.dev = function dev(this: Sandbox, dst = '/dev'): Sandbox {
  return add(this, { op: 'dev', dst: destination(dst, 'dev.dst') }, 'dev');
};

// Kernel filesystems mounted fresh (lib/fs/kinds.ts `mount`): one method each, from the row.
for (const [op, kind] of Object.entries(STEP_KINDS) as [StepOp, StepKind][]) {
  if (!kind.mount) continue;
  (Sandbox.prototype as unknown as Record<string, unknown>)[op] = function (this: Sandbox, dst = kind.defaultAt): Sandbox {
    return add(this, { op, dst: destination(dst, `${op}.dst`) } as FilesystemStep, op);
  };
}

Sandbox.prototype.overlay = function overlay(this: Sandbox, dst: string, o: OverlayOptions): Sandbox {
  const d = destination(dst, 'overlay.dst');
  if (o === undefined) throw invalid('overlay.lower', 'an overlay needs at least one lower layer');
  const opts = v.plainObject(o, 'overlay.options');
  v.knownKeys(opts, ['lower', 'upper', 'work'], 'overlay');
  if (!Array.isArray(opts.lower) || opts.lower.length === 0) {
    throw invalid('overlay.lower', 'an overlay needs at least one lower layer (an array of host directories)');
  }
  if (opts.lower.length > 500) throw invalid('overlay.lower', 'overlayfs takes at most 500 lower layers');
  const lower = opts.lower.map((l, i) => source(l, `overlay.lower[${i}]`));
  if ((opts.upper === undefined) !== (opts.work === undefined)) {
    throw invalid(opts.upper === undefined ? 'overlay.upper' : 'overlay.work', 'give both upper and work, or neither (for a tmpfs-backed upper layer)');
  }
  const step: FilesystemStep = { op: 'overlay', dst: d, lower };
  if (opts.upper !== undefined) {
    step.upper = source(opts.upper, 'overlay.upper');
    step.work = source(opts.work, 'overlay.work');
  }
  return add(this, step, 'overlay');
};

Sandbox.prototype.dir = function dir(this: Sandbox, path: string, mode = 0o755): Sandbox {
  const p = destination(path, 'dir.path');
  const m = v.mode(mode, 'dir.mode');
  mustBeCreatable(this, p, 'dir');
  return add(this, { op: 'dir', path: p, mode: m }, 'dir');
};

Sandbox.prototype.symlink = function symlink(this: Sandbox, target: string, path: string): Sandbox {
  const t = v.cString(target, 'symlink.target', { maxBytes: 4095 });
  const p = destination(path, 'symlink.path');
  if (p === '/') throw invalid('symlink.path', "'/' cannot be a symbolic link");
  mustBeCreatable(this, p, 'symlink');
  return add(this, { op: 'symlink', target: t, path: p }, 'symlink');
};

Sandbox.prototype.file = function file(this: Sandbox, path: string, content: string | Uint8Array, mode = 0o644): Sandbox {
  const p = destination(path, 'file.path');
  if (p === '/') throw invalid('file.path', "'/' cannot be a file");
  const m = v.mode(mode, 'file.mode');
  mustBeCreatable(this, p, 'file');
  if (typeof content === 'string') return add(this, { op: 'file', path: p, content, mode: m }, 'file');
  if (content instanceof Uint8Array) {
    return add(this, { op: 'file', path: p, content: Buffer.from(content).toString('base64'), encoding: 'base64', mode: m }, 'file');
  }
  throw invalid('file.content', `expected a string or a Uint8Array, got ${v.describe(content)}`);
};

Sandbox.prototype.readonly = function readonly(this: Sandbox, path = '/'): Sandbox {
  return add(this, { op: 'readonly', path: destination(path, 'readonly.path') }, 'readonly');
};

Sandbox.prototype.mask = function mask(this: Sandbox, path: string): Sandbox {
  const p = destination(path, 'mask.path');
  if (p === '/') throw invalid('mask.path', "cannot mask '/'");
  return add(this, { op: 'mask', path: p }, 'mask');
};

function oneRoot(sb: Sandbox, method: string): void {
  const prior = steps(sb).find((s) => s.op === 'root' || s.op === 'chroot');
  if (prior) throw invalid(method, `the sandbox already has a root (.${prior.op}()); give only one .root() or .chroot()`);
}

Sandbox.prototype.root = function root(this: Sandbox, dir?: string): Sandbox {
  oneRoot(this, 'root');
  if (dir === undefined) return add(this, { op: 'root' }, 'root');
  const src = source(dir, 'root.dir');
  refuseSymlinkedMountPoints(src);
  return add(this, { op: 'root', dir: src }, 'root');
};

/**
 * A root whose /proc or /dev is a symlink is refused, as runc does (SPEC 2.2): the
 * mounts made there would land wherever the link points, which an image's author (not
 * the caller) chose.
 */
function refuseSymlinkedMountPoints(dir: string): void {
  for (const name of ['proc', 'dev']) {
    let link = false;
    try {
      link = lstatSync(join(dir, name)).isSymbolicLink();
    } catch {
      // missing: nsbind creates it inside the root when a step needs it, or the step fails
    }
    if (link) throw invalid('root.dir', `${join(dir, name)} is a symlink; a root's /${name} must be a directory (or missing)`);
  }
}

Sandbox.prototype.chroot = function chroot(this: Sandbox, dir: string): Sandbox {
  oneRoot(this, 'chroot');
  return add(this, { op: 'chroot', dir: source(dir, 'chroot.dir') }, 'chroot');
};

/** Replays one stored step through its method (used by `sandbox(options)`). */
export function replayFs(sb: Sandbox, step: Record<string, unknown>): Sandbox {
  const s = step as unknown as FilesystemStep & Record<string, unknown>;
  const kind = kindOf(s.op);
  if (!kind) throw invalid('fs.op', `unknown filesystem step ${v.describe(s.op)}`);
  v.knownKeys(Object.fromEntries(Object.entries(s).filter(([k]) => k !== 'op')), [...kind.keys], `fs.${s.op}`);
  const { op: _op, ...rest } = s as Record<string, unknown>;
  switch (s.op) {
    case 'bind': {
      const { src, dst, ...o } = rest;
      return sb.bind(src as string, dst as string, o);
    }
    case 'tmpfs': {
      const { dst, ...o } = rest;
      return sb.tmpfs(dst as string, o);
    }
    case 'proc': return sb.proc(s.dst);
    case 'dev': return sb.dev(s.dst);
    case 'overlay': {
      const { dst, ...o } = rest;
      return sb.overlay(dst as string, o as unknown as OverlayOptions);
    }
    case 'dir': return sb.dir(s.path, s.mode);
    case 'symlink': return sb.symlink(s.target, s.path);
    case 'file': {
      if (s.encoding !== undefined && s.encoding !== 'base64') throw invalid('fs.file.encoding', "expected 'base64' or nothing");
      const content = s.encoding === 'base64' ? new Uint8Array(Buffer.from(v.cString(s.content, 'file.content', { empty: true }), 'base64')) : s.content;
      return sb.file(s.path, content, s.mode);
    }
    case 'readonly': return sb.readonly(s.path);
    case 'mask': return sb.mask(s.path);
    // The stored lists are resolved already; resolving again gives the same paths, and
    // the mandatory list is derived again (it is not an input).
    case 'files': return sb.files({ read: s.read, write: s.write });
    case 'root': return sb.root(s.dir);
    case 'chroot': return sb.chroot(s.dir);
    // A kernel filesystem mounted fresh (lib/fs/kinds.ts `mount`): its method takes the destination.
    default: return (sb as unknown as Record<string, (dst: string) => Sandbox>)[s.op](s.dst);
  }
}

Object.assign(Sandbox, { replayFs });
