/** Messages between {@link readEventsParallel} and its parsing workers. */
import type { EventColumns } from "./_event_columns.ts";
import type { BadLine, LogSegment } from "./read_log.ts";

/** To a worker: parse a segment (queued), or one batch was taken (the worker may go on). */
export type ToWorker =
  | { type: "parse"; id: number; segment: LogSegment }
  | { type: "credit" };

/** From a worker, about segment `id`: events, an unusable line, its end, or a read error. */
export type FromWorker =
  | { type: "batch"; id: number; columns: EventColumns }
  | { type: "bad"; id: number; bad: BadLine }
  | { type: "done"; id: number; lines: number }
  | { type: "error"; id: number; message: string };
