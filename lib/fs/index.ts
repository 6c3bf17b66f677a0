// Filesystem isolation (SPEC 2.2): the builder methods and their compilation into the
// child plan. Importing this module registers both.
import { addFilesystemPhase } from '../plan.js';
import { compileFilesystem } from './compile.js';
import './builder.js';

addFilesystemPhase(compileFilesystem);

export type { BindOptions, OverlayOptions, TmpfsOptions, FilesystemStep } from './steps.js';
