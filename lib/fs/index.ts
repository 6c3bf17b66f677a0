// Filesystem isolation (SPEC 2.2): the builder methods (importing this module adds them
// to Sandbox) and the types of the steps. Their compilation into the child plan is
// lib/fs/compile.ts, called by lib/plan.ts.
import './builder.js';
import './policy.js';
import '../security/landlock-builder.js';

export type { BindOptions, OverlayOptions, TmpfsOptions, FilesystemStep, FilesStep } from './steps.js';
export { PROTECTED, type FilesPolicy } from './policy.js';
export type { LandlockOptions } from '../security/landlock.js';
