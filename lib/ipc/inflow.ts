// Backpressure on what the child sends. The parent stops reading the channel while it
// holds more than it should for the child (messages nobody has listened for yet, or
// replies the child does not read), as a paused stream stops reading its socket. The
// kernel's socket buffer then fills, the child's process.send() returns false and its
// writes queue in the child's own memory, which the sandbox's limits bound: never in
// Node's. Reading resumes when every reason to hold is gone.
import type { Socket } from 'node:net';

/**
 * Wire bytes of undelivered messages held before reading stops, and of replies queued
 * for a child that does not read them. A stream's highWaterMark, in spirit: enough that
 * a child sending before the parent's first 'message' listener rarely waits.
 */
export const HOLD_BYTES = 256 * 1024;

/** Why reading is stopped: messages nobody listens for yet, or our replies piling up. */
export type HoldReason = 'undelivered' | 'replies';

export class Inflow {
  private readonly reasons = new Set<HoldReason>();

  constructor(private readonly socket: Socket) {}

  /** Whether reading is stopped (for `reason`, or for any). */
  held(reason?: HoldReason): boolean {
    return reason ? this.reasons.has(reason) : this.reasons.size > 0;
  }

  hold(reason: HoldReason): void {
    if (this.reasons.size === 0) this.socket.pause();
    this.reasons.add(reason);
  }

  release(reason: HoldReason): void {
    if (this.reasons.delete(reason) && this.reasons.size === 0) this.socket.resume();
  }
}
