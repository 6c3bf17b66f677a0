// sb.fork(): a Node child in the sandbox with an IPC channel, like child_process.fork.
//
// The child is `execPath [...execArgv] module [...args]` with a socketpair at the 'ipc'
// stdio slot and NODE_CHANNEL_FD / NODE_CHANNEL_SERIALIZATION_MODE in its environment:
// exactly what child_process.fork hands a child, so the child's `process.send`,
// `process.on('message')` and `process.disconnect` work unchanged. The parent's end is
// lib/ipc (Node's own parent side is internal).
import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import { Socket } from 'node:net';
import { extname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { invalid, nsbindError } from './errors.js';
import { setupChannel, type IpcMethods } from './ipc/channel.js';
import type { Serialization } from './ipc/serialization.js';
import { hiddenPaths, mountPointMissing, outermost, packageDir, preloadFiles, runtimeFiles } from './node-files.js';
import type { FsStep, SandboxOptions } from './options.js';
import type { SandboxProcess } from './process.js';
import { spawnSandbox } from './spawn.js';
import type { SpawnOptions } from './spawn-types.js';
import type { StdioOption } from './stdio.js';
import * as v from './validate.js';

/**
 * What fork() needs of the builder: its options, and `.roBind()` to add the binds Node
 * needs (lib/fs/builder.ts adds it). Structural, so this module does not import the
 * builder that calls it.
 */
interface ForkBuilder {
  readonly options: Readonly<SandboxOptions>;
}

export type { Serialization } from './ipc/serialization.js';
export type { IpcMethods, IpcControl, SendCallback } from './ipc/channel.js';

export interface ForkOptions extends SpawnOptions {
  /**
   * Node options for the child, before the module. As child_process: the parent's own, so
   * a loader the parent runs under (`--import tsx`, `--require …`) applies to the child too.
   * @default process.execArgv
   * @example sb.fork('./worker.ts', [], { execArgv: ['--import', 'tsx'] })
   */
  execArgv?: string[];
  /**
   * The Node executable.
   * @default process.execPath
   * @example sb.fork('./worker.js', [], { execPath: '/opt/node22/bin/node' })
   */
  execPath?: string;
  /**
   * How messages are serialised: `'json'` (JSON) or `'advanced'` (the structured clone
   * algorithm: Maps, Sets, Buffers, typed arrays, Dates, BigInt…), as child_process.
   * @default 'json'
   * @example sb.fork('./worker.js', [], { serialization: 'advanced' }).send(new Map([['k', Buffer.from('v')]]))
   */
  serialization?: Serialization;
  /**
   * `true`: the child's stdin, stdout and stderr are pipes (`child.stdout`…); `false`:
   * they are the parent's. Ignored when `stdio` is given (which must then contain `'ipc'`).
   * @default false
   * @example const child = sb.fork('./server.js', [], { silent: true }); child.stdout.pipe(process.stdout);
   */
  silent?: boolean;
  /**
   * Bind what Node needs (the executable, its loader and libraries, the module's package
   * directory, preloaded files) read-only into the sandbox when its filesystem steps
   * would hide them. `false`: the caller provides them.
   * @default true
   * @example sandbox().user().mount().root().fork('./worker.js') // node is bound into the empty root
   */
  bindNode?: boolean;
  /**
   * The largest message the child may send, in bytes as serialised on the wire. A larger
   * one ends the channel: `'error'` (to a listener) gets `ERR_NSBIND_IPC_OVERFLOW`, then
   * `'disconnect'`. The child is untrusted and a message must be held whole before it is
   * parsed, so this bounds what it can make Node hold; parsing can briefly take many
   * times the message's size (JSON of small objects: up to ~35×). `Infinity`: no limit,
   * for a child you trust.
   * @default 1 MiB (1048576)
   * @example sb.fork('./renderer.js', [], { serialization: 'advanced', maxMessageSize: 64 * 1024 * 1024 })
   */
  maxMessageSize?: number;
}

/** A SandboxProcess with an IPC channel, as `fork()` returns it. */
export type ForkedProcess = SandboxProcess & IpcMethods;

const TS_EXTENSIONS = new Set(['.ts', '.mts', '.cts', '.tsx']);

/** `maxMessageSize` when not given: far above what IPC is used for, small next to Node. */
export const DEFAULT_MAX_MESSAGE_SIZE = 1024 * 1024;

function maxMessageSizeOption(value: unknown): number {
  if (value === undefined) return DEFAULT_MAX_MESSAGE_SIZE;
  if (value === Infinity || (Number.isSafeInteger(value) && (value as number) >= 1)) return value as number;
  throw invalid('fork.maxMessageSize', `expected a number of bytes (at least 1) or Infinity, got ${v.describe(value)}`);
}

/** Whether node would load TypeScript: a loader/preload in execArgv or NODE_OPTIONS, or built-in support. */
function canLoadTypeScript(execArgv: readonly string[], env: NodeJS.ProcessEnv): boolean {
  if ((process.features as { typescript?: unknown }).typescript) return true;
  const flags = [...execArgv, ...(env.NODE_OPTIONS ?? '').split(/\s+/)];
  return flags.some((a) => /^(--import|--loader|--experimental-loader|--require|-r|--experimental-strip-types|--experimental-transform-types)(=|$)/.test(a));
}

/** execArgv as child_process.fork computes it: the parent's, minus a `-e`/`-p` script. */
function defaultExecArgv(): string[] {
  const argv = [...process.execArgv];
  const evalSource = (process as { _eval?: string })._eval;
  if (evalSource != null) {
    const i = argv.lastIndexOf(evalSource);
    if (i > 0) argv.splice(i - 1, 2);
  }
  return argv;
}

function forkStdio(o: ForkOptions): { stdio: StdioOption; ipc: number } {
  if (o.stdio === undefined) {
    const stdio: StdioOption = o.silent ? ['pipe', 'pipe', 'pipe', 'ipc'] : [0, 1, 2, 'ipc'];
    return { stdio, ipc: 3 };
  }
  let entries: unknown[];
  if (typeof o.stdio === 'string') entries = [o.stdio, o.stdio, o.stdio, 'ipc'];
  else if (Array.isArray(o.stdio)) entries = [...o.stdio];
  else throw invalid('fork.stdio', "expected 'pipe', 'inherit', 'ignore' or an array containing 'ipc'");
  const ipc = entries.indexOf('ipc');
  if (ipc < 0) {
    throw invalid('fork.stdio', "forked processes must have an IPC channel: add 'ipc' to the stdio array", "e.g. stdio: ['pipe', 'pipe', 'pipe', 'ipc']");
  }
  return { stdio: entries as StdioOption, ipc };
}

/** The module, validated on the host before anything runs. */
function checkModule(modulePath: unknown): string {
  if (modulePath instanceof URL) {
    if (modulePath.protocol !== 'file:') throw invalid('fork.modulePath', `expected a file: URL, got ${modulePath.protocol}`);
    modulePath = fileURLToPath(modulePath);
  }
  const given = v.cString(modulePath, 'fork.modulePath', { maxBytes: 4095 });
  const abs = resolve(given);
  try {
    if (!statSync(abs).isFile()) throw invalid('fork.modulePath', `'${abs}' is not a file`);
    accessSync(abs, fsConstants.R_OK);
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_NSBIND_INVALID') throw withPath(e as Error, abs);
    const code = (e as { code?: string }).code;
    const problem = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable' : `cannot be read (${code})`;
    throw withPath(invalid('fork.modulePath', `'${abs}' ${problem}`), abs);
  }
  return abs;
}

function withPath<E extends Error>(e: E, path: string): E {
  Object.defineProperty(e, 'path', { value: path, enumerable: true });
  return e;
}

/** Adds read-only binds for what Node needs and the steps hide (see node-files.ts). */
function bindNodeFiles(sb: ForkBuilder, execPath: string, module: string, execArgv: string[], cwd: string): ForkBuilder {
  const steps = (sb.options.fs ?? []) as FsStep[];
  if (steps.length === 0) return sb;
  const needs = [...runtimeFiles(execPath), packageDir(module), ...preloadFiles(execArgv, cwd).map(packageDir)];
  const hidden = outermost(hiddenPaths(steps, needs));
  if (hidden.length === 0) return sb;
  const roBind = (sb as unknown as { roBind?: (src: string, dst: string) => ForkBuilder }).roBind;
  // Filesystem steps without roBind cannot be built (sandbox() refuses unknown steps),
  // so this only happens in a build where the two concerns are out of step.
  if (typeof roBind !== 'function') return sb;
  for (const path of hidden) {
    if (mountPointMissing(steps, path)) {
      throw nsbindError('ENOENT', `fork: '${path}' is needed to run node but does not exist inside the new root`, {
        option: 'fork.bindNode',
        path,
        hint: 'bind node, its libraries and the module into the sandbox yourself (and pass bindNode: false), or use .root() with no directory',
      });
    }
    sb = roBind.call(sb, path, path);
  }
  return sb;
}

/** @internal `Sandbox.prototype.fork`. */
export function forkSandbox(
  sb: ForkBuilder,
  modulePath: string | URL,
  args: readonly string[],
  o: ForkOptions,
): ForkedProcess {
  v.plainObject(o, 'fork.options');
  const { execArgv: rawExecArgv, execPath: rawExecPath, serialization: rawSer, silent, bindNode, maxMessageSize: rawMax, ...spawnOpts } = o;
  const module = checkModule(modulePath);
  const execPath = rawExecPath === undefined ? process.execPath : v.absolutePath(rawExecPath, 'fork.execPath');
  let execArgv: string[];
  if (rawExecArgv === undefined) execArgv = defaultExecArgv();
  else if (!Array.isArray(rawExecArgv)) throw invalid('fork.execArgv', 'expected an array of strings');
  else execArgv = rawExecArgv.map((a, i) => v.cString(a, `fork.execArgv[${i}]`, { empty: true }));
  const serialization = rawSer === undefined ? 'json' : v.oneOf(rawSer, ['json', 'advanced'], 'fork.serialization');
  if (silent !== undefined) v.bool(silent, 'fork.silent');
  if (bindNode !== undefined) v.bool(bindNode, 'fork.bindNode');
  const maxMessageSize = maxMessageSizeOption(rawMax);
  args.forEach((a, i) => v.cString(a, `fork.args[${i}]`, { empty: true }));
  if (TS_EXTENSIONS.has(extname(module)) && !canLoadTypeScript(execArgv, process.env)) {
    throw invalid(
      'fork.execArgv',
      `'${module}' is TypeScript, which node ${process.version} cannot run without a loader`,
      "pass a loader, e.g. execArgv: ['--import', 'tsx'] (npm install -D tsx), or fork the compiled .js",
    );
  }
  const { stdio, ipc } = forkStdio(o);

  let options = sb;
  if (bindNode !== false) options = bindNodeFiles(sb, execPath, module, execArgv, process.cwd());

  const proc = spawnSandbox(options.options as SandboxOptions, execPath, [...execArgv, module, ...args], { ...spawnOpts, stdio }, {
    env: { NODE_CHANNEL_FD: String(ipc), NODE_CHANNEL_SERIALIZATION_MODE: serialization },
  });
  // A setup that failed before anything was spawned (a cgroup the caller may not create,
  // a taken interface name) made no channel: the process reports that error on 'error'
  // and `exited`, as spawn() does, and its channel is closed from the start.
  const never = !proc.stdio[ipc];
  const socket = (proc.stdio[ipc] ?? new Socket()) as Socket;
  // As child_process: the channel is `child.channel`, not one of the stdio streams, so
  // `child.unref()` leaves it alone.
  proc.stdio[ipc] = null;
  if (proc.stdin === socket) proc.stdin = null;
  if (proc.stdout === socket) proc.stdout = null;
  if (proc.stderr === socket) proc.stderr = null;
  const { target, ended, abandon } = setupChannel(proc, socket, serialization, { maxMessageSize });
  if (never) abandon();
  else proc._exited.then(ended, abandon);
  return target;
}
