/**
 * A server-wide bound on the upload bodies held in memory. A session reads a small upload's
 * body into memory so that it can go on reading while the file is written (see
 * AnswerQueue); a client that stops in the middle of such bodies on many connections would
 * otherwise pin up to a queue's worth of bytes on each. Past the budget, uploads take the
 * streaming path (body to the file as it arrives), which holds nothing while it waits.
 * @module
 */

/** Default budget: 16 MiB for all connections together. */
export const HELD_BODY_BUDGET = 16 * 1024 * 1024;

/** Bytes of bodies held in memory across every session of one server. */
export class HeldBudget {
  #limit: number;
  #held = 0;

  /** Creates a budget of `limit` bytes. */
  constructor(limit = HELD_BODY_BUDGET) {
    this.#limit = limit;
  }

  /** Bytes held right now. */
  get held(): number {
    return this.#held;
  }

  /** Takes `bytes` if they fit; false (nothing taken) when they do not. */
  tryTake(bytes: number): boolean {
    if (this.#held + bytes > this.#limit) return false;
    this.#held += bytes;
    return true;
  }

  /** Gives back `bytes` taken by {@link tryTake}. */
  give(bytes: number): void {
    this.#held = Math.max(0, this.#held - bytes);
  }
}
