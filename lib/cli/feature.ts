// Parts of the library the CLI uses that other parts of nsbind provide (doctor,
// namespaces, netns, enter). They are looked up in the public index when a subcommand
// needs them, so the CLI calls exactly what a program importing 'nsbind' would, and a
// build without one says so instead of crashing.
import { NsbindError } from '../errors.js';

/** The CLI needs a library function this build does not have. Exit 125. */
export function missing(what: string): NsbindError {
  return new NsbindError(`nsbind: ${what} is not available in this build of nsbind`, { code: 'ERR_NSBIND_UNSUPPORTED' });
}

/** `name` as exported by the public index. */
export function libraryExport<T>(name: string): T {
  const value = (require('../index.js') as Record<string, unknown>)[name];
  if (value === undefined) throw missing(`${name}()`);
  return value as T;
}
