// One row per filesystem step kind: what the rest of nsbind needs to know about a step
// besides how the child runs it. The builder's replay (lib/fs/builder.ts), error names and
// destinations (steps.ts), the layers a step leaves (layers.ts), the namespaces it implies
// (namespaces/created.ts) and the paths it hides from fork() (node-files.ts) read it here.
// Plain data: it imports nothing of nsbind's but types.
//
// A kernel filesystem mounted fresh at a destination, with no source and no options (like
// `.mqueue()`), is a row with `mount`: compile (lib/fs/compile.ts) mounts it from the row,
// and builder.ts gives it its method. Adding one = this row + its step type (steps.ts) +
// the method's declaration (builder.ts) + a test.
import type { NamespaceType } from '../options.js';

// mount_setattr(2) / fsmount(2) attributes.
export const RDONLY = 0x1;
export const NOSUID = 0x2;
export const NODEV = 0x4;
export const NOEXEC = 0x8;

export interface StepKind {
  /** Keys a stored step has besides `op` (`sandbox(options)` refuses others). */
  keys: readonly string[];
  /** The key that says where it acts inside the sandbox. */
  at?: 'dst' | 'path';
  /** What it leaves there: a filesystem the sandbox made (`.dir()` etc. may create in it), or a mount over what was. */
  layer?: 'made' | 'over';
  /** Covers what was at its destination (fork() binds Node's files again: lib/node-files.ts). */
  hides?: boolean;
  /** The namespace whose view it mounts: created with it, unless joined. */
  implies?: NamespaceType;
  /** A kernel filesystem mounted fresh (no source, no options), and its mount attributes. */
  mount?: { type: string; attrs: number };
  /** The destination of a method called without one. */
  defaultAt?: string;
}

export const STEP_KINDS = {
  bind: { keys: ['src', 'dst', 'readonly', 'optional', 'devices', 'idmap'], at: 'dst', layer: 'over', hides: true },
  tmpfs: { keys: ['dst', 'size', 'mode'], at: 'dst', layer: 'made', hides: true },
  proc: { keys: ['dst'], at: 'dst', layer: 'over', hides: true, implies: 'pid', defaultAt: '/proc' },
  dev: { keys: ['dst'], at: 'dst', layer: 'made', hides: true, defaultAt: '/dev' },
  mqueue: {
    keys: ['dst'], at: 'dst', layer: 'over', hides: true, implies: 'ipc', defaultAt: '/dev/mqueue',
    mount: { type: 'mqueue', attrs: NOSUID | NODEV | NOEXEC },
  },
  overlay: { keys: ['dst', 'lower', 'upper', 'work'], at: 'dst', layer: 'made', hides: true },
  dir: { keys: ['path', 'mode'], at: 'path' },
  symlink: { keys: ['target', 'path'], at: 'path' },
  file: { keys: ['path', 'content', 'encoding', 'mode', 'bind'], at: 'path' },
  readonly: { keys: ['path'], at: 'path', layer: 'over' },
  mask: { keys: ['path'], at: 'path', layer: 'over', hides: true },
  root: { keys: ['dir'] },
  chroot: { keys: ['dir'] },
  // It makes "/" read-only (lib/fs/policy.ts): a layer over "/".
  files: { keys: ['read', 'write', 'protected'], layer: 'over' },
} as const satisfies Record<string, StepKind>;

/** Every step kind (steps.ts checks that FilesystemStep has one type per row). */
export type StepOp = keyof typeof STEP_KINDS;

/** The row of a step's kind, or undefined for an op nsbind does not know. */
export function kindOf(op: unknown): StepKind | undefined {
  return typeof op === 'string' && Object.prototype.hasOwnProperty.call(STEP_KINDS, op) ? STEP_KINDS[op as StepOp] : undefined;
}
