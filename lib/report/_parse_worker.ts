/**
 * The parsing worker of {@link readEventsParallel}: parses the segments it is given, in the
 * order given, and posts their events in columns, at most a few batches ahead of the reader.
 */
import { ColumnWriter } from "./_event_columns.ts";
import type { BadLine, LogSegment } from "./read_log.ts";
import { LineParser, type ReadBuffers, readSegmentBatches } from "./read_log.ts";
import type { FromWorker, ToWorker } from "./_worker_messages.ts";

/** The worker's global scope, as much of it as is used (this file is checked as a module). */
interface WorkerScope {
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
}

const scope = globalThis as unknown as WorkerScope;
/** Events per batch posted. */
const BATCH = 8192;
/** Batches posted and not yet taken by the reader before the worker waits. */
const AHEAD = 8;

/** One writer for all segments: its string table lives as long as the reader's. */
const writer = new ColumnWriter(BATCH);
/** Read buffers kept from segment to segment (allocating 8 MiB per segment cost page faults). */
const buffers: ReadBuffers = [null, null];
let ahead = 0;
let wake: (() => void) | null = null;
const queue: { id: number; segment: LogSegment }[] = [];
let running = false;

scope.onmessage = (e) => {
  const m = e.data;
  if (m.type === "credit") {
    ahead--;
    wake?.();
    wake = null;
    return;
  }
  queue.push({ id: m.id, segment: m.segment });
  if (!running) void drain();
};

async function drain(): Promise<void> {
  running = true;
  while (queue.length > 0) {
    const { id, segment } = queue.shift()!;
    await parse(id, segment);
  }
  running = false;
}

async function post(id: number): Promise<void> {
  const { columns, transfer } = writer.take();
  scope.postMessage({ type: "batch", id, columns }, transfer);
  ahead++;
  while (ahead >= AHEAD) await new Promise<void>((resolve) => wake = resolve);
}

async function parse(id: number, segment: LogSegment): Promise<void> {
  const onBad = (bad: BadLine) => scope.postMessage({ type: "bad", id, bad });
  const parser = new LineParser(segment.path, onBad);
  try {
    for await (const batch of readSegmentBatches(segment, onBad, parser, buffers)) {
      for (const e of batch) {
        writer.add(e);
        if (writer.full) await post(id);
      }
    }
    if (writer.count > 0) await post(id);
    scope.postMessage({ type: "done", id, lines: parser.lineNo });
  } catch (err) {
    scope.postMessage({
      type: "error",
      id,
      message: err instanceof Error ? err.message : String(err),
    });
  }
}
