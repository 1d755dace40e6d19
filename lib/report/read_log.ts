import { fileErrorReason } from "./_file_error.ts";
import { fastEvent } from "./_fast_event.ts";
import { type BadLine, type LogEvent, toEvent } from "./log_event.ts";

export type { BadLine, LogEvent };
export { toEvent };

/** Thrown when a log file cannot be opened. */
export class LogReadError extends Error {
  /** Creates a log read error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "LogReadError";
  }
}

const CHUNK = 4 * 1024 * 1024;
const PIECE = 64 * 1024;

function cannotRead(path: string, err: unknown): LogReadError {
  return new LogReadError(`Cannot read log "${path}": ${fileErrorReason(err)}`, { cause: err });
}

/** Turns the lines of one file into events; keeps the line count. */
export class LineParser {
  #path: string;
  #onBad: (bad: BadLine) => void;
  lineNo = 0;

  constructor(path: string, onBad: (bad: BadLine) => void) {
    this.#path = path;
    this.#onBad = onBad;
  }

  /**
   * The event of the line text[start, end), or null for a blank or unusable line; `plain`
   * when the line has no control character and no backslash.
   */
  parse(text: string, start: number, end: number, last: boolean, plain: boolean): LogEvent | null {
    this.lineNo++;
    if (start === end) return null;
    const fast = fastEvent(text, start, end, plain);
    if (fast !== null) return fast;
    const line = text.slice(start, end);
    // Blank lines are skipped; trim() only for lines that start blank (it allocates).
    if (line.charCodeAt(0) <= 32 && line.trim().length === 0) return null;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      this.#bad(last ? "truncated last line" : "not valid JSON", line);
      return null;
    }
    const ev = toEvent(parsed);
    if (typeof ev !== "string") return ev;
    this.#bad(ev, line);
    return null;
  }

  #bad(reason: string, line: string): void {
    // A copy, so that the example does not keep the whole chunk it was cut from alive.
    const text = JSON.parse(JSON.stringify(line.slice(0, 120)));
    this.#onBad({ file: this.#path, line: this.lineNo, reason, text });
  }
}

/** The first control character or backslash from `lastIndex` on (test() allocates nothing). */
// deno-lint-ignore no-control-regex
const SPECIAL = /[\u0000-\u001f\\]/g;
const NEWLINE = 0x0a;
const BOM = [0xef, 0xbb, 0xbf];

/** Parses the whole lines of `text` (which ends with a newline) into `batch`. */
function parseLines(text: string, parser: LineParser, batch: LogEvent[]): void {
  let start = 0;
  while (start < text.length) {
    SPECIAL.lastIndex = start;
    SPECIAL.test(text);
    let nl = SPECIAL.lastIndex - 1;
    const plain = text.charCodeAt(nl) === NEWLINE;
    if (!plain) nl = text.indexOf("\n", nl);
    const ev = parser.parse(text, start, nl, false, plain);
    if (ev !== null) batch.push(ev);
    start = nl + 1;
  }
}

function startsWithBom(buf: Uint8Array, at: number, end: number): boolean {
  return end - at >= 3 && buf[at] === BOM[0] && buf[at + 1] === BOM[1] && buf[at + 2] === BOM[2];
}

// Whole lines only are decoded, so no character is ever cut. The default decoder is the fast
// one, but it drops a BOM at the start of each call: a chunk that starts with one (a second
// BOM at the file's start, or one at the start of a line) goes through the exact decoder, so
// that it stays in the line as U+FEFF, as in one decoding of the whole file.
const fastDecoder = new TextDecoder();
const exactDecoder = new TextDecoder("utf-8", { ignoreBOM: true });

function decode(buf: Uint8Array, from: number, end: number): string {
  const decoder = startsWithBom(buf, from, end) ? exactDecoder : fastDecoder;
  return decoder.decode(buf.subarray(from, end));
}

/**
 * The events of buf[from, end) (whole lines, but for a last line without its newline at
 * `eof`), one batch per piece of about 64 KiB cut after a newline: strings and batches that
 * small die young, cheap for the garbage collector, where one 4 MiB string per read costs
 * page faults and events kept for a whole read get promoted.
 */
function* parseChunk(
  buf: Uint8Array,
  from: number,
  end: number,
  eof: boolean,
  parser: LineParser,
): Generator<LogEvent[]> {
  for (let at = from; at < end;) {
    const batch: LogEvent[] = [];
    let cut = end;
    if (end - at > PIECE) {
      cut = buf.subarray(at, at + PIECE).lastIndexOf(NEWLINE) + 1;
      // A line longer than a piece: up to its end.
      cut = cut > 0 ? at + cut : buf.subarray(0, end).indexOf(NEWLINE, at + PIECE) + 1;
      if (cut === 0) cut = end;
    }
    const text = decode(buf, at, cut);
    const whole = cut === end && eof && !text.endsWith("\n")
      ? text.lastIndexOf("\n") + 1
      : text.length;
    parseLines(whole === text.length ? text : text.slice(0, whole), parser, batch);
    if (whole < text.length) {
      // A last line without its newline: used if it is whole, else reported as truncated.
      const ev = parser.parse(text, whole, text.length, true, false);
      if (ev !== null) batch.push(ev);
    }
    at = cut;
    if (batch.length > 0) yield batch;
  }
}

/**
 * Reads into `buf` after its first `kept` bytes until full, at the end of the file, or when
 * `budget` bytes were read (the end of a segment: reported as the end).
 */
async function fill(
  file: Deno.FsFile,
  buf: Uint8Array,
  kept: number,
  path: string,
  budget: Budget,
) {
  let n = kept;
  while (n < buf.length && budget.left > 0) {
    let got: number | null;
    try {
      got = await file.read(buf.subarray(n, Math.min(buf.length, n + budget.left)));
    } catch (err) {
      throw cannotRead(path, err);
    }
    if (got === null) return { n, eof: true };
    n += got;
    budget.left -= got;
  }
  return { n, eof: budget.left <= 0 };
}

/** Bytes left to read of a segment (Infinity: to the end of the file). */
interface Budget {
  left: number;
}

/**
 * Two read buffers a caller lends to {@link readSegmentBatches} for segment after segment
 * (null: it makes its own); it leaves there the ones it ended with (they grow for long lines).
 */
export type ReadBuffers = [Uint8Array | null, Uint8Array | null];

/** Part of a log: bytes [start, end) of `path`; `end` null means to the end of the file. */
export interface LogSegment {
  path: string;
  start: number;
  end: number | null;
}

/**
 * Streams the events of one log (or one segment of it) in batches, in bounded memory: 4 MiB
 * reads, each parsed in 64 KiB pieces (see parseChunk) while the next read is under way; the
 * cut line's bytes move to the front of the next buffer. A line longer than the buffer grows
 * it. A segment starts at a line's start; line numbers count from the segment's start (the
 * caller adds the lines of the segments before it); only a segment at the file's start looks
 * for a BOM, and only the one that reaches the file's end can have a truncated last line.
 */
export async function* readSegmentBatches(
  segment: LogSegment,
  onBad: (bad: BadLine) => void,
  parser = new LineParser(segment.path, onBad),
  buffers?: ReadBuffers,
): AsyncGenerator<LogEvent[]> {
  const { path, start, end } = segment;
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (err) {
    throw cannotRead(path, err);
  }
  try {
    if (start > 0) await file.seek(start, Deno.SeekMode.Start);
  } catch (err) {
    file.close();
    throw cannotRead(path, err);
  }
  const budget: Budget = { left: end === null ? Infinity : end - start };
  // The next chunk is read into the spare buffer while this one is parsed.
  let next: ReturnType<typeof fill> | null = null;
  // A short segment needs no 4 MiB buffers (a longer line grows them as usual).
  const size = end === null ? CHUNK : Math.max(4096, Math.min(CHUNK, end - start));
  let buf = buffers?.[0] ?? new Uint8Array(size);
  let spare = buffers?.[1] ?? new Uint8Array(size);
  try {
    let got = await fill(file, buf, 0, path, budget);
    let first = start === 0;
    for (;;) {
      const { n, eof } = got;
      const end = eof ? n : buf.subarray(0, n).lastIndexOf(NEWLINE) + 1;
      if (end === 0 && !eof) {
        // No newline in a full buffer: one long line; make room for the rest of it.
        const bigger = new Uint8Array(buf.length * 2);
        bigger.set(buf);
        buf = bigger;
        spare = new Uint8Array(buf.length);
        got = await fill(file, buf, n, path, budget);
        continue;
      }
      if (!eof) {
        spare.set(buf.subarray(end, n));
        next = fill(file, spare, n - end, path, budget);
      }
      const from = first && startsWithBom(buf, 0, n) ? 3 : 0;
      first = false;
      yield* parseChunk(buf, from, end, eof, parser);
      if (next === null) return;
      got = await next;
      next = null;
      [buf, spare] = [spare, buf];
    }
  } finally {
    // A read still under way finishes before the file closes (its result is not needed).
    await next?.catch(() => {});
    file.close();
    if (buffers) [buffers[0], buffers[1]] = [buf, spare];
  }
}

/**
 * Streams the events of one or more JSON-lines logs in order, in batches, in bounded memory:
 * files are read in 4 MiB chunks; unusable lines go to `onBad` and never stop the reading.
 * Lines in the server's own shape take a fast path; any other line is parsed with
 * `JSON.parse` and validated by {@link toEvent}, with the same result.
 */
export async function* readEventBatches(
  paths: string[],
  onBad: (bad: BadLine) => void,
): AsyncGenerator<LogEvent[]> {
  for (const path of paths) yield* readSegmentBatches({ path, start: 0, end: null }, onBad);
}

/** Streams the events of one or more logs one at a time (see {@link readEventBatches}). */
export async function* readEvents(
  paths: string[],
  onBad: (bad: BadLine) => void,
): AsyncGenerator<LogEvent> {
  for await (const batch of readEventBatches(paths, onBad)) yield* batch;
}
