/**
 * Benchmark (f): analysis of a generated N-line log, run as the real `analysis.ts` with its
 * permission set; reports wall time and the child's peak RSS (VmHWM, polled from /proc).
 *
 * @example
 * ```sh
 * deno run -A bench/analysis_bench.ts --lines 1000000
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { writeSampleLog } from "./gen_log.ts";
import { peakRssMiB } from "./_proc.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

/** Result of one analysis benchmark. */
export interface AnalysisBenchResult {
  lines: number;
  ms: number;
  peakRssMiB: number;
  linesPerSec: number;
}

/** Generates an N-line log and times `analysis.ts --format json` on it. */
export async function benchAnalysis(lines: number): Promise<AnalysisBenchResult> {
  const dir = await Deno.makeTempDir({ prefix: "fileshare-analysis-bench-" });
  try {
    const log = `${dir}/log.jsonl`;
    const written = await writeSampleLog(log, { lines, spanMs: 24 * 3_600_000 });
    const started = performance.now();
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-P=analysis",
        "--no-prompt",
        "--config",
        `${ROOT}/deno.json`,
        `${ROOT}/analysis.ts`,
        log,
        "--format",
        "json",
        "--out",
        `${dir}/report.json`,
      ],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const peak = peakRssMiB(child.pid, child.status);
    const [status, stderr, rss] = await Promise.all([child.status, child.stderr.text(), peak]);
    const ms = performance.now() - started;
    if (!status.success) throw new Error(`analysis failed: ${stderr}`);
    const report = JSON.parse(await Deno.readTextFile(`${dir}/report.json`));
    if (report.lines.events !== written) {
      throw new Error(`analysed ${report.lines.events} of ${written} lines`);
    }
    return {
      lines: written,
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
    options: { lines: { type: "string", default: "1000000" } },
  });
  console.log(JSON.stringify(await benchAnalysis(Number(values.lines))));
}
