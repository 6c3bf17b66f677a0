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
import { Sandbox } from './sandbox.js';
import { destination } from './fs/validate.js';

declare module './sandbox.js' {
  interface Sandbox {
    /**
     * Holds a read lock (fcntl `F_RDLCK`, the whole file) on `path` while the sandbox
     * runs, as bubblewrap's `--lock-file`: taken by nsbind's init after the filesystem
     * steps (the path is the sandbox's view, and the file must exist there), released
     * when the sandbox ends, however it ends. Outside, a write lock (`F_SETLK`) fails
     * while the sandbox runs; `F_SETLKW` waits for its end. These are POSIX (fcntl)
     * locks: `flock(2)` and `flock(1)` do not see them. Not with `pid({ init: false })`
     * (no init to hold it). Several calls take several locks.
     * @example sandbox().bind('/run/app').lockFile('/run/app/lock').run('server')
     */
    lockFile(path: string | readonly string[]): Sandbox;
  }
}

const MAX_LOCK_FILES = 64;

Sandbox.prototype.lockFile = function lockFile(this: Sandbox, path: string | readonly string[]): Sandbox {
  const given = Array.isArray(path) ? (path as readonly unknown[]) : [path];
  const paths = given.map((p, i) => destination(p, Array.isArray(path) ? `lockFile[${i}]` : 'lockFile'));
  const all = [...((this.options.lockFile as string[] | undefined) ?? []), ...paths];
  if (all.length > MAX_LOCK_FILES) throw invalid('lockFile', `at most ${MAX_LOCK_FILES} lock files per sandbox`);
  return new Sandbox({ ...(this.options as object), lockFile: all });
};
