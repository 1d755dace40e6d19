/**
 * Benchmark (f): analysis of a generated N-line log whose lines look exactly like the
 * server's (bench/gen_log.ts; by default `--mix transfers`: nearly every line an upload or a
 * download with its SHA-256, about 270 bytes each), run as the real `analysis.ts` with its
 * task's permission flags; reports wall time (process start included) and the child's peak RSS
 * (VmHWM, polled from /proc).
 *
 * @example
 * ```sh
 * deno run -A bench/analysis_bench.ts --lines 1000000 --format json
 * deno run -A bench/analysis_bench.ts --lines 1000000 --format text --mix mixed
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { parseMix, type SampleLogOptions, writeSampleLog } from "./gen_log.ts";
import { peakRssMiB } from "./_proc.ts";
import { permissionFlags } from "../tools/permissions.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

/** Result of one analysis benchmark. */
export interface AnalysisBenchResult {
  lines: number;
  /** Size of the log in bytes. */
  logBytes: number;
  format: "json" | "text" | "html";
  ms: number;
  peakRssMiB: number;
  linesPerSec: number;
}

/** What to measure. */
export interface AnalysisBenchOptions {
  /** Report format (default json). */
  format?: "json" | "text" | "html";
  /** Kind of generated log (default transfers). */
  mix?: SampleLogOptions["mix"];
}

/** Runs analysis.ts on `log` and measures it; `expected` is the count of lines in the log. */
async function timeAnalysis(log: string, out: string, format: string, expected: number) {
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...permissionFlags("analysis"),
      "--no-prompt",
      "--config",
      `${ROOT}/deno.json`,
      `${ROOT}/analysis.ts`,
      log,
      "--format",
      format,
      "--out",
      out,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const peak = peakRssMiB(child.pid, child.status);
  const [status, stderr, rss] = await Promise.all([child.status, child.stderr.text(), peak]);
  const ms = performance.now() - started;
  if (!status.success) throw new Error(`analysis failed: ${stderr}`);
  if (format === "json") {
    const report = JSON.parse(await Deno.readTextFile(out));
    if (report.lines.events !== expected) {
      throw new Error(`analysed ${report.lines.events} of ${expected} lines`);
    }
  }
  return { ms, rss };
}

/** Generates an N-line log and times `analysis.ts --format FORMAT` on it. */
export async function benchAnalysis(
  lines: number,
  options: AnalysisBenchOptions = {},
): Promise<AnalysisBenchResult> {
  const format = options.format ?? "json";
  const dir = await Deno.makeTempDir({ prefix: "fileshare-analysis-bench-" });
  try {
    const log = `${dir}/log.jsonl`;
    const written = await writeSampleLog(log, {
      lines,
      spanMs: 24 * 3_600_000,
      mix: options.mix ?? "transfers",
    });
    const { ms, rss } = await timeAnalysis(log, `${dir}/report.${format}`, format, written);
    return {
      lines: written,
      logBytes: (await Deno.stat(log)).size,
      format,
      ms: Math.round(ms),
      peakRssMiB: rss,
      linesPerSec: Math.round(written / (ms / 1000)),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      lines: { type: "string", default: "1000000" },
      format: { type: "string", default: "json" },
      mix: { type: "string", default: "transfers" },
    },
  });
  const format = values.format;
  if (format !== "json" && format !== "text" && format !== "html") {
    throw new TypeError(`Invalid --format "${format}": use json, text or html`);
  }
  const r = await benchAnalysis(Number(values.lines), { format, mix: parseMix(values.mix) });
  console.log(JSON.stringify(r));
}
