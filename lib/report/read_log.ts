import { fileErrorReason } from "./_file_error.ts";
import { type ActivityEvent, EVENT_NAMES, type EventName } from "../log/events.ts";

/**
 * One validated activity-log event: the writer's fields (lib/log/events.ts), with `ts` parsed
 * into `t` (ms since the epoch) and `code` kept as any string, since logs of other versions
 * may carry codes this one does not know.
 */
export interface LogEvent extends
  Pick<
    ActivityEvent,
    "ok" | "conn" | "remote" | "user" | "path" | "bytes" | "size" | "ms" | "message" | "run"
  > {
  t: number;
  event: EventName;
  code?: string;
  /** Numeric extras of bench events (clients, files, ops, errors...). */
  num: Record<string, number>;
  /** String extras of bench events (op). */
  str: Record<string, string>;
}

/** A line that could not be used, with where it was. */
export interface BadLine {
  file: string;
  line: number;
  reason: string;
  /** The start of the line, for the report. */
  text: string;
}

const KNOWN = new Set<string>(EVENT_NAMES);
const TRANSFERS = new Set(["upload", "download"]);
const NUMBER_FIELDS = ["conn", "bytes", "size", "ms"] as const;
const STRING_FIELDS = ["remote", "user", "path", "code", "message", "run"] as const;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

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
  const e: LogEvent = { t, event: o.event as EventName, ok: o.ok, num: {}, str: {} };
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
  if (TRANSFERS.has(e.event)) {
    if (e.bytes === undefined) return `missing "bytes" on ${e.event}`;
    if (e.ms === undefined) return `missing "ms" on ${e.event}`;
    if (e.path === undefined) return `missing "path" on ${e.event}`;
  }
  if ((e.event === "connect" || e.event === "disconnect") && e.conn === undefined) {
    return `missing "conn" on ${e.event}`;
  }
  if (e.event === "bench_start" || e.event === "bench_end") {
    if (e.run === undefined) return `missing "run" on ${e.event}`;
    for (const k of ["clients", "files", "ops", "errors"]) {
      if (typeof o[k] === "number" && Number.isFinite(o[k])) e.num[k] = o[k] as number;
    }
    if (typeof o.op === "string") e.str.op = o.op;
  }
  return e;
}

/** Thrown when a log file cannot be opened. */
export class LogReadError extends Error {
  /** Creates a log read error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "LogReadError";
  }
}

const CHUNK = 1024 * 1024;

function cannotRead(path: string, err: unknown): LogReadError {
  return new LogReadError(`Cannot read log "${path}": ${fileErrorReason(err)}`, { cause: err });
}

/**
 * Streams the events of one or more JSON-lines logs in order, in bounded memory: the files
 * are read in 1 MiB chunks and split into lines; unusable lines go to `onBad` and never stop
 * the reading.
 */
export async function* readEvents(
  paths: string[],
  onBad: (bad: BadLine) => void,
): AsyncGenerator<LogEvent> {
  for (const path of paths) {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(path, { read: true });
    } catch (err) {
      throw cannotRead(path, err);
    }
    try {
      const decoder = new TextDecoder();
      const buf = new Uint8Array(CHUNK);
      let carry = "";
      let lineNo = 0;
      const handle = (line: string, last: boolean): LogEvent | null => {
        lineNo++;
        // Blank lines are skipped; trim() only for lines that start blank (it allocates).
        if (line.length === 0 || (line.charCodeAt(0) <= 32 && line.trim().length === 0)) {
          return null;
        }
        let parsed: unknown;
        try {
          parsed = JSON.parse(line);
        } catch {
          const reason = last ? "truncated last line" : "not valid JSON";
          onBad({ file: path, line: lineNo, reason, text: line.slice(0, 120) });
          return null;
        }
        const ev = toEvent(parsed);
        if (typeof ev === "string") {
          onBad({ file: path, line: lineNo, reason: ev, text: line.slice(0, 120) });
          return null;
        }
        return ev;
      };
      for (;;) {
        let n: number | null;
        try {
          n = await file.read(buf);
        } catch (err) {
          throw cannotRead(path, err);
        }
        if (n === null) break;
        const text = carry + decoder.decode(buf.subarray(0, n), { stream: true });
        const lines = text.split("\n");
        carry = lines.pop() ?? "";
        for (const line of lines) {
          const ev = handle(line, false);
          if (ev) yield ev;
        }
      }
      carry += decoder.decode();
      if (carry.length > 0) {
        // A last line without its newline: used if it is whole, else reported as truncated.
        const ev = handle(carry, true);
        if (ev) yield ev;
      }
    } finally {
      file.close();
    }
  }
}
