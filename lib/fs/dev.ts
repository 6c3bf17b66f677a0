// What `.dev()` puts in a minimal /dev: a few device nodes bound from the host (nothing
// else of the host's /dev is reachable), a private devpts, a shm tmpfs, and the links
// programs expect.

/** Device nodes bound from the host's /dev (each skipped if the host lacks it). */
export const DEV_NODES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'] as const;

/** Symbolic links: name -> target. */
export const DEV_LINKS: readonly [string, string][] = [
  ['ptmx', 'pts/ptmx'],
  ['fd', '/proc/self/fd'],
  ['stdin', '/proc/self/fd/0'],
  ['stdout', '/proc/self/fd/1'],
  ['stderr', '/proc/self/fd/2'],
];

/**
 * A private devpts instance: its own pty numbering, not the host's; `ptmxmode` makes
 * its ptmx usable by anyone, as /dev/ptmx is.
 */
export const DEVPTS_OPTIONS: [string, string][] = [
  ['newinstance', ''],
  ['ptmxmode', '0666'],
  ['mode', '0620'],
];
