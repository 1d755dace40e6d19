import assert from "node:assert/strict";
import { logSet } from "../lib/report/log_set.ts";
import { runTool } from "./_helpers.ts";

const line = (ts: string, conn: number) =>
  JSON.stringify({ ts: `2026-11-24T${ts}Z`, event: "connect", ok: true, conn, remote: "a:1" });

/** A rotated set: `log.jsonl` newest, `.1` .. `.11` older and older (12 files, 1 line each). */
async function withRotatedSet(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "fileshare-rotated-" });
  try {
    await Deno.writeTextFile(`${dir}/log.jsonl`, line("12:00:00.000", 100) + "\n");
    for (let n = 1; n <= 11; n++) {
      const hour = String(12 - n).padStart(2, "0");
      await Deno.writeTextFile(`${dir}/log.jsonl.${n}`, line(`${hour}:00:00.000`, 100 - n) + "\n");
    }
    // Not part of the set: numbering stops at the first gap.
    await Deno.writeTextFile(`${dir}/log.jsonl.13`, line("00:00:00.000", 1) + "\n");
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const oldestFirst = (dir: string) => [
  ...Array.from({ length: 11 }, (_, i) => `${dir}/log.jsonl.${11 - i}`),
  `${dir}/log.jsonl`,
];

Deno.test("logSet() reads a rotated set oldest first, however it is named", async () => {
  await withRotatedSet(async (dir) => {
    assert.deepEqual(await logSet([`${dir}/log.jsonl`]), oldestFirst(dir));
    // A shell glob's order (".10" before ".2") and repeats give the same set.
    const glob = [...(await Array.fromAsync(Deno.readDir(dir))).map((e) => `${dir}/${e.name}`)]
      .filter((p) => !p.endsWith(".13")).sort();
    assert.deepEqual(await logSet([...glob, `${dir}/log.jsonl`]), oldestFirst(dir));
    // A rotated file named on its own is read alone; other logs keep their place.
    assert.deepEqual(await logSet([`${dir}/log.jsonl.3`]), [`${dir}/log.jsonl.3`]);
    assert.deepEqual(await logSet([`${dir}/missing.jsonl`, `${dir}/log.jsonl.13`]), [
      `${dir}/missing.jsonl`,
      `${dir}/log.jsonl.13`,
    ]);
  });
});

Deno.test("analysis CLI reports a rotated log set as one log", async () => {
  await withRotatedSet(async (dir) => {
    const r = await runTool("analysis", ["log.jsonl", "--format", "json"], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.deepEqual(report.sources, oldestFirst(dir));
    assert.equal(report.lines.events, 12);
    assert.deepEqual(report.period, {
      from: "2026-11-24T01:00:00.000Z",
      to: "2026-11-24T12:00:00.000Z",
      ms: 11 * 3_600_000,
    });
  });
});
