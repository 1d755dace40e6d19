import { type ActivityEvent, EVENT_NAMES, type EventName } from "../log/events.ts";

/**
 * One validated activity-log event: the writer's fields (lib/log/events.ts), with `ts` parsed
 * into `t` (ms since the epoch) and `code` kept as any string, since logs of other versions
 * may carry codes this one does not know.
 */
export interface LogEvent extends
  Pick<
    ActivityEvent,
    | "ok"
    | "conn"
    | "remote"
    | "user"
    | "path"
    | "bytes"
    | "size"
    | "ms"
    | "message"
    | "run"
    | "repeated"
  > {
  t: number;
  event: EventName;
  code?: string;
  /** Numeric extras of bench events (clients, files, ops, errors...); empty on other events. */
  num: Readonly<Record<string, number>>;
  /** String extras of bench events (op); empty on other events. */
  str: Readonly<Record<string, string>>;
}

/** How many events `e` stands for: 1, or 1 + `repeated` for a folded line. */
export function weight(e: LogEvent): number {
  return 1 + (e.repeated ?? 0);
}

/** A line that could not be used, with where it was. */
export interface BadLine {
  file: string;
  line: number;
  reason: string;
  /** The start of the line, for the report. */
  text: string;
}

/** The extras of every event that is not a bench event: shared, since they stay empty. */
export const NO_EXTRAS: Readonly<Record<string, never>> = Object.freeze({});

const KNOWN = new Set<string>(EVENT_NAMES);
const NUMBER_FIELDS = ["conn", "bytes", "size", "ms", "repeated"] as const;
const STRING_FIELDS = ["remote", "user", "path", "code", "message", "run"] as const;
const BENCH_NUMBERS = ["clients", "files", "ops", "errors"] as const;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

/**
 * The fields each event needs beyond `ts`, `event` and `ok`; null when the event is usable.
 * Every reader of the log (the parsed path and the byte-level fast path) asks this one rule.
 */
export function missingField(e: LogEvent): string | null {
  switch (e.event) {
    case "upload":
    case "download":
      if (e.bytes === undefined) return `missing "bytes" on ${e.event}`;
      if (e.ms === undefined) return `missing "ms" on ${e.event}`;
      if (e.path === undefined) return `missing "path" on ${e.event}`;
      return null;
    case "connect":
    case "disconnect":
      return e.conn === undefined ? `missing "conn" on ${e.event}` : null;
    case "bench_start":
    case "bench_end":
      return e.run === undefined ? `missing "run" on ${e.event}` : null;
    default:
      return null;
  }
}

/**
 * A new event with every field in place (absent ones undefined), so that all events share
 * one shape: one allocation each, and monomorphic code in the report builder.
 */
export function newEvent(t: number, event: EventName, ok: boolean): LogEvent {
  return {
    t,
    event,
    ok,
    conn: undefined,
    bytes: undefined,
    size: undefined,
    ms: undefined,
    repeated: undefined,
    remote: undefined,
    user: undefined,
    path: undefined,
    code: undefined,
    message: undefined,
    run: undefined,
    num: NO_EXTRAS,
    str: NO_EXTRAS,
  };
}

/** Validates one parsed line; returns the event or the reason it is unusable. */
export function toEvent(value: unknown): LogEvent | string {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return "not a JSON object";
  }
  const o = value as Record<string, unknown>;
  if (typeof o.ts !== "string" || !ISO.test(o.ts)) return 'missing or invalid "ts"';
  const t = Date.parse(o.ts);
  if (Number.isNaN(t)) return 'invalid "ts"';
  if (typeof o.event !== "string") return 'missing "event"';
  if (!KNOWN.has(o.event)) return `unknown event "${o.event.slice(0, 40)}"`;
  if (typeof o.ok !== "boolean") return 'missing or invalid "ok"';
  const e = newEvent(t, o.event as EventName, o.ok);
  for (const f of NUMBER_FIELDS) {
    const v = o[f];
    if (v === undefined) continue;
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) return `invalid "${f}"`;
    e[f] = v;
  }
  for (const f of STRING_FIELDS) {
    const v = o[f];
    if (v === undefined) continue;
    if (typeof v !== "string") return `invalid "${f}"`;
    e[f] = v;
  }
  const missing = missingField(e);
  if (missing !== null) return missing;
  if (e.event === "bench_start" || e.event === "bench_end") benchExtras(e, o);
  return e;
}

function benchExtras(e: LogEvent, o: Record<string, unknown>): void {
  const num: Record<string, number> = {};
  for (const k of BENCH_NUMBERS) {
    const v = o[k];
    if (typeof v === "number" && Number.isFinite(v)) num[k] = v;
  }
  e.num = num;
  e.str = typeof o.op === "string" ? { op: o.op } : {};
}
