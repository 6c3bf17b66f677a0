// The bridge from flags to the library's builder: every flag becomes a call of the same
// Sandbox method a program would make, so the CLI has no second implementation. Methods
// that another part of nsbind provides are looked up when used, so a build without them
// fails with a clear message (exit 125) instead of ignoring the flag.
import { NsbindError } from '../errors.js';
import type { NamespaceOptionsMap, NamespaceType } from '../options.js';
import { methodOf } from '../namespaces/types.js';
import type { Sandbox } from '../sandbox.js';
import { UsageError } from './usage.js';


/** A flag's failure that is not bad input: this build lacks the method. Exit 125. */
export class MissingFeature extends Error {
  constructor(flag: string, method: string) {
    super(`${flag}: needs Sandbox.${method}(), which this build of nsbind does not have`);
    this.name = 'MissingFeature';
  }
}

/**
 * Calls `sb[method](...args)` for the flag `given`. Bad values come back as a one-line
 * UsageError that names the flag as well as the library's option (`--memory:
 * limits.memory: ...`).
 */
export function call(sb: Sandbox, command: string, given: string, method: string, ...args: unknown[]): Sandbox {
  const fn = (sb as unknown as Record<string, unknown>)[method];
  if (typeof fn !== 'function') throw new MissingFeature(given, method);
  try {
    return (fn as (...a: unknown[]) => Sandbox).apply(sb, args);
  } catch (e) {
    throw asUsage(e, command, given);
  }
}

/** Merges `patch` into the options the sandbox already has for this namespace type. */
export function withNamespace<T extends NamespaceType>(
  sb: Sandbox,
  command: string,
  given: string,
  type: T,
  patch: Partial<NamespaceOptionsMap[T]> = {},
): Sandbox {
  const current = (sb.options.namespaces ?? {})[type] ?? {};
  const merged: Record<string, unknown> = { ...current };
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) delete merged[k];
    else merged[k] = v;
  }
  return call(sb, command, given, methodOf(type), merged);
}

/** Library validation errors become command-line errors naming the flag. */
export function asUsage(e: unknown, command: string, given: string): unknown {
  if (e instanceof NsbindError && e.code === 'ERR_NSBIND_INVALID') {
    const firstLine = e.message.split('\n')[0].replace(/^nsbind: /, '');
    return new UsageError(command, `${given}: ${firstLine}`);
  }
  return e;
}
