// Filesystem isolation (SPEC 2.2): the builder methods and their compilation into the
// child plan. Importing this module registers both.
import { addFilesystemPhase } from '../plan.js';
import { compileFilesystem } from './compile.js';
import './builder.js';
import './policy.js';
import '../security/landlock-builder.js';

addFilesystemPhase(compileFilesystem);

export type { BindOptions, OverlayOptions, TmpfsOptions, FilesystemStep, FilesStep } from './steps.js';
export { PROTECTED, type FilesPolicy } from './policy.js';
export type { LandlockOptions } from '../security/landlock.js';
