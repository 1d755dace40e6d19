/** The part of `upload` and `download` of many files that they share: run, count, sum up. */
import { FileshareError } from "../protocol/errors.ts";
import { errorLine } from "../cli/errors.ts";
import { type BatchProgress, batchSummary } from "../cli/batch_progress.ts";
import type { BatchOptions, BatchOutcome } from "../client/pipeline.ts";
import type { CommandContext, CommandOutput } from "./command.ts";

/** One batch of transfers, ready to run. */
export interface BatchRun<J> {
  op: "upload" | "download";
  /** Past tense for the summary ("uploaded"). */
  verb: string;
  progress: BatchProgress;
  /** When the command started (performance.now()). */
  started: number;
  /** Files skipped before the batch (links, unusable names). */
  skipped: number;
  /** Failures so far; `fail` reports one more (the batch's own go through it too). */
  failed: () => number;
  fail: (line: string) => void;
  /** Runs the transfers with the given hooks (the client's uploadFiles or downloadFiles). */
  run: (hooks: Pick<BatchOptions, "onBytes" | "onOutcome">) => Promise<BatchOutcome<J>[]>;
  /** The job's local and remote names, for the JSON list of failures. */
  names: (job: J) => { local: string; remote: string };
}

/** Runs the batch with a progress line and returns the command's summary (text and JSON). */
export async function runBatch<J>(ctx: CommandContext, b: BatchRun<J>): Promise<CommandOutput> {
  let files = 0;
  let bytes = 0;
  const outcomes = await b.run({
    onBytes: (n) => b.progress.bytes(n),
    onOutcome: (o) => {
      if (o.error === undefined) {
        files++;
        bytes += o.result?.bytes ?? 0;
      } else {
        b.progress.above(errorLine(o.error), b.fail);
      }
      b.progress.fileDone();
    },
  });
  b.progress.clear();
  const ms = performance.now() - b.started;
  if (ctx.signal?.aborted) throw new FileshareError("CANCELLED", "Transfer cancelled");
  const failed = b.failed();
  const totals = { files, bytes, ms, skipped: b.skipped, failed };
  return {
    text: batchSummary(b.verb, totals),
    json: {
      op: b.op,
      ...totals,
      ms: Math.round(ms * 10) / 10,
      failures: outcomes.filter((o) => o.error !== undefined).map((o) => ({
        ...b.names(o.job),
        error: errorLine(o.error),
      })),
    },
    failed: failed > 0 ? `${failed} of ${failed + files} files failed` : undefined,
  };
}
