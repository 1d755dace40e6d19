/**
 * A fast reader for the shape of line the server writes: a flat JSON object without
 * whitespace, `ts` in the `2026-11-24T16:06:31.123Z` form. It scans the line where it lies in
 * the decoded chunk, takes the fields the report uses as slices, and never builds the whole
 * object. Anything else (nested values, a repeated field, a mistyped one, an exponent, a bench
 * event) returns null, and the caller takes the exact path (`JSON.parse` and `toEvent`), which
 * also words the reason for a bad line. So the fast path accepts a subset of what the exact
 * path accepts, with the same result.
 */
import { EVENT_NAMES, type EventName } from "../log/events.ts";
import { type LogEvent, missingField, newEvent } from "./log_event.ts";

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN = 0x7b;
const CLOSE = 0x7d;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

// Field ids: the index in KEYS. Numbers first, then strings, then ts, event and ok.
const KEYS = [
  "conn",
  "bytes",
  "size",
  "ms",
  "repeated",
  "remote",
  "user",
  "path",
  "code",
  "message",
  "run",
  "ts",
  "event",
  "ok",
] as const;
const [CONN, BYTES, SIZE, MS, REPEATED, REMOTE, USER, PATH, CODE, MESSAGE, RUN, TS, EVENT, OK] =
  KEYS.keys();
/** Field ids by a hash of key length, first and last letter (no two keys share a slot). */
const KEY_SLOTS = new Int8Array(1024).fill(-1);
const keySlot = (len: number, first: number, last: number) => (len * 97 + first * 31 + last) & 1023;
KEYS.forEach((k, id) => {
  const slot = keySlot(k.length, k.charCodeAt(0), k.charCodeAt(k.length - 1));
  if (KEY_SLOTS[slot] !== -1) throw new Error(`Key slots collide: "${k}"`);
  KEY_SLOTS[slot] = id;
});
/** Event names by length and first letter, so that a name is found without slicing it out. */
const EVENT_TABLE = new Map<number, EventName[]>();
for (const name of EVENT_NAMES) {
  const slot = name.length * 256 + name.charCodeAt(0);
  EVENT_TABLE.set(slot, [...(EVENT_TABLE.get(slot) ?? []), name]);
}

function eventAt(s: string, from: number, to: number): EventName | undefined {
  const names = EVENT_TABLE.get((to - from) * 256 + s.charCodeAt(from));
  if (names !== undefined) { for (const n of names) if (s.startsWith(n, from)) return n; }
  return undefined;
}
/** 10^0 .. 10^22: exact doubles, so an integer mantissa divided by one is correctly rounded. */
const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

// Where the known fields' values lie (strings without their quotes) and what they are, reused
// from line to line: fastEvent() is synchronous and done with them when it returns.
const FROM = new Int32Array(KEYS.length);
const TO = new Int32Array(KEYS.length);
const KIND = new Uint8Array(KEYS.length);
/** The values of located numbers (-1: not a plain non-negative number, or not a number). */
const VALUE = new Float64Array(KEYS.length);
const OTHER = 0;
const STRING = 1;
/** A string with an escape: JSON.parse decodes it. */
const ESCAPED = 2;

/** The field id of the key s[start, end), or -1 for a field the report ignores. */
function keyId(s: string, start: number, end: number): number {
  const len = end - start;
  if (len === 0) return -1;
  const id = KEY_SLOTS[keySlot(len, s.charCodeAt(start), s.charCodeAt(end - 1))];
  return id >= 0 && KEYS[id].length === len && s.startsWith(KEYS[id], start) ? id : -1;
}

/** Day starts in ms for `YYYY-MM-DD`, cached: a log has few distinct days. */
const dayCache = new Map<number, number>();

function digits(s: string, at: number, n: number): number {
  let v = 0;
  for (let i = 0; i < n; i++) {
    const d = s.charCodeAt(at + i) - ZERO;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/** `ts` as the server writes it (24 characters, UTC, milliseconds) in ms, else NaN. */
function parseTs(s: string, at: number, end: number): number {
  if (
    end - at !== 24 || s.charCodeAt(at + 4) !== MINUS || s.charCodeAt(at + 7) !== MINUS ||
    s.charCodeAt(at + 10) !== 0x54 || s.charCodeAt(at + 13) !== COLON ||
    s.charCodeAt(at + 16) !== COLON || s.charCodeAt(at + 19) !== DOT ||
    s.charCodeAt(at + 23) !== 0x5a
  ) return NaN;
  const y = digits(s, at, 4), mo = digits(s, at + 5, 2), d = digits(s, at + 8, 2);
  const h = digits(s, at + 11, 2), mi = digits(s, at + 14, 2), sec = digits(s, at + 17, 2);
  const ms = digits(s, at + 20, 3);
  if ((y | mo | d | h | mi | sec | ms) < 0 || h > 23 || mi > 59 || sec > 59) return NaN;
  const key = y * 10000 + mo * 100 + d;
  let day = dayCache.get(key);
  if (day === undefined) {
    // Date.parse decides which dates exist, exactly as on the exact path.
    day = Date.parse(s.slice(at, at + 10) + "T00:00:00.000Z");
    if (dayCache.size < 100_000) dayCache.set(key, day);
  }
  return day + ((h * 60 + mi) * 60 + sec) * 1000 + ms;
}

let escaped = false;
/** Whether the current line has no control character and no backslash (see fastEvent). */
let clean = false;

/**
 * Where the string that starts at the quote `at` ends (after its closing quote), or -1 for a
 * raw control character or a malformed escape. Sets `escaped` when it holds an escape.
 */
function stringEnd(s: string, at: number, end: number): number {
  escaped = false;
  // A line without control characters or backslashes: the next quote closes the string.
  if (clean) {
    const q = s.indexOf('"', at + 1);
    return q >= 0 && q < end ? q + 1 : -1;
  }
  for (let i = at + 1; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === QUOTE) return i + 1;
    if (c < 0x20) return -1;
    if (c === BACKSLASH) {
      escaped = true;
      const x = s.charCodeAt(++i);
      if (x === 0x75) {
        for (let k = 0; k < 4; k++) if (!isHex(s.charCodeAt(++i))) return -1;
      } else if (!ESCAPES.has(x)) return -1;
    }
  }
  return -1;
}

/** `"`, `\`, `/`, `b`, `f`, `n`, `r`, `t`: the one-letter escapes of JSON. */
const ESCAPES = new Set([0x22, 0x5c, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74]);

function isHex(c: number): boolean {
  return (c >= ZERO && c <= NINE) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

/** Where the JSON number at `at` ends, or -1 when it is not plain JSON (or has an exponent). */
function numberEnd(s: string, at: number, end: number): number {
  // The value is worked out on the way (see numberValue); -1 when it cannot be exact.
  let mantissa = 0;
  let digitsSeen = 0;
  let i = at;
  const negative = s.charCodeAt(i) === MINUS;
  if (negative) i++;
  let c = s.charCodeAt(i);
  if (c === ZERO) c = s.charCodeAt(++i);
  else {
    const from = i;
    for (; i < end && c >= ZERO && c <= NINE; c = s.charCodeAt(++i)) {
      mantissa = mantissa * 10 + (c - ZERO);
      digitsSeen++;
    }
    if (i === from) return -1;
  }
  let scale = 0;
  if (c === DOT) {
    const from = ++i;
    for (c = s.charCodeAt(i); i < end && c >= ZERO && c <= NINE; c = s.charCodeAt(++i)) {
      mantissa = mantissa * 10 + (c - ZERO);
      if (mantissa !== 0) digitsSeen++;
      scale++;
    }
    if (i === from) return -1;
  }
  if (c === 0x65 || c === 0x45) return -1;
  numberValue = negative || digitsSeen > 15 || scale > 22
    ? -1
    : scale > 0
    ? mantissa / POW10[scale]
    : mantissa;
  return i;
}

/**
 * The value of the number numberEnd() last read when it is a plain non-negative decimal of
 * at most 15 significant digits (so the mantissa is exact and one division rounds correctly,
 * as JSON.parse does), else -1.
 */
let numberValue = -1;

/** Where a `true`, `false` or `null` at `at` ends, or -1. */
function literalEnd(s: string, at: number): number {
  if (s.startsWith("true", at) || s.startsWith("null", at)) return at + 4;
  return s.startsWith("false", at) ? at + 5 : -1;
}

/** The value of the number field `id`, or -1 when it is not a plain non-negative number. */
function number(id: number): number {
  return KIND[id] === OTHER ? VALUE[id] : -1;
}

/** The located string field `id`. */
function text(s: string, id: number): string {
  const from = FROM[id];
  const to = TO[id];
  return KIND[id] === ESCAPED ? JSON.parse(s.slice(from - 1, to + 1)) : s.slice(from, to);
}

/** Finds the fields of the line s[start, end); false when it is not a flat JSON object. */
function locate(s: string, start: number, end: number): boolean {
  FROM.fill(-1);
  if (s.charCodeAt(start) !== OPEN || end - start < 2 || s.charCodeAt(start + 1) === CLOSE) {
    return false;
  }
  for (let i = start + 1;;) {
    if (s.charCodeAt(i) !== QUOTE) return false;
    const keyEnd = stringEnd(s, i, end);
    if (keyEnd < 0 || escaped || s.charCodeAt(keyEnd) !== COLON) return false;
    const id = keyId(s, i + 1, keyEnd - 1);
    const v = keyEnd + 1;
    const c = s.charCodeAt(v);
    const quoted = c === QUOTE;
    const after = quoted
      ? stringEnd(s, v, end)
      : c === MINUS || (c >= ZERO && c <= NINE)
      ? numberEnd(s, v, end)
      : literalEnd(s, v);
    if (after < 0) return false;
    if (id >= 0) {
      if (FROM[id] >= 0) return false; // a repeated field: JSON.parse keeps the last one
      FROM[id] = quoted ? v + 1 : v;
      TO[id] = quoted ? after - 1 : after;
      KIND[id] = quoted ? (escaped ? ESCAPED : STRING) : OTHER;
      VALUE[id] = c === MINUS || (c >= ZERO && c <= NINE) ? numberValue : -1;
    }
    const next = s.charCodeAt(after);
    if (next === CLOSE) return after === end - 1;
    if (next !== COMMA) return false;
    i = after + 1;
  }
}

/**
 * The event of the line s[start, end) (without its newline) when it has the server's own shape
 * and is valid, else null: then the exact path reads it. `plain` tells that the line holds no
 * character below U+0020 and no backslash, so strings end at the next quote.
 */
export function fastEvent(
  s: string,
  start: number,
  end: number,
  plain: boolean,
): LogEvent | null {
  clean = plain;
  let e = end;
  while (e > start) {
    const c = s.charCodeAt(e - 1);
    if (c !== 0x0d && c !== 0x20 && c !== 0x09) break;
    e--;
  }
  if (!locate(s, start, e)) return null;
  if (FROM[TS] < 0 || KIND[TS] !== STRING) return null;
  const t = parseTs(s, FROM[TS], TO[TS]);
  if (Number.isNaN(t) || FROM[EVENT] < 0 || KIND[EVENT] !== STRING) return null;
  const event = eventAt(s, FROM[EVENT], TO[EVENT]);
  if (event === undefined || event === "bench_start" || event === "bench_end") return null;
  if (FROM[OK] < 0 || KIND[OK] !== OTHER) return null;
  const okChar = s.charCodeAt(FROM[OK]);
  if (okChar !== 0x74 && okChar !== 0x66) return null;
  const ev = newEvent(t, event, okChar === 0x74);
  if (FROM[CONN] >= 0 && (ev.conn = number(CONN)) < 0) return null;
  if (FROM[BYTES] >= 0 && (ev.bytes = number(BYTES)) < 0) return null;
  if (FROM[SIZE] >= 0 && (ev.size = number(SIZE)) < 0) return null;
  if (FROM[MS] >= 0 && (ev.ms = number(MS)) < 0) return null;
  if (FROM[REPEATED] >= 0 && (ev.repeated = number(REPEATED)) < 0) return null;
  for (let id = REMOTE; id <= RUN; id++) if (FROM[id] >= 0 && KIND[id] === OTHER) return null;
  if (FROM[REMOTE] >= 0) ev.remote = text(s, REMOTE);
  if (FROM[USER] >= 0) ev.user = text(s, USER);
  if (FROM[PATH] >= 0) ev.path = text(s, PATH);
  if (FROM[CODE] >= 0) ev.code = text(s, CODE);
  if (FROM[MESSAGE] >= 0) ev.message = text(s, MESSAGE);
  if (FROM[RUN] >= 0) ev.run = text(s, RUN);
  return missingField(ev) === null ? ev : null;
}
