/** Thrown when the report cannot be written to its `--out` file. */
export class ReportWriteError extends Error {
  /** Creates a report write error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ReportWriteError";
  }
}

async function writeAll(w: { write(p: Uint8Array): Promise<number> }, bytes: Uint8Array) {
  // write() may take only part of a large buffer (pipes): loop until all of it is out.
  let off = 0;
  while (off < bytes.length) off += await w.write(bytes.subarray(off));
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
    const why = err instanceof Deno.errors.NotFound
      ? "its folder does not exist"
      : err instanceof Deno.errors.PermissionDenied
      ? "permission denied"
      : err instanceof Deno.errors.IsADirectory
      ? "it is a folder"
      : err instanceof Error
      ? err.message
      : String(err);
    throw new ReportWriteError(`Cannot write report "${path}": ${why}`, { cause: err });
  }
}
