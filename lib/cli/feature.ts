// Parts of the library the CLI uses that live in their own modules (doctor, namespaces,
// netns, enter). They are looked up when a subcommand needs them, from the public index
// first, so the CLI always calls exactly what a program importing 'nsbind' would.
import { NsbindError } from '../errors.js';

/** The CLI needs a library function this build does not have. Exit 125. */
export function missing(what: string): NsbindError {
  return new NsbindError(`nsbind: ${what} is not available in this build of nsbind`, { code: 'ERR_NSBIND_UNSUPPORTED' });
}

/** `name` exported by the public index (or else by `module`, a path relative to lib/cli/). */
export function libraryExport<T>(name: string, module?: string): T {
  for (const m of ['../index.js', ...(module ? [module] : [])]) {
    try {
      const mod = require(m) as Record<string, unknown>;
      if (mod[name] !== undefined) return mod[name] as T;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw e;
    }
  }
  throw missing(`${name}()`);
}
