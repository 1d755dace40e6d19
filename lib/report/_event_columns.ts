/**
 * Events in columns of typed arrays, for moving them from a parsing worker to the report
 * builder without cloning an object per event. Columns carry what the report builder reads of
 * an event (time, event, ok, conn, bytes, size, ms, user, run; for a failed one also code,
 * remote, path and message, as plain strings); a bench mark, a folded line (`repeated`), or an
 * event whose user or run did not fit the string table, travels whole.
 */
import { EVENT_NAMES } from "../log/events.ts";
import { type LogEvent, newEvent, NO_EXTRAS } from "./log_event.ts";

/** One batch of events in columns. */
export interface EventColumns {
  count: number;
  /** Time in ms since the epoch. */
  t: Float64Array;
  /** conn, bytes, size, ms of each event (NaN: absent). */
  num: Float64Array;
  /** Index into EVENT_NAMES of each event; WHOLE when it travels in `whole`. */
  event: Uint8Array;
  /** Ids of user and run in the string table (-1: absent). */
  str: Int32Array;
  /** Strings added to the table by this batch, in id order. */
  strings: string[];
  /** The events that travel whole, in order. */
  whole: LogEvent[];
  /** code, remote, path and message of each failed event, in order (null: absent). */
  failed: (string | null)[];
}

const WHOLE = 255;
/** Added to the event's index for a failed event. */
const FAILED = 128;
const EVENT_IDS = new Map<string, number>(EVENT_NAMES.map((n, i) => [n, i]));
/** At most this many distinct strings are given ids; others make their events travel whole. */
const MAX_STRINGS = 1 << 16;

/** Collects events into columns (in the worker). */
export class ColumnWriter {
  #ids = new Map<string, number>();
  #cap: number;
  #count = 0;
  #t: Float64Array<ArrayBuffer>;
  #num: Float64Array<ArrayBuffer>;
  #event: Uint8Array<ArrayBuffer>;
  #str: Int32Array<ArrayBuffer>;
  #strings: string[] = [];
  #whole: LogEvent[] = [];
  #failed: (string | null)[] = [];

  /** A writer for batches of up to `cap` events. */
  constructor(cap: number) {
    this.#cap = cap;
    this.#t = new Float64Array(cap);
    this.#num = new Float64Array(cap * 4);
    this.#event = new Uint8Array(cap);
    this.#str = new Int32Array(cap * 2);
  }

  /** How many events the current batch holds. */
  get count(): number {
    return this.#count;
  }

  /** Whether the batch is full. */
  get full(): boolean {
    return this.#count === this.#cap;
  }

  /** Appends an event (the batch must not be full). */
  add(e: LogEvent): void {
    const i = this.#count++;
    const user = e.user === undefined ? -1 : this.#id(e.user);
    const run = e.run === undefined ? -1 : this.#id(e.run);
    if (e.num !== NO_EXTRAS || e.repeated !== undefined || user === -2 || run === -2) {
      this.#event[i] = WHOLE;
      this.#whole.push(e);
      return;
    }
    this.#t[i] = e.t;
    this.#event[i] = EVENT_IDS.get(e.event)! + (e.ok ? 0 : FAILED);
    if (!e.ok) {
      this.#failed.push(e.code ?? null, e.remote ?? null, e.path ?? null, e.message ?? null);
    }
    this.#num[i * 4] = e.conn ?? NaN;
    this.#num[i * 4 + 1] = e.bytes ?? NaN;
    this.#num[i * 4 + 2] = e.size ?? NaN;
    this.#num[i * 4 + 3] = e.ms ?? NaN;
    this.#str[i * 2] = user;
    this.#str[i * 2 + 1] = run;
  }

  /** The batch, ready to post (its buffers are the transfer list); the writer starts anew. */
  take(): { columns: EventColumns; transfer: ArrayBuffer[] } {
    const columns: EventColumns = {
      count: this.#count,
      t: this.#t,
      num: this.#num,
      event: this.#event,
      str: this.#str,
      strings: this.#strings,
      whole: this.#whole,
      failed: this.#failed,
    };
    const transfer = [this.#t.buffer, this.#num.buffer, this.#event.buffer, this.#str.buffer];
    this.#count = 0;
    this.#t = new Float64Array(this.#cap);
    this.#num = new Float64Array(this.#cap * 4);
    this.#event = new Uint8Array(this.#cap);
    this.#str = new Int32Array(this.#cap * 2);
    this.#strings = [];
    this.#whole = [];
    this.#failed = [];
    return { columns, transfer };
  }

  /** The string's id, or -2 when the table is full. */
  #id(s: string): number {
    let id = this.#ids.get(s);
    if (id === undefined) {
      if (this.#ids.size === MAX_STRINGS) return -2;
      id = this.#ids.size;
      this.#ids.set(s, id);
      this.#strings.push(s);
    }
    return id;
  }
}

/** Turns batches of columns back into events (in the report's thread), one worker's table. */
export class ColumnReader {
  #strings: string[] = [];
  /** Reused for every event that travelled in columns: the callee must not keep it. */
  #event = newEvent(0, "connect", true);

  /**
   * Calls `each` with every event of the batch, in order. Successful events from the columns
   * share one object that is overwritten by the next; failed and whole events are their own.
   */
  forEach(c: EventColumns, each: (e: LogEvent) => void): void {
    for (const s of c.strings) this.#strings.push(s);
    const strings = this.#strings;
    let w = 0;
    let f = 0;
    for (let i = 0; i < c.count; i++) {
      const kind = c.event[i];
      if (kind === WHOLE) {
        each(c.whole[w++]);
        continue;
      }
      const ok = kind < FAILED;
      const e = ok ? this.#event : newEvent(0, "connect", false);
      e.t = c.t[i];
      e.event = EVENT_NAMES[ok ? kind : kind - FAILED];
      e.ok = ok;
      if (!ok) {
        e.code = c.failed[f++] ?? undefined;
        e.remote = c.failed[f++] ?? undefined;
        e.path = c.failed[f++] ?? undefined;
        e.message = c.failed[f++] ?? undefined;
      }
      e.conn = numberAt(c.num, i * 4);
      e.bytes = numberAt(c.num, i * 4 + 1);
      e.size = numberAt(c.num, i * 4 + 2);
      e.ms = numberAt(c.num, i * 4 + 3);
      const user = c.str[i * 2];
      const run = c.str[i * 2 + 1];
      e.user = user < 0 ? undefined : strings[user];
      e.run = run < 0 ? undefined : strings[run];
      each(e);
    }
  }
}

function numberAt(a: Float64Array, i: number): number | undefined {
  const v = a[i];
  return v === v ? v : undefined;
}
