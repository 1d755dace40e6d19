import type { Report } from "./report.ts";

/** The report as one JSON object (docs/report-format.md), pretty-printed. */
export function renderJson(r: Report): string {
  return JSON.stringify(r, null, 2) + "\n";
}
