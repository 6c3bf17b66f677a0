// What a sandbox tried and was refused (SPEC 2.5, 5.1): the one shared type of the
// `'violation'` event and `ExitResult.violations`. Each concern adds its kind here, in
// one place, so the event and the result list the same things.

/** A Landlock filesystem denial (read from the kernel's audit records, Linux 6.15+). */
export interface FsViolation {
  kind: 'fs';
  /** The path the kernel logged (the object refused, or the directory for a create). */
  path: string;
  /** Landlock's names for the refused rights, without `fs.`: e.g. `'write_file'`, `'make_reg,refer'`. */
  access: string;
}

/** Everything a sandbox can be refused. Other kinds (network, egress) join this union. */
export type Violation = FsViolation;

/** `ExitResult.violations` keeps the first this many. */
export const MAX_VIOLATIONS = 100;
