import { UsageError } from "./errors.ts";
import { parseSize } from "../load/size.ts";

/**
 * Parses the value of `--name` as a size (`1000`, `512KiB`, `10MB`, `1.5GiB`; binary units are
 * powers of 1024, KB/MB/GB powers of 1000) into bytes, or null for `none`. Throws UsageError
 * for anything else.
 */
export function parseSizeFlag(value: string, name: string): number | null {
  if (value.trim().toLowerCase() === "none") return null;
  const bytes = parseSize(value);
  if (bytes === null) {
    throw new UsageError(
      `Invalid --${name} "${value}": expected a size such as 1000, 512KiB, 10MB, 2GiB, or none`,
    );
  }
  return bytes;
}
