// `.lockFile(path)`: bubblewrap's --lock-file. A POSIX read lock (fcntl F_RDLCK on the
// whole file) on a file inside the sandbox, taken after its filesystem is in place and
// held until the sandbox ends, so that programs outside can tell it runs (a write lock
// attempt, F_SETLK, fails while it does) and wait for its end (F_SETLKW).
//
// Who holds it: a POSIX lock belongs to a process and ends when that process closes any
// descriptor of the file or exits. The process that lives exactly as long as the sandbox
// is nsbind-init (PID 1, or the supervisor of a program forked into a joined pid
// namespace), so a sandbox with a lock file always has the init, and the init takes the
// lock (native/lock_file.h) with a descriptor the program never sees.
import { invalid } from './errors.js';
import { destination } from './fs/validate.js';

const MAX_LOCK_FILES = 64;

/** `.lockFile()`'s argument validated, appended to the paths given before (the method is in lib/sandbox.ts). */
export function lockFiles(before: readonly string[] | undefined, path: string | readonly string[]): string[] {
  const given = Array.isArray(path) ? (path as readonly unknown[]) : [path];
  const paths = given.map((p, i) => destination(p, Array.isArray(path) ? `lockFile[${i}]` : 'lockFile'));
  const all = [...(before ?? []), ...paths];
  if (all.length > MAX_LOCK_FILES) throw invalid('lockFile', `at most ${MAX_LOCK_FILES} lock files per sandbox`);
  return all;
}
