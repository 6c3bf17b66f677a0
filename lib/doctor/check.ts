/** One thing doctor() looked at: does it work here, and if not, why and what changes it. */
export interface Check {
  ok: boolean;
  /** Why it does not work (present when `ok` is false). */
  reason?: string;
  /** The exact command or setting that makes it work, where one exists. */
  fix?: string;
}

export const ok = (): Check => ({ ok: true });

export function fail(reason: string, fix?: string): Check {
  return fix === undefined ? { ok: false, reason } : { ok: false, reason, fix };
}
