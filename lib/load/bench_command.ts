import { parseArgs } from "node:util";
import { reportCliError, UsageError } from "../cli/errors.ts";
import { DEFAULT_SERVER, parseServerAddress } from "../cli/address.ts";
import { credentials, env } from "../cli/credentials.ts";
import { formatBytes, formatSeconds } from "../cli/format.ts";
import { type LoadOp, type LoadResult, runLoad } from "./run_load.ts";
import { parseSize } from "./size.ts";
import { stdinIsTerminal } from "../cli/password.ts";
import { TRUST_FLAGS, trustFromFlags } from "../cli/trust_flags.ts";
import { parseIntFlag } from "../cli/int_flag.ts";
import { helpOrVersion } from "../cli/help.ts";

/** Usage of `client bench`. */
export const BENCH_USAGE = `Usage: client bench [options]

Load test against a running server: N concurrent logged-in clients each move M files of
SIZE, every transfer SHA-256 verified. The run is marked in the server's activity log.

Options:
  --clients N        concurrent connections (default 4)
  --files M          files per client (default 4)
  --size SIZE        bytes per file: 4096, 4KiB, 16MiB, 1GiB, 100MB (default 1MiB)
  --op OP            upload, download or mixed (default upload)
  --json             print one JSON object instead of the table
  --keep             keep the run's folder (bench-RUN) on the server
  --server, --user, --password-stdin, --ca, --trust, --no-tls   as for every client command

Example:
  client bench --clients 8 --files 4 --size 16MiB --op mixed`;

function ms(v: number | null): string {
  return v === null ? "n/a" : v >= 100 ? v.toFixed(0) : v.toFixed(1);
}

/** The result of a run as the aligned table `client bench` prints. */
export function benchTable(r: LoadResult): string {
  return [
    `client bench: ${r.clients} clients x ${r.files} files x ${
      formatBytes(r.size)
    }, ${r.op} (run ${r.run})`,
    `  operations  ${r.ops} (${r.errors} errors)`,
    `  bytes       ${r.bytes} (${formatBytes(r.bytes)})`,
    `  wall time   ${formatSeconds(r.ms)}`,
    `  aggregate   ${r.mbps.toFixed(r.mbps >= 100 ? 0 : 1)} MB/s`,
    `  latency ms  p50 ${ms(r.latencyMs.p50)}  p95 ${ms(r.latencyMs.p95)}  p99 ${
      ms(r.latencyMs.p99)
    }  ` +
    `(min ${ms(r.latencyMs.min)}, max ${ms(r.latencyMs.max)})`,
    ...r.errorSamples.map((e) => `  error: ${e}`),
  ].join("\n");
}

/** `client bench ...`; returns the exit code (1 when any operation failed, 2 on usage). */
export async function benchMain(args: string[]): Promise<number> {
  try {
    return await bench(args);
  } catch (err) {
    return reportCliError(err, BENCH_USAGE);
  }
}

async function bench(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      clients: { type: "string" },
      files: { type: "string" },
      size: { type: "string", default: "1MiB" },
      op: { type: "string", default: "upload" },
      json: { type: "boolean", default: false },
      keep: { type: "boolean", default: false },
      server: { type: "string" },
      user: { type: "string" },
      "password-stdin": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
      ...TRUST_FLAGS,
    },
  });
  if (helpOrVersion({ help: values.help }, "client", BENCH_USAGE)) return 0;
  if (positionals.length > 0) throw new UsageError(`Unexpected argument "${positionals[0]}"`);
  const clients = parseIntFlag(values.clients, "clients", { fallback: 4, min: 1, max: 4096 });
  const files = parseIntFlag(values.files, "files", { fallback: 4, min: 1, max: 1_000_000 });
  const size = parseSize(values.size);
  if (size === null) {
    throw new UsageError(`Invalid --size "${values.size}": use e.g. 4KiB, 16MiB, 1GiB`);
  }
  if (!["upload", "download", "mixed"].includes(values.op)) {
    throw new UsageError(`Invalid --op "${values.op}": use upload, download or mixed`);
  }
  const address = parseServerAddress(values.server ?? env("FILESHARE_SERVER") ?? DEFAULT_SERVER);
  const { user, password } = await credentials(values);
  const tls = await trustFromFlags(values, stdinIsTerminal() && !values["password-stdin"]);
  const result = await runLoad({
    tls,
    ...address,
    user,
    password,
    clients,
    files,
    size,
    op: values.op as LoadOp,
    keep: values.keep,
  });
  console.log(values.json ? JSON.stringify(result) : benchTable(result));
  return result.errors === 0 ? 0 : 1;
}
