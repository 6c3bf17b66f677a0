// The data the compile phases share (lib/plan.ts): what goes in, what comes out, and the
// context every phase writes its ops through. Types only, so that any phase can name them
// without importing the compiler that calls it.
import type { NativeSpawnRequest } from '../binding.js';
import type { IdMapEntry, NamespaceType, SandboxOptions } from '../options.js';
import type { FilesystemStep } from '../fs/steps.js';
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
  /** The setup's listening sockets for the egress proxy and `expose` (lib/net/egress/spawn.ts). */
  egress?: EgressChannel;
}

/** The setup's listening sockets and the parent's end of the socketpair they come over. */
export interface EgressChannel {
  /** -1 once the egress preparer closed it. */
  parentFd: number;
  /** What each socket the setup sends is for, in order. */
  listeners: ({ kind: 'proxy'; port: number } | { kind: 'expose'; port: number; host: number })[];
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
  /** What resolve read of the host (lib/plan/resolve.ts). */
  facts: Facts;
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

/** A new user namespace: its maps, its setgroups, and who writes the maps. */
export interface UserFacts {
  maps: IdMaps;
  setgroups: 'allow' | 'deny';
  /** Set when the map goes through the setuid helper (our own write would be refused). */
  newuidmap?: string;
  newgidmap?: string;
}

/** What compile needs to know about the host, read by resolve() (lib/plan/resolve.ts). */
export interface Facts {
  privileged: boolean;
  euid: number;
  egid: number;
  /** Namespace types the sandbox creates (namespaces/created.ts). */
  created: Set<NamespaceType>;
  user?: UserFacts;
  /** Namespaces to join, in setns order, with the descriptor opened for each. */
  joins: JoinFact[];
  /** Per bind (or `.files()` allowed path) a root caller idmaps: the tree opened, or undefined. */
  idmapTrees: Map<FilesystemStep, (number | undefined)[]>;
  /** The egress socketpair: [parent's end, child's end]. */
  egressPair?: [number, number];
  kernelRelease: string;
  capLastCap: number;
  /** NOFILE [soft, hard] the child gets back when `rlimits` does not set it (null: leave it). */
  nofile: [number | 'unlimited', number | 'unlimited'] | null;
  /** 0 without Landlock; read only when the sandbox asks for it. */
  landlockAbi: number;
  initPath: string;
  /** The caller's cwd, where the plan defaults to it. */
  cwd?: string;
  /** PATH for the exec lookup ('' for a file with a slash). */
  execPath: string;
  /** Every descriptor opened here. */
  transientFds: number[];
}

/** One namespace to join, resolved: its setns step, and the descriptor opened for it. */
export interface JoinFact {
  type: NamespaceType;
  step: string;
  fd: number;
}
