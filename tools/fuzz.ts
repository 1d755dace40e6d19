/**
 * `deno task fuzz`: at least 100,000 mutated frames against a live child-process server while
 * a well-behaved client keeps working. Exits 1 if the server died, the good client failed,
 * the server's memory grew past the bound, or anything outside the root changed.
 *
 * @example
 * ```sh
 * deno task fuzz
 * deno task fuzz --frames 20000 --seed 7
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { runFuzz } from "../tests/_fuzz.ts";

/** Server RSS the run may not exceed (MiB). */
const RSS_BOUND_MIB = 300;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      frames: { type: "string", default: "100000" },
      seed: { type: "string", default: "1" },
      parallel: { type: "string", default: "8" },
    },
  });
  const frames = Number(values.frames);
  const seed = Number(values.seed);
  const parallel = Number(values.parallel);
  for (const [name, v] of [["frames", frames], ["seed", seed], ["parallel", parallel]] as const) {
    if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`Invalid --${name} "${v}"`);
  }
  const r = await runFuzz({ frames, seed, parallel, log: (l) => console.log(l) });
  console.log(
    `fuzz: ${r.frames} frames on ${r.connections} connections in ${(r.ms / 1000).toFixed(0)} s; ` +
      `server alive: ${r.serverAlive}; peak RSS ${r.peakRssMiB} MiB; ` +
      `good client: ${r.goodRounds} rounds, ${r.goodFailures.length} failures; ` +
      `changed outside the root: ${r.outsideChanged.length}`,
  );
  for (const f of r.goodFailures.slice(0, 5)) console.log(`  good client failure: ${f}`);
  for (const p of r.outsideChanged.slice(0, 5)) console.log(`  changed outside: ${p}`);
  const ok = r.serverAlive && r.goodFailures.length === 0 && r.outsideChanged.length === 0 &&
    r.peakRssMiB < RSS_BOUND_MIB && r.frames >= frames;
  console.log(ok ? "fuzz: ok" : "fuzz: FAILED");
  return ok ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main());
