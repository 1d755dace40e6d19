/**
 * fileshare analysis: turns the server's activity log into a report of transfer rates and
 * times, as text, JSON or a self-contained HTML page with charts.
 *
 * @example
 * ```sh
 * deno task analysis                                  # ./fileshare.jsonl as text
 * deno task analysis server.jsonl --format html --out report.html --since 24h
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { analyze, parseTime } from "./lib/report/analyze.ts";
import { logSet } from "./lib/report/log_set.ts";
import { renderText } from "./lib/report/render_text.ts";
import { renderJson } from "./lib/report/render_json.ts";
import { renderHtml } from "./lib/report/html/render_html.ts";
import { writeReport } from "./lib/report/write_report.ts";
import { reportCliError, UsageError } from "./lib/cli/errors.ts";
import { userPath } from "./lib/cli/paths.ts";
import { parseIntFlag } from "./lib/cli/int_flag.ts";
import { HELP_OPTIONS, helpOrVersion } from "./lib/cli/help.ts";

const USAGE = `Usage: analysis [LOG ...] [options]

Reads fileshare activity logs (default ./fileshare.jsonl) and reports transfer rates and times.
A log's rotated files (LOG.1 newest .. LOG.N oldest) are read with it, oldest first.

Options:
  --format text|json|html   report format (default text)
  --out FILE                write the report to FILE instead of stdout
  --since TIME              only events from TIME on: ISO date/time (UTC unless a zone is
                            given) or an age such as 30m, 2h, 7d
  --until TIME              only events up to TIME (same forms)
  --user NAME               only events of this user
  --workers N               parse with N worker threads beside the report's (default 0;
                            worth trying on 4 or more cores: no gain measured on 2)
  -h, --help                show this help
  --version                 print the version

Examples:
  analysis
  analysis /var/log/fileshare.jsonl --since 2026-11-24 --format json
  analysis --format html --out report.html --user alice`;

const RENDERERS = { text: renderText, json: renderJson, html: renderHtml } as const;

/** Runs the analysis CLI; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        format: { type: "string", default: "text" },
        out: { type: "string" },
        since: { type: "string" },
        until: { type: "string" },
        user: { type: "string" },
        workers: { type: "string" },
        ...HELP_OPTIONS,
      },
    });
    if (helpOrVersion(values, "analysis", USAGE)) return 0;
    const format = values.format as keyof typeof RENDERERS;
    if (!(format in RENDERERS)) {
      throw new UsageError(`Invalid --format "${values.format}": use text, json or html`);
    }
    const time = (flag: "since" | "until") => {
      const text = values[flag];
      if (text === undefined) return undefined;
      const t = parseTime(text);
      if (t === null) {
        throw new UsageError(`Invalid --${flag} "${text}": use an ISO date/time or an age like 2h`);
      }
      return t;
    };
    const since = time("since");
    const until = time("until");
    if (since !== undefined && until !== undefined && since > until) {
      throw new UsageError("--since is after --until");
    }
    const paths = (positionals.length > 0 ? positionals : ["fileshare.jsonl"]).map(userPath);
    const workers = parseIntFlag(values.workers, "workers", { fallback: 0, max: 64 });
    const report = await analyze(await logSet(paths), {
      since,
      until,
      user: values.user,
      workers,
    });
    const text = RENDERERS[format](report);
    if (values.out) {
      const out = userPath(values.out);
      await writeReport(text, out);
      console.error(`wrote ${format} report to ${out}`);
    } else {
      await writeReport(text);
    }
    return 0;
  } catch (err) {
    return reportCliError(err, USAGE);
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
