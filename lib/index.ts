// Public exports only.
export { NsbindError, type NsbindErrorInit } from './errors.js';
export { sandbox, Sandbox, type SpawnOptions, type RunOptions, type RunResult } from './sandbox.js';
export { SandboxProcess, type ExitResult, type ExitReason, type Usage, type NamespaceId, type NamespaceIds } from './process.js';
export type * from './options.js';
export type { StdioOption, StdioEntry } from './stdio.js';
export { enter } from './enter.js';
export { namespaces, namespaceTypes, type NamespaceEntry, type ListOptions, type NamespaceTarget, type Namespaces } from './namespaces/index.js';
export { doctor, type Report, type Check, type CgroupCheck, type SubidCheck, type IdRange } from './doctor/index.js';
