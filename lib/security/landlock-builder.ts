// `.landlock()` (SPEC 2.5): the builder method; the ruleset is compiled in landlock.ts.
import { invalid } from '../errors.js';
import { source } from '../fs/validate.js';
import { Sandbox } from '../sandbox.js';
import * as v from '../validate.js';
import { expandHome, type LandlockOptions } from './landlock.js';

declare module '../sandbox.js' {
  interface Sandbox {
    /**
     * A Landlock ruleset (Linux 5.13+), applied last before seccomp: each kind you name
     * is denied except beneath the listed paths (or for the listed ports). Rights the
     * kernel does not know are left out; `isolation.landlock` is the ABI applied.
     * @example sandbox().landlock({ write: ['/tmp'], connectTcp: [443] })
     */
    landlock(o: LandlockOptions): Sandbox;
  }
}

function paths(value: unknown, option: string): string[] {
  if (!Array.isArray(value)) throw invalid(option, `expected an array of paths, got ${v.describe(value)}`);
  if (value.length > 1000) throw invalid(option, 'at most 1000 paths');
  return value.map((p, i) => source(expandHome(p, `${option}[${i}]`), `${option}[${i}]`));
}

function ports(value: unknown, option: string): number[] {
  if (!Array.isArray(value)) throw invalid(option, `expected an array of TCP ports, got ${v.describe(value)}`);
  return value.map((p, i) => {
    if (!Number.isInteger(p) || (p as number) < 0 || (p as number) > 65535) {
      throw invalid(`${option}[${i}]`, `expected a TCP port (0 to 65535), got ${v.describe(p)}`);
    }
    return p as number;
  });
}

Sandbox.prototype.landlock = function landlock(this: Sandbox, o: LandlockOptions): Sandbox {
  const opts = v.plainObject(o, 'landlock.options');
  v.knownKeys(opts, ['read', 'write', 'execute', 'bindTcp', 'connectTcp', 'scope'], 'landlock');
  const out: LandlockOptions = {};
  for (const k of ['read', 'write', 'execute'] as const) {
    if (opts[k] !== undefined) out[k] = paths(opts[k], `landlock.${k}`);
  }
  for (const k of ['bindTcp', 'connectTcp'] as const) {
    if (opts[k] !== undefined) out[k] = ports(opts[k], `landlock.${k}`);
  }
  if (opts.scope !== undefined) {
    const sc = v.plainObject(opts.scope, 'landlock.scope');
    v.knownKeys(sc, ['signals', 'abstractUnix'], 'landlock.scope');
    out.scope = {};
    if (sc.signals !== undefined) out.scope.signals = v.bool(sc.signals, 'landlock.scope.signals');
    if (sc.abstractUnix !== undefined) out.scope.abstractUnix = v.bool(sc.abstractUnix, 'landlock.scope.abstractUnix');
  }
  return new Sandbox({ ...(this.options as object), landlock: out });
};

