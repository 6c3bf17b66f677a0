// The filesystem steps of the builder (SPEC 2.2). Each function validates at once and
// returns `options.fs` with one more step; lib/sandbox.ts's methods of the same names make
// the new Sandbox from it. `replayFs` turns a stored step back into its method call, so
// `sandbox(sb.options)` rebuilds the same sandbox.
import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { invalid } from '../errors.js';
import type { FsStep } from '../options.js';
import * as v from '../validate.js';
import { kindOf, STEP_KINDS, type StepKind, type StepOp } from './kinds.js';
import { creatable, parentOf } from './layers.js';
import { resolvePolicy, type FilesPolicy } from './policy.js';
import type { BindOptions, FileOptions, FilesystemStep, OverlayOptions, TmpfsOptions } from './steps.js';
import { destination, size, source } from './validate.js';

/** At most this many host paths per sandbox (the child keeps one descriptor for each). */
export const MAX_SOURCES = 240;


/** What these functions read of a sandbox's options: its steps so far. */
export interface WithSteps {
  readonly fs?: readonly FsStep[];
}

function steps(o: WithSteps): FilesystemStep[] {
  return (o.fs ?? []) as unknown as FilesystemStep[];
}

function sourceCount(all: readonly FilesystemStep[]): number {
  let n = 0;
  for (const s of all) {
    if (s.op === 'bind' || (s.op === 'root' && s.dir !== undefined) || s.op === 'chroot' || (s.op === 'file' && s.bind)) n++;
    else if (s.op === 'overlay') n += s.lower.length + (s.upper ? 2 : 0);
    else if (s.op === 'dev') n += 6;
    else if (s.op === 'files') n += s.write.allow.length;
  }
  return n;
}

/** The steps with one more: the new `options.fs` (lib/sandbox.ts makes the new Sandbox). */
function add(o: WithSteps, step: FilesystemStep, method: string): FsStep[] {
  const all = [...steps(o), step];
  if (sourceCount(all) > MAX_SOURCES) throw invalid(method, `more than ${MAX_SOURCES} host paths in one sandbox`);
  return all as unknown as FsStep[];
}

/** `.dir/.symlink/.file` create things: only where the sandbox made the filesystem. */
function mustBeCreatable(sb: WithSteps, path: string, method: string): void {
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

export function bind(sb: WithSteps, src: string, dst?: string, o?: BindOptions): FsStep[] {
  const s = source(src, 'bind.src');
  const d = destination(dst ?? s, 'bind.dst');
  return add(sb, { op: 'bind', src: s, dst: d, ...bindOptions(o, 'bind', ['readonly', 'optional', 'devices', 'idmap']) }, 'bind');
}

export function roBind(sb: WithSteps, src: string, dst?: string, o?: Omit<BindOptions, 'readonly'>): FsStep[] {
  const s = source(src, 'roBind.src');
  const d = destination(dst ?? s, 'roBind.dst');
  return add(sb, { op: 'bind', src: s, dst: d, ...bindOptions(o, 'roBind', ['optional', 'devices']), readonly: true }, 'roBind');
}

export function tmpfs(sb: WithSteps, dst: string, o?: TmpfsOptions): FsStep[] {
  const d = destination(dst, 'tmpfs.dst');
  const opts = v.plainObject(o, 'tmpfs.options');
  v.knownKeys(opts, ['size', 'mode'], 'tmpfs');
  const step: FilesystemStep = { op: 'tmpfs', dst: d };
  if (opts.size !== undefined) {
    size(opts.size, 'tmpfs.size');
    step.size = opts.size as number | string;
  }
  if (opts.mode !== undefined) step.mode = v.mode(opts.mode, 'tmpfs.mode');
  return add(sb, step, 'tmpfs');
}

export function proc(sb: WithSteps, dst = '/proc'): FsStep[] {
  return add(sb, { op: 'proc', dst: destination(dst, 'proc.dst') }, 'proc');
}

export function dev(sb: WithSteps, dst = '/dev'): FsStep[] {
  return add(sb, { op: 'dev', dst: destination(dst, 'dev.dst') }, 'dev');
}

/** A kernel filesystem mounted fresh (a row of lib/fs/kinds.ts with `mount`, e.g. mqueue). */
export function freshMount(sb: WithSteps, op: StepOp, dst?: string): FsStep[] {
  const kind = STEP_KINDS[op] as StepKind;
  if (!kind.mount) throw new Error(`nsbind: ${op} is not a fresh mount`);
  return add(sb, { op, dst: destination(dst ?? kind.defaultAt, `${op}.dst`) } as FilesystemStep, op);
}

/** `.files()`: the policy resolved now, stored as one step (lib/fs/policy.ts). */
export function files(sb: WithSteps, policy: FilesPolicy): FsStep[] {
  return add(sb, resolvePolicy(policy), 'files');
}

export function overlay(sb: WithSteps, dst: string, o: OverlayOptions): FsStep[] {
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
  return add(sb, step, 'overlay');
}

export function dir(sb: WithSteps, path: string, mode = 0o755): FsStep[] {
  const p = destination(path, 'dir.path');
  const m = v.mode(mode, 'dir.mode');
  mustBeCreatable(sb, p, 'dir');
  return add(sb, { op: 'dir', path: p, mode: m }, 'dir');
}

export function symlink(sb: WithSteps, target: string, path: string): FsStep[] {
  const t = v.cString(target, 'symlink.target', { maxBytes: 4095 });
  const p = destination(path, 'symlink.path');
  if (p === '/') throw invalid('symlink.path', "'/' cannot be a symbolic link");
  mustBeCreatable(sb, p, 'symlink');
  return add(sb, { op: 'symlink', target: t, path: p }, 'symlink');
}

export function file(sb: WithSteps, path: string, content: string | Uint8Array, mode = 0o644, o: FileOptions = {}): FsStep[] {
  const p = destination(path, 'file.path');
  if (p === '/') throw invalid('file.path', "'/' cannot be a file");
  const m = v.mode(mode, 'file.mode');
  const opts = v.plainObject(o, 'file.options');
  v.knownKeys(opts, ['bind'], 'file');
  const bind = opts.bind === undefined ? false : v.bool(opts.bind, 'file.bind');
  // A bound file is a mount of its own: over an existing path (a host file stays
  // untouched beneath it), or at a mount point created where the sandbox may create.
  if (!bind) mustBeCreatable(sb, p, 'file');
  const extra = bind ? { bind: true } : {};
  if (typeof content === 'string') return add(sb, { op: 'file', path: p, content, mode: m, ...extra }, 'file');
  if (content instanceof Uint8Array) {
    return add(sb, { op: 'file', path: p, content: Buffer.from(content).toString('base64'), encoding: 'base64', mode: m, ...extra }, 'file');
  }
  throw invalid('file.content', `expected a string or a Uint8Array, got ${v.describe(content)}`);
}

export function readonly(sb: WithSteps, path = '/'): FsStep[] {
  return add(sb, { op: 'readonly', path: destination(path, 'readonly.path') }, 'readonly');
}

export function mask(sb: WithSteps, path: string): FsStep[] {
  const p = destination(path, 'mask.path');
  if (p === '/') throw invalid('mask.path', "cannot mask '/'");
  return add(sb, { op: 'mask', path: p }, 'mask');
}

function oneRoot(sb: WithSteps, method: string): void {
  const prior = steps(sb).find((s) => s.op === 'root' || s.op === 'chroot');
  if (prior) throw invalid(method, `the sandbox already has a root (.${prior.op}()); give only one .root() or .chroot()`);
}

export function root(sb: WithSteps, dir?: string): FsStep[] {
  oneRoot(sb, 'root');
  if (dir === undefined) return add(sb, { op: 'root' }, 'root');
  const src = source(dir, 'root.dir');
  refuseSymlinkedMountPoints(src);
  return add(sb, { op: 'root', dir: src }, 'root');
}

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

export function chroot(sb: WithSteps, dir: string): FsStep[] {
  oneRoot(sb, 'chroot');
  return add(sb, { op: 'chroot', dir: source(dir, 'chroot.dir') }, 'chroot');
}

/**
 * What replaying needs of a builder: its filesystem methods (lib/sandbox.ts's Sandbox has
 * them; a structural type, so that this module does not import the builder).
 */
export interface FsMethods<S> {
  bind(src: string, dst?: string, o?: BindOptions): S;
  tmpfs(dst: string, o?: TmpfsOptions): S;
  proc(dst?: string): S;
  dev(dst?: string): S;
  overlay(dst: string, o: OverlayOptions): S;
  dir(path: string, mode?: number): S;
  symlink(target: string, path: string): S;
  file(path: string, content: string | Uint8Array, mode?: number, o?: FileOptions): S;
  readonly(path?: string): S;
  mask(path: string): S;
  files(policy: FilesPolicy): S;
  root(dir?: string): S;
  chroot(dir: string): S;
}

/** Replays one stored step through its method (used by `sandbox(options)`). */
export function replayFs<S extends FsMethods<S>>(sb: S, step: Record<string, unknown>, option: string): S {
  const s = step as unknown as FilesystemStep & Record<string, unknown>;
  const kind = kindOf(s.op);
  if (!kind) throw invalid(`${option}.op`, `unknown filesystem step ${v.describe(s.op)}`);
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
      return s.bind === undefined ? sb.file(s.path, content, s.mode) : sb.file(s.path, content, s.mode, { bind: s.bind });
    }
    case 'readonly': return sb.readonly(s.path);
    case 'mask': return sb.mask(s.path);
    // The stored lists are resolved already; resolving again gives the same paths, and
    // the mandatory list is derived again (it is not an input).
    case 'files': return sb.files({ read: s.read, write: s.write });
    case 'root': return sb.root(s.dir);
    case 'chroot': return sb.chroot(s.dir);
    // A kernel filesystem mounted fresh (lib/fs/kinds.ts `mount`): its method takes the destination.
    default: return (sb as unknown as Record<string, (dst: string) => S>)[s.op](s.dst);
  }
}

