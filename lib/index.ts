// Public exports only.
export { NsbindError, type NsbindErrorInit } from './errors.js';
export { sandbox, Sandbox, type SpawnOptions, type RunOptions, type RunResult } from './sandbox.js';
export { SandboxProcess, type ExitResult, type ExitReason, type Usage, type NamespaceId, type NamespaceIds } from './process.js';
export type * from './options.js';
export type { StdioOption, StdioEntry } from './stdio.js';
export type { BindOptions, FileOptions, OverlayOptions, TmpfsOptions, FilesystemStep, FilesStep, FilesPolicy, LandlockOptions } from './fs/index.js';
export { PROTECTED as protectedPaths } from './fs/index.js';
export type { Limits } from './cgroup/limits.js';
export type { ForkOptions, ForkedProcess, Serialization, IpcMethods, IpcControl, SendCallback } from './fork.js';
export { netns } from './net/netns.js';
export { links } from './net/links.js';
export type { NetnsTarget } from './net/target.js';
export type { Violation, EgressViolation } from './violations.js';
export type { EgressRequest, EgressCallback } from './net/egress/policy.js';
export { enter } from './enter.js';
export { namespaces, namespaceTypes, type NamespaceEntry, type ListOptions, type NamespaceTarget, type Namespaces } from './namespaces/index.js';
export { doctor, type Report, type Check, type CgroupCheck, type SubidCheck, type IdRange } from './doctor/index.js';
export type { FsViolation } from './violations.js';
