// What a sandbox tried and was refused (SPEC 2.5, 5.1): the one shared type of the
// `'violation'` event and `ExitResult.violations`. Each policy adds its kind here, in
// one place, so the event and the result list the same things.

/** A Landlock filesystem denial (read from the kernel's audit records, Linux 6.15+). */
export interface FsViolation {
  kind: 'fs';
  /** The path the kernel logged (the object refused, or the directory for a create). */
  path: string;
  /** Landlock's names for the refused rights, without `fs.`: e.g. `'write_file'`, `'make_reg,refer'`. */
  access: string;
}

/** A connection the egress policy refused (SPEC 5.1). */
export interface EgressViolation {
  kind: 'egress';
  /** The name or address the program asked for, as asked. */
  host: string;
  port: number;
  /** How it asked: an HTTP proxy request (CONNECT or absolute URI) or SOCKS5. */
  via: 'http' | 'socks';
  /** Why it was refused. */
  reason: 'denied' | 'not-allowed' | 'private-address' | 'callback' | 'unresolved';
}

/** Everything a sandbox can be refused. */
export type Violation = FsViolation | EgressViolation;

/** `ExitResult.violations` keeps the first this many (the events carry all of them). */
export const MAX_VIOLATIONS = 100;
