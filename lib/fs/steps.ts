// The filesystem steps (SPEC 2.2) as plain JSON data: what `sb.options.fs` holds and
// `sandbox(options)` replays, one entry per builder call, in the order written.

import { STEP_KINDS, type StepKind, type StepOp } from './kinds.js';

/** Options of `.file()`. */
export interface FileOptions {
  /**
   * The file is a mount of its own, on a private tmpfs (bubblewrap's `--bind-data`): it
   * may cover an existing file, of the host's too (which stays untouched beneath it);
   * a missing path is created only where `.file()` could create it.
   * @default false
   */
  bind?: boolean;
}

/** Options of `.bind()` and `.roBind()`. */
export interface BindOptions {
  /**
   * Read-only, recursively: submounts of the source are read-only too.
   * @default false (`true` for `.roBind()`)
   */
  readonly?: boolean;
  /**
   * Skip the step when the source is missing instead of failing.
   * @default false
   */
  optional?: boolean;
  /**
   * Allow device nodes under the bind (otherwise it is `nodev`).
   * @default false
   */
  devices?: boolean;
  /**
   * For a root caller, whose program runs as an unprivileged host id (SPEC 2.1): mount a
   * writable bind idmapped through the sandbox's user namespace (Linux 5.12+, a filesystem
   * that supports it), so an id N on disk is inside-id N -- root's files belong to the
   * program's inside-root, and what it creates belongs to their owner on disk. `false`:
   * plain bind, with the host ids (the program then writes only what its host id may).
   * Unprivileged callers and read-only binds never need it.
   * @default true
   */
  idmap?: boolean;
}

/** Options of `.tmpfs()`. */
export interface TmpfsOptions {
  /**
   * The size limit: bytes, or a string with a binary suffix (`'64M'`, `'1G'`, `'512k'`).
   * @default the kernel's (half of RAM)
   */
  size?: number | string;
  /**
   * Permissions of the tmpfs's root directory (0 to 0o7777).
   * @default 0o755
   */
  mode?: number;
}

/** Options of `.overlay()`. */
export interface OverlayOptions {
  /** Read-only layers, host paths; the first is the top-most, as overlayfs orders them. */
  lower: string[];
  /** The writable layer (a host directory). Omit with `work` for a tmpfs-backed one. */
  upper?: string;
  /** overlayfs's work directory, on the same filesystem as `upper`. */
  work?: string;
}

export interface BindStep extends BindOptions {
  op: 'bind';
  src: string;
  dst: string;
}
export interface TmpfsStep extends TmpfsOptions {
  op: 'tmpfs';
  dst: string;
}
export interface ProcStep {
  op: 'proc';
  dst: string;
}
export interface DevStep {
  op: 'dev';
  dst: string;
}
export interface MqueueStep {
  op: 'mqueue';
  dst: string;
}
export interface OverlayStep extends OverlayOptions {
  op: 'overlay';
  dst: string;
}
export interface DirStep {
  op: 'dir';
  path: string;
  mode: number;
}
export interface SymlinkStep {
  op: 'symlink';
  target: string;
  path: string;
}
export interface FileStep {
  op: 'file';
  path: string;
  /** Text, or base64 when `encoding` is `'base64'` (binary content stays JSON). */
  content: string;
  encoding?: 'base64';
  mode: number;
  /** A mount of its own (bwrap's --bind-data): may cover an existing file. */
  bind?: boolean;
}
export interface ReadonlyStep {
  op: 'readonly';
  path: string;
}
export interface MaskStep {
  op: 'mask';
  path: string;
}
export interface RootStep {
  op: 'root';
  dir?: string;
}
export interface ChrootStep {
  op: 'chroot';
  dir: string;
}
/** `.files()`, resolved (lib/fs/policy.ts): real absolute paths, globs expanded. */
export interface FilesStep {
  op: 'files';
  read: { deny: string[] };
  write: { allow: string[]; deny: string[] };
  /** The mandatory read-only paths inside the allowed ones (README, SPEC 2.5). */
  protected: string[];
}

export type FilesystemStep =
  | BindStep
  | TmpfsStep
  | ProcStep
  | DevStep
  | MqueueStep
  | OverlayStep
  | DirStep
  | SymlinkStep
  | FileStep
  | ReadonlyStep
  | MaskStep
  | RootStep
  | ChrootStep
  | FilesStep;

// One row in kinds.ts per step type here (a compile error otherwise), and one step type per row.
const _rows: { readonly [K in FilesystemStep['op']]: StepKind } = STEP_KINDS;
const _types: { readonly [K in StepOp]: FilesystemStep['op'] } = Object.fromEntries(Object.keys(STEP_KINDS).map((k) => [k, k])) as { [K in StepOp]: K };
void _rows;
void _types;

/** The name a user reads in an error about this step, e.g. `bind /data -> /mnt`. */
export function stepName(s: FilesystemStep): string {
  switch (s.op) {
    case 'bind': return `bind ${s.src} -> ${s.dst}`;
    case 'symlink': return `symlink ${s.path} -> ${s.target}`;
    case 'root': return s.dir === undefined ? 'root (empty tmpfs)' : `root ${s.dir}`;
    case 'chroot': return `chroot ${s.dir}`;
    case 'files': return 'files';
    default: return `${s.op} ${destinationOf(s)}`;
  }
}

/** Where a step mounts or creates something inside the sandbox (undefined for root). */
export function destinationOf(s: FilesystemStep): string | undefined {
  if (s.op === 'files') return '/'; // it makes "/" read-only
  const at = (STEP_KINDS[s.op] as StepKind).at;
  return at === undefined ? undefined : (s as unknown as Record<string, string>)[at];
}
