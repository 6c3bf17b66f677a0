// The data the compile phases share (lib/plan.ts): what goes in, what comes out, and the
// context every phase writes its ops through. Types only, so that any phase can name them
// without importing the compiler that calls it.
import type { NativeSpawnRequest } from '../binding.js';
import type { IdMapEntry, NamespaceType, SandboxOptions } from '../options.js';
import type { PlanWriter } from './writer.js';

export interface SpawnInput {
  file: string;
  args: string[];
  argv0?: string;
  /** The program's environment; omitted, it inherits the process's (see lib/spawn.ts). */
  env?: Record<string, string>;
  /** How many descriptors the program gets (stdio slots). */
  nfds: number;
  extraFds?: number[];
  /** stdin is a pseudo-terminal to make the session's controlling terminal. */
  pty?: boolean;
}

/** The namespaces created, and what else was applied (`landlock`: the ABI). */
export type Isolation = NamespaceType[] & { landlock?: number };

export interface CompiledPlan {
  request: Omit<NativeSpawnRequest, 'stdio'>;
  /** Step names by op index, for error reports. */
  steps: string[];
  /** The step name of the program's exec. */
  execStep: string;
  /** Namespace types created for the sandbox, and `landlock` when a ruleset is applied. */
  isolation: Isolation;
  /** Descriptors the parent opened for the child (namespaces to join): closed after the spawn. */
  transientFds: number[];
}

/** A new user namespace's maps, and the ids the program runs as inside (SPEC 2.1). */
export interface IdMaps {
  uidMap: IdMapEntry[];
  gidMap: IdMapEntry[];
  uid: number;
  gid: number;
}

/** What every compile phase reads and writes (one per compile). */
export interface PlanContext {
  options: SandboxOptions;
  writer: PlanWriter;
  request: Omit<NativeSpawnRequest, 'stdio'>;
  created: Set<NamespaceType>;
  privileged: boolean;
  /** Descriptors opened for the child: closed once the spawn has its copies. */
  transientFds: number[];
  /** The new user namespace's maps and ids (undefined: none created). */
  maps?: IdMaps;
  /** Whether identity() has switched to the namespace's ids. */
  identityDone?: boolean;
  /** What else was applied, for `isolation` (e.g. `landlock`: the ABI). */
  isolationExtra: { landlock?: number };
}
