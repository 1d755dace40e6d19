/**
 * Soak: server memory while it holds many stalled transfers (issue 11, point 4). Half the
 * connections stall in the middle of an upload's DATA frame, half never read a download.
 *
 * @example
 * ```sh
 * deno task bench:stalled            # 4,096 stalled transfers (the default connection cap)
 * deno task bench:stalled --n 400
 * deno task bench:stalled --no-tls   # the same in clear text
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { writeRandomFile } from "../tests/_helpers.ts";
import { holdStalledTransfers, openFds, rssMiB, startTarget } from "../tests/_hostile.ts";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { n: { type: "string", default: "4096" }, "no-tls": { type: "boolean" } },
  });
  const plain = values["no-tls"] === true;
  const n = Number(values.n);
  if (!Number.isSafeInteger(n) || n < 2) throw new RangeError(`Invalid --n "${values.n}"`);
  // No rate or stall limit and room for n connections from one address: this measures what a
  // stalled transfer costs, not how soon the limits cut it.
  await using target = await startTarget([
    ...(plain ? ["--no-tls"] : []),
    "--min-rate",
    "0",
    "--stall-timeout",
    "86400",
    "--idle-timeout",
    "86400",
    "--max-per-address",
    String(n + 8),
    "--max-connections",
    String(Math.max(4096, n + 8)),
    "--max-unauthenticated",
    "64",
  ]);
  await writeRandomFile(`${target.root}/big.bin`, 64 << 20);
  await new Promise((r) => setTimeout(r, 500));
  const before = rssMiB(target.pid);
  const conns = await holdStalledTransfers(target.port, n, "big.bin", plain);
  await new Promise((r) => setTimeout(r, 3000));
  const after = rssMiB(target.pid);
  console.log(
    `server RSS: ${before} MiB idle, ${after} MiB holding ${n} stalled transfers ` +
      `(+${after - before} MiB, ${openFds(target.pid)} descriptors, ${
        plain ? "clear text" : "TLS"
      })`,
  );
  for (const c of conns) c.close();
}

if (import.meta.main) await main();
