import { fileErrorReason } from "./_file_error.ts";
import { writeAll } from "../write_all.ts";
/** Thrown when the report cannot be written to its `--out` file. */
export class ReportWriteError extends Error {
  /** Creates a report write error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ReportWriteError";
  }
}

/**
 * Writes the report to `path`, or to stdout when `path` is undefined. A reader that closed
 * stdout early (`analysis | head`) is not an error.
 */
export async function writeReport(text: string, path?: string): Promise<void> {
  const bytes = new TextEncoder().encode(text);
  if (path === undefined) {
    try {
      await writeAll(Deno.stdout, bytes);
    } catch (err) {
      if (!(err instanceof Deno.errors.BrokenPipe)) throw err;
    }
    return;
  }
  try {
    using file = await Deno.open(path, { write: true, create: true, truncate: true });
    await writeAll(file, bytes);
  } catch (err) {
    const why = fileErrorReason(err, "its folder does not exist");
    throw new ReportWriteError(`Cannot write report "${path}": ${why}`, { cause: err });
  }
}
