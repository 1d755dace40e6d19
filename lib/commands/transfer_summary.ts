import type { TransferResult } from "../client/options.ts";
import { formatBytes, formatRate, formatSeconds } from "../cli/format.ts";

/**
 * `uploaded a.bin (1.0 GiB) in 2.1 s, 511 MB/s, sha256 verified`; a resume says how much was
 * already there: `uploaded a.bin (700 MiB, resumed after 324 MiB) in ...`.
 */
export function transferSummary(verb: string, path: string, r: TransferResult): string {
  // --resume that found nothing usable kept (none, another version, a storage without
  // partials) says so: the whole file went.
  const resumed = r.offset === undefined
    ? ""
    : r.offset > 0
    ? `, resumed after ${formatBytes(r.offset)}`
    : ", from the start: nothing usable was kept";
  return `${verb} ${path} (${formatBytes(r.bytes)}${resumed}) in ${formatSeconds(r.ms)}, ${
    formatRate(r.bytes, r.ms)
  }, sha256 verified`;
}

/** A transfer's result for `--json`, with ms to 0.1 (timer noise like 2.2774990006 says nothing). */
export function transferJson(
  op: "upload" | "download",
  paths: { local: string; remote: string },
  r: TransferResult,
): Record<string, unknown> {
  const where = op === "upload"
    ? { local: paths.local, remote: paths.remote }
    : { remote: paths.remote, local: paths.local };
  const json: Record<string, unknown> = {
    op,
    ...where,
    bytes: r.bytes,
    ms: Math.round(r.ms * 10) / 10,
    sha256: r.sha256,
  };
  // A resumed transfer: the bytes that were already in place (verified) before `bytes` more.
  if (r.offset !== undefined) json.offset = r.offset;
  return json;
}
