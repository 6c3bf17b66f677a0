// Exit statuses of the CLI (SPEC section 9) and the error for bad command lines.

/** The program was not found (as the shells and unshare/bwrap/env say). */
export const EXIT_NOT_FOUND = 127;
/** The program was found but could not be executed. */
export const EXIT_NOT_EXECUTABLE = 126;
/** nsbind's own failure: bad input, a refused namespace, a failed mount... */
export const EXIT_NSBIND = 125;

/** Bad input on the command line: one line naming the flag, then the usage hint; exit 125. */
export class UsageError extends Error {
  constructor(
    readonly command: string,
    message: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }

  /** What the user reads on stderr. */
  text(): string {
    const help = this.command ? `nsbind ${this.command} --help` : 'nsbind --help';
    return `nsbind${this.command ? ` ${this.command}` : ''}: ${this.message}\nTry '${help}' for more information.`;
  }
}
