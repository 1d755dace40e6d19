/**
 * Requests that run ahead of their answers. A session hands the work of a pipelined request
 * (a small upload whose body it has already read) to the queue and goes on reading the next
 * request; the work runs at once, overlapping what follows (its fsyncs join the same group
 * commit rounds as the next uploads' ones), and the answers go out in the order the requests
 * came, those ready together in one write. Bounded: at most `depth` requests and `bytes` held
 * body bytes wait at once; past that the session stops reading until the oldest is answered.
 * @module
 */

/** A message to send, or frames already encoded. */
export type AnswerPart = object | Uint8Array;

/** What a finished piece of work sends, and what happens once it was sent. */
export interface QueuedAnswer {
  /** What to send (nothing when the connection ends here); sent with the answers ready
   * around it in one write. */
  parts: AnswerPart[];
  /**
   * Sends the rest after `parts`, before any later answer (a body streamed from a file);
   * throws only when the connection is lost.
   */
  stream?: () => Promise<void>;
  /** False when the connection must end after this answer. */
  keepOpen: boolean;
  /** Called once, after the message was written (`error` undefined) or could not be. */
  after(error?: unknown): void;
}

/** Limits of an {@link AnswerQueue}. */
export interface AnswerQueueLimits {
  /** Requests waiting for their answers at most. */
  depth: number;
  /** Held body bytes at most (one body bigger than this is never queued). */
  bytes: number;
}

interface Item {
  work: Promise<QueuedAnswer>;
  answer: QueuedAnswer | null;
  bytes: number;
}

/** Default limits: 32 requests and 1 MiB of bodies per connection. */
export const ANSWER_QUEUE_LIMITS: AnswerQueueLimits = { depth: 32, bytes: 1024 * 1024 };

/** Runs queued work at once and sends the answers in order; see the module comment. */
export class AnswerQueue {
  #send: (parts: AnswerPart[]) => Promise<void>;
  #limits: AnswerQueueLimits;
  #items: Item[] = [];
  #held = 0;
  /** Whether the loop that sends answers runs. */
  #sending = false;
  #open = true;
  #changed: (() => void)[] = [];
  #onEnd: () => void;

  /**
   * A queue whose answers go out through `send` (one call per run of ready answers);
   * `onEnd` is called once when an answer could not be sent or ended the connection.
   */
  constructor(
    send: (parts: AnswerPart[]) => Promise<void>,
    onEnd: () => void,
    limits: AnswerQueueLimits = ANSWER_QUEUE_LIMITS,
  ) {
    this.#send = send;
    this.#onEnd = onEnd;
    this.#limits = limits;
  }

  /** Requests waiting for their answers. */
  get size(): number {
    return this.#items.length;
  }

  /** False once an answer could not be sent or ended the connection. */
  get open(): boolean {
    return this.#open;
  }

  /** Whether a body of `bytes` may be held at all. */
  fits(bytes: number): boolean {
    return bytes <= this.#limits.bytes;
  }

  /** Waits until one more request holding `bytes` is within the limits. */
  async room(bytes: number): Promise<void> {
    while (
      this.#items.length >= this.#limits.depth ||
      (this.#items.length > 0 && this.#held + bytes > this.#limits.bytes)
    ) {
      await this.#change();
    }
  }

  /**
   * Queues `work` (already running; it must not reject) holding `bytes` of body; its answer
   * is sent after those of everything queued before it.
   */
  push(bytes: number, work: Promise<QueuedAnswer>): void {
    // Work that failed anyway ends the connection after the answers before it.
    const settled = work.catch((): QueuedAnswer => ({
      parts: [],
      keepOpen: false,
      after() {},
    }));
    const item: Item = { work: settled, answer: null, bytes };
    this.#items.push(item);
    this.#held += bytes;
    void settled.then((answer) => {
      item.answer = answer;
      this.#wake();
    });
    if (!this.#sending) {
      this.#sending = true;
      void this.#sendAll();
    }
  }

  /** Waits until every queued request was answered (or dropped); false if the connection
   * must end. */
  async drain(): Promise<boolean> {
    while (this.#items.length > 0 || this.#sending) await this.#change();
    return this.#open;
  }

  #change(): Promise<void> {
    return new Promise((resolve) => this.#changed.push(resolve));
  }

  #wake(): void {
    const waiting = this.#changed;
    this.#changed = [];
    for (const w of waiting) w();
  }

  async #sendAll(): Promise<void> {
    // Bounded: each pass answers at least the oldest item, and push adds at most `depth`.
    for (;;) {
      if (this.#items.length === 0) {
        // In the same turn as this check: an item pushed later finds the loop stopped and
        // starts a new one (a flag reset after an await could miss it).
        this.#sending = false;
        this.#wake();
        return;
      }
      const head = this.#items[0];
      if (head.answer === null) {
        await head.work;
        if (head.answer === null) await this.#change();
        continue;
      }
      // The oldest answer and every ready one after it, up to one that ends the connection
      // or streams a body.
      let n = 0;
      while (n < this.#items.length && this.#items[n].answer !== null) {
        n++;
        const last = this.#items[n - 1].answer!;
        if (!last.keepOpen || last.stream !== undefined) break;
      }
      const batch = this.#items.slice(0, n);
      const answers = batch.map((b) => b.answer!);
      const parts = answers.flatMap((a) => a.parts);
      let error: unknown = undefined;
      if (!this.#open) error = new Error("The connection ended before this answer");
      else {
        try {
          if (parts.length > 0) await this.#send(parts);
          await answers.at(-1)!.stream?.();
        } catch (err) {
          error = err;
        }
      }
      const wasOpen = this.#open;
      if (error !== undefined) this.#open = false;
      for (const a of answers) {
        try {
          a.after(error);
        } catch {
          // a failing log write must not stop the answers after it
        }
        if (!a.keepOpen) this.#open = false;
      }
      if (wasOpen && !this.#open) this.#onEnd();
      this.#items.splice(0, n);
      for (const b of batch) this.#held -= b.bytes;
      this.#wake();
    }
  }
}
