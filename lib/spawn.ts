// The spawn pipeline, the one path run(), spawn() and fork() share:
//
//   validate the spawn's own arguments
//   -> settle the options (optional namespaces the kernel refuses, degraded .files())
//   -> stdio and pty
//   -> compile (lib/plan.ts: options -> ops, parent steps, the native request)
//   -> prepare the parent's side, in this order: cgroup, veth, egress (PREPARERS below)
//   -> native spawn -> SandboxProcess (the one place a setup failure is reported)
import { isMainThread } from 'node:worker_threads';
import { native, type NativeSpawnRequest } from './binding.js';
import { invalid, NsbindError, nsbindError, systemError } from './errors.js';
import type { SandboxOptions } from './options.js';
import { cgroupPreparer } from './cgroup/spawn.js';
import { joinCgroupPreparer } from './cgroup/join.js';
import { resolveOptional } from './optional.js';
import { degradeFiles } from './fs/degraded.js';
import { egressEnv } from './net/egress/env.js';
import { egressPreparer } from './net/egress/spawn.js';
import { landlockViolations } from './security/landlock-violations.js';
import { vethPreparer } from './net/veth-spawn.js';
import { compile, type CompiledPlan } from './plan.js';
import { masterStream, openPty, ptyControl, ptySize } from './pty.js';
import { missingInterpreterHint } from './exec-hint.js';
import { SandboxProcess } from './process.js';
import type { PreparedSpawn, RunOptions, RunResult, SpawnHookContext, SpawnOptions, SpawnPreparer } from './spawn-types.js';
import { holdReading, prepareStdio, wrapParentFds, type StdioOption } from './stdio.js';
import { UNSAFE, UNSAFE_TS_ONLY, unsafeTestBits } from './unsafe-test.js';
import * as v from './validate.js';

/**
 * The parent's work around a spawn, in order: the cgroup first (the addon puts the setup
 * in it: the sandbox's own, or another process's it joins), then the veth pair, then the
 * egress proxy and forwarded ports. Each returns how to finish, abandon or explain its part.
 */
const PREPARERS: readonly SpawnPreparer[] = [joinCgroupPreparer, cgroupPreparer, vethPreparer, egressPreparer, landlockViolations];

// Tests only (test/cgroup/limits-caller.test.ts): a request field no public option sets yet.
// No module of the library adds to it.
const testPreparers: SpawnPreparer[] = [];
/** @internal tests only: one more preparer after the library's own. */
export function addSpawnPreparer(p: SpawnPreparer): void {
  testPreparers.push(p);
}

/**
 * The program's environment, or undefined when it is exactly the process's own: the
 * addon then copies `environ` itself, which costs microseconds where copying
 * process.env in JS cost ~100 us per spawn. Only on the main thread: a worker's
 * process.env is its own copy, not `environ`.
 */
function programEnv(options: SandboxOptions, extra?: Record<string, string>): Record<string, string> | undefined {
  const own = options.inheritEnv !== false && !extra && Object.keys(options.env ?? {}).length === 0;
  if (own && isMainThread) return undefined;
  return { ...buildEnv(options), ...(extra ?? {}) };
}

function buildEnv(options: SandboxOptions): Record<string, string> {
  const env: Record<string, string> = {};
  if (options.inheritEnv !== false) {
    for (const [k, value] of Object.entries(process.env)) if (value !== undefined) env[k] = value;
  }
  for (const [k, value] of Object.entries(options.env ?? {})) {
    if (value === null) delete env[k];
    else env[k] = value;
  }
  return env;
}

function validateSpawn(file: unknown, args: readonly unknown[], o: SpawnOptions): void {
  v.cString(file, 'spawn.file', { maxBytes: 4095 });
  args.forEach((a, i) => v.cString(a, `spawn.args[${i}]`, { empty: true }));
  v.plainObject(o, 'spawn.options');
  if (o.argv0 !== undefined) v.cString(o.argv0, 'spawn.argv0', { empty: true });
  if (o.timeout !== undefined) v.nonNegativeInteger(o.timeout, 'spawn.timeout');
  if (o.killSignal !== undefined) v.signal(o.killSignal, 'spawn.killSignal');
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw invalid('spawn.signal', 'expected an AbortSignal');
  if (o.egressLookup !== undefined && typeof o.egressLookup !== 'function') throw invalid('spawn.egressLookup', 'expected a function (host) => addresses');
  if (o.egress !== undefined && typeof o.egress !== 'function') throw invalid('spawn.egress', 'expected a function (request) => boolean | Promise<boolean>');
  if (ptySize(o.pty) && o.stdio !== undefined) throw invalid('spawn.pty', 'a pty is the program\'s stdin, stdout and stderr: give pty or stdio, not both');
}

/**
 * Whether an error thrown while preparing a spawn is thrown from spawn() (SPEC 8): bad
 * input (`ERR_NSBIND_INVALID`), and a stdio descriptor of the caller's that is not open
 * (`EBADF`, as child_process.spawn throws it). Every other refusal -- of the machine, the
 * kernel, a namespace to join that is gone -- is a setup failure like one in the child:
 * `'error'` and `exited` rejects.
 */
function thrownAtOnce(e: unknown): boolean {
  if (!(e instanceof NsbindError)) return true; // a bug: not to be turned into a setup error
  return e.code === 'ERR_NSBIND_INVALID' || (e.option?.startsWith('spawn.stdio[') ?? false);
}

/** A process whose setup failed before the clone: 'error' and `exited` reject, soon. */
function failedProcess(e: unknown, plan: CompiledPlan | undefined): SandboxProcess {
  const failed = new SandboxProcess(
    { kill: () => -3, ref: () => {}, unref: () => {} },
    { steps: plan?.steps ?? [], execStep: plan?.execStep ?? '', isolation: plan?.isolation ?? [] },
  );
  failed._failSoon(e);
  return failed;
}

/** @internal The spawn path shared by run, spawn and fork. */
export function spawnSandbox(
  options: SandboxOptions,
  file: string,
  args: readonly string[],
  o: SpawnOptions,
  extra: { env?: Record<string, string> } = {},
): SandboxProcess {
  validateSpawn(file, args, o);
  const b = native();
  // Optional namespaces the kernel refuses are left out here, so `isolation` tells the truth.
  options = resolveOptional(options);
  // No user namespace allowed: .files() by Landlock alone (lib/fs/degraded.ts).
  options = degradeFiles(options);
  if (unsafeTestBits & UNSAFE.EGRESS_NETNS && options.namespaces?.net?.egress) {
    // Test-only: the sandbox keeps the host's network, as with proxy variables alone.
    const { net: _net, ...namespaces } = options.namespaces;
    options = { ...options, namespaces };
  }
  const ptyWanted = ptySize(o.pty);
  if (ptyWanted && options.newSession === false) {
    throw invalid('spawn.pty', 'a pty becomes the controlling terminal of a new session: it cannot be used with newSession(false)');
  }
  // What exists so far, undone on every way out that does not hand it to a process.
  let pty: ReturnType<typeof openPty> | undefined;
  let ptyHandedOver = false;
  let plan: CompiledPlan | undefined;
  let transientOpen = false;
  const finishers: PreparedSpawn[] = [];
  let abandoned = false;
  const abandon = () => {
    if (abandoned) return;
    abandoned = true;
    for (const f of finishers) void f.abandon?.();
  };
  try {
    // Opened first and closed on every way out: the terminal side once the child has its
    // copy, the master by its stream (or here, if the spawn never happens).
    pty = ptyWanted ? openPty(ptyWanted) : undefined;
    const stdio = prepareStdio(pty ? [pty.terminal, pty.terminal, pty.terminal] : o.stdio, 'spawn.stdio');
    const proxyEnv = egressEnv(options);
    const env = programEnv(options, proxyEnv ? { ...(extra.env ?? {}), ...proxyEnv } : extra.env);
    plan = compile(options, { file, args: [...args], argv0: o.argv0, env, nfds: stdio.slots.length, pty: pty !== undefined });
    transientOpen = true;
    const request: NativeSpawnRequest = { ...plan.request, stdio: stdio.slots };
    if (process.env.NSBIND_NO_CLONE3 === '1') request.noClone3 = true;
    if (unsafeTestBits & ~UNSAFE_TS_ONLY) request.unsafeTest = unsafeTestBits & ~UNSAFE_TS_ONLY;

    const hookContext: SpawnHookContext = { spawnOptions: o, plan };
    for (const prep of [...PREPARERS, ...testPreparers]) {
      const r = prep(options, request, hookContext);
      if (r) finishers.push(r);
    }
    const nativeProc = new b.Process();
    const proc = new SandboxProcess(nativeProc, {
      steps: plan.steps,
      execStep: plan.execStep,
      isolation: plan.isolation,
      finish: async (r) => {
        for (const f of finishers) if (f.finish) r = await f.finish(r);
        return r;
      },
      abandon: async () => {
        for (const f of finishers) await f.abandon?.();
      },
      refineError: async (e) => {
        for (const f of finishers) if (f.refineError) e = await f.refineError(e);
        if (e.code === 'ENOENT' && e.syscall === 'execve' && e.errno !== undefined) {
          const hint = missingInterpreterHint(options, file, env?.PATH ?? process.env.PATH);
          if (hint) e = systemError(e.errno, { step: e.step, syscall: e.syscall, path: e.path, hint });
        }
        return e;
      },
      spawned: (r) => {
        for (const f of finishers) f.spawned?.(r);
      },
    });
    hookContext.process = proc;
    const res = b.spawn(request, nativeProc);
    // spawn() took its own copies of the descriptors it passes on.
    for (const fd of plan.transientFds) b.close(fd);
    transientOpen = false;
    if (res.fdError !== undefined) {
      throw systemError(res.fdError, { step: `stdio[${res.fdIndex}]`, syscall: 'fcntl', option: `spawn.stdio[${res.fdIndex}]` });
    }
    if (res.initError !== undefined || res.pipeError !== undefined) {
      throw systemError((res.initError ?? res.pipeError)!, {
        step: res.initError !== undefined ? `open ${plan.request.initPath}` : 'stdio pipes',
        syscall: res.initError !== undefined ? 'open' : 'pipe2',
      });
    }
    const { streams, release } = wrapParentFds(stdio.slots, res.fds);
    proc.stdio = streams;
    proc.stdin = streams[0] ?? null;
    proc.stdout = streams[1] ?? null;
    proc.stderr = streams[2] ?? null;
    if (pty) {
      const m = masterStream(pty.master);
      ptyHandedOver = true;
      proc.stdio = [m, m, null];
      proc.stdin = m;
      proc.stdout = m;
      proc.pty = ptyControl(m, pty.master, ptyWanted!);
    }
    // Output, the pipes' or the terminal's (the only stream then), after 'spawn'.
    proc._releaseOutputAtSpawn(pty ? holdReading(proc.stdout!) : release);
    proc._watchStdio();

    const killSignal = v.signal(o.killSignal ?? 'SIGKILL', 'spawn.killSignal').number;
    if (o.timeout) proc._deadline(o.timeout, killSignal, 'timeout');
    if (o.signal) {
      const onAbort = () => proc._end(killSignal, 'aborted');
      if (o.signal.aborted) onAbort();
      else {
        o.signal.addEventListener('abort', onAbort, { once: true });
        proc._onCleanup(() => o.signal!.removeEventListener('abort', onAbort));
      }
    }
    return proc;
  } catch (e) {
    if (transientOpen) for (const fd of plan!.transientFds) b.close(fd);
    abandon();
    // The egress preparer owns the socketpair's parent end once it ran; before, nobody does.
    if (plan?.egress && plan.egress.parentFd >= 0) {
      b.close(plan.egress.parentFd);
      plan.egress.parentFd = -1;
    }
    if (thrownAtOnce(e)) throw e;
    return failedProcess(e, plan);
  } finally {
    if (pty) {
      b.close(pty.terminal);
      if (!ptyHandedOver) b.close(pty.master);
    }
  }
}

function abortError(signal: AbortSignal): NsbindError {
  const e = nsbindError('ABORT_ERR', 'the operation was aborted', { cause: signal.reason });
  e.name = 'AbortError';
  return e;
}

/** @internal run(): spawn, feed the input, collect the output. */
export async function runSandbox(
  options: SandboxOptions,
  file: string,
  args: readonly string[],
  o: RunOptions,
): Promise<RunResult<string | Buffer>> {
  const maxBuffer = o.maxBuffer === undefined ? 64 * 1024 * 1024 : v.nonNegativeInteger(o.maxBuffer, 'run.maxBuffer');
  const encoding = o.encoding ?? 'utf8';
  if (encoding !== 'buffer' && !Buffer.isEncoding(encoding)) throw invalid('run.encoding', `unknown encoding '${encoding}'`);
  if (o.input !== undefined && typeof o.input !== 'string' && !(o.input instanceof Uint8Array)) {
    throw invalid('run.input', 'expected a string or a Uint8Array');
  }
  if (o.signal?.aborted) throw abortError(o.signal);
  const stdio: StdioOption | undefined = ptySize(o.pty) ? undefined : (o.stdio ?? [o.input !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe']);
  const p = spawnSandbox(options, file, [...args], { ...o, stdio });

  let overflow: string | undefined;
  const collect = (s: NodeJS.ReadableStream | null, name: string): Promise<Buffer> =>
    new Promise((resolve) => {
      if (!s) return resolve(Buffer.alloc(0));
      const chunks: Buffer[] = [];
      let size = 0;
      s.on('data', (c: Buffer) => {
        size += c.length;
        if (size > maxBuffer) {
          overflow ??= name;
          p._end(9, 'signal');
          // Without a pid namespace only the top process is killed; closing our end
          // makes any descendant still writing get EPIPE instead of filling memory.
          (s as unknown as { destroy(): void }).destroy();
          resolve(Buffer.concat(chunks));
          return;
        }
        chunks.push(c);
      });
      s.on('error', () => resolve(Buffer.concat(chunks)));
      s.on('close', () => resolve(Buffer.concat(chunks)));
    });
  const out = collect(p.stdout, 'stdout');
  const err = collect(p.stderr, 'stderr');
  if (p.pty) {
    // Ending a terminal's input would hang it up: type the input instead.
    if (o.input !== undefined) p.stdin!.write(o.input);
  } else if (p.stdin) {
    p.stdin.on('error', () => {}); // EPIPE when the program does not read its input
    if (o.input !== undefined) p.stdin.end(o.input);
    else p.stdin.end();
  }
  const result = await p.exited;
  const [stdout, stderr] = await Promise.all([out, err]);
  if (result.reason === 'aborted' && o.signal) throw abortError(o.signal);
  if (overflow) {
    throw nsbindError('ERR_NSBIND_MAX_BUFFER', `${overflow}: more than maxBuffer (${maxBuffer} bytes) of output`, {
      option: 'run.maxBuffer',
    });
  }
  const decode = (b: Buffer) => (encoding === 'buffer' ? b : b.toString(encoding));
  return { ...result, stdout: decode(stdout), stderr: decode(stderr) };
}
