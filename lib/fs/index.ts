// Filesystem isolation (SPEC 2.2): the public types of the steps. The builder methods are
// Sandbox's own (lib/sandbox.ts, over lib/fs/builder.ts); their compilation into the child
// plan is lib/fs/compile.ts, called by lib/plan.ts.

export type { BindOptions, FileOptions, OverlayOptions, TmpfsOptions, FilesystemStep, FilesStep } from './steps.js';
export { PROTECTED, type FilesPolicy } from './policy.js';
export type { LandlockOptions } from '../security/landlock.js';
