// Public exports only.
export { NsbindError, type NsbindErrorInit } from './errors.js';
import './fs/index.js';
export { sandbox, Sandbox, type SpawnOptions, type RunOptions, type RunResult } from './sandbox.js';
export { SandboxProcess, type ExitResult, type ExitReason, type Usage, type NamespaceId, type NamespaceIds } from './process.js';
export type * from './options.js';
export type { StdioOption, StdioEntry } from './stdio.js';
export type { BindOptions, OverlayOptions, TmpfsOptions, FilesystemStep } from './fs/index.js';
export type { Limits } from './cgroup/limits.js';
export type { ForkOptions, ForkedProcess, Serialization, IpcMethods, IpcControl, SendCallback } from './fork.js';
