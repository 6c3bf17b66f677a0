// The public types: a change that breaks users' code fails here (tsc runs over test/
// in `npm test`, and expectTypeOf checks shapes at compile time).
import { describe, expectTypeOf, it } from 'vitest';
import {
  NsbindError,
  sandbox,
  Sandbox,
  SandboxProcess,
  type ExitResult,
  type NamespaceType,
  type RunResult,
  type SandboxOptions,
} from '../lib/index.js';
import * as syscalls from '../lib/syscalls.js';

describe('public types', () => {
  it('the builder is chainable and immutable', () => {
    expectTypeOf(sandbox).returns.toEqualTypeOf<Sandbox>();
    expectTypeOf(sandbox().user().pid().mount().uts().ipc().net().cgroup().time().all()).toEqualTypeOf<Sandbox>();
    expectTypeOf<Sandbox['options']>().toEqualTypeOf<Readonly<SandboxOptions>>();
    expectTypeOf(sandbox).parameter(0).toEqualTypeOf<SandboxOptions | undefined>();
    expectTypeOf<NamespaceType>().toEqualTypeOf<'user' | 'pid' | 'mnt' | 'uts' | 'ipc' | 'net' | 'cgroup' | 'time'>();
  });

  it('spawn and run results', () => {
    const sb = sandbox();
    expectTypeOf(sb.spawn('true')).toEqualTypeOf<SandboxProcess>();
    expectTypeOf(sb.run('true')).toEqualTypeOf<Promise<RunResult<string>>>();
    expectTypeOf(sb.run('true', [], { encoding: 'buffer' })).toEqualTypeOf<Promise<RunResult<Buffer>>>();
    expectTypeOf<SandboxProcess['exited']>().toEqualTypeOf<Promise<ExitResult>>();
    expectTypeOf<ExitResult['reason']>().toEqualTypeOf<'exit' | 'signal' | 'oom' | 'timeout' | 'aborted'>();
    expectTypeOf<ExitResult['code']>().toEqualTypeOf<number | null>();
    expectTypeOf<ExitResult['signal']>().toEqualTypeOf<string | null>();
    expectTypeOf<SandboxProcess['kill']>().parameter(0).toEqualTypeOf<NodeJS.Signals | number | undefined>();
  });

  it('errors carry the documented fields', () => {
    expectTypeOf<NsbindError>().toMatchTypeOf<Error>();
    expectTypeOf<NsbindError['code']>().toEqualTypeOf<string>();
    expectTypeOf<NsbindError['step']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<NsbindError['option']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<NsbindError['errno']>().toEqualTypeOf<number | undefined>();
  });

  it('nsbind/syscalls', () => {
    expectTypeOf(syscalls.unshare).toEqualTypeOf<(flags: number) => void>();
    expectTypeOf(syscalls.openNamespace).returns.toEqualTypeOf<number>();
    expectTypeOf(syscalls.CLONE_NEWUSER).toEqualTypeOf<number>();
  });
});
