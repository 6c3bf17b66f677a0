// `.landlock()` (SPEC 2.5): its option validated (the method is in lib/sandbox.ts); the
// ruleset is compiled in landlock.ts.
import { invalid } from '../errors.js';
import { source } from '../fs/validate.js';
import * as v from '../validate.js';
import { expandHome, type LandlockOptions } from './landlock.js';


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

/** `.landlock()`'s argument, validated and normalized (paths resolved now). */
export function normalizeLandlock(o: LandlockOptions): LandlockOptions {
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
  return out;
}

