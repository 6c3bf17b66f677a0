// What a sandbox tried and was refused, as `'violation'` events on the SandboxProcess
// and in `ExitResult.violations`. One union for every policy (network egress here;
// other policies add their own `kind`), so a caller handles them in one place.

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

export type Violation = EgressViolation;

/** How many violations `ExitResult.violations` keeps (the events carry all of them). */
export const MAX_VIOLATIONS = 100;
