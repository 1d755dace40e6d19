import assert from "node:assert/strict";
import { analyze } from "../lib/report/analyze.ts";
import { readEventsParallel } from "../lib/report/parallel_read.ts";
import { type LogEvent, LogReadError, readEvents } from "../lib/report/read_log.ts";
import { planSegments } from "../lib/report/_segments.ts";
import { writeSampleLog } from "../bench/gen_log.ts";
import type { Report } from "../lib/report/report.ts";
import { runTool } from "./_helpers.ts";

/** The report without the time it was made. */
function figures(r: Report): Omit<Report, "generated"> {
  const { generated: _, ...rest } = r;
  return rest;
}

/** A log of sample lines with bad, blank, CRLF, escaped and over-long lines among them. */
async function messyLog(path: string, seed: number, bom: boolean): Promise<void> {
  await writeSampleLog(path, { lines: 2000, seed });
  const lines = (await Deno.readTextFile(path)).split("\n").slice(0, -1);
  const out: string[] = [];
  lines.forEach((l, i) => {
    out.push(i % 97 === 5 ? l.slice(0, 40) : l);
    if (i % 311 === 0) out.push("", "  ", l + "\r");
    if (i % 503 === 0) out.push(l.replace(/"path":"([^"]*)"/, '"path":"\\u00e9$1"'));
    if (i === 1500) out.push(l.replace(/"path":"[^"]*"/, `"path":"${"x".repeat(9000)}"`));
  });
  await Deno.writeTextFile(path, (bom ? "\ufeff" : "") + out.join("\n") + '\n{"ts":');
}

Deno.test("analyze() with parsing workers gives the same report as in one thread", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fileshare-parallel-" });
  try {
    await messyLog(`${dir}/a.jsonl`, 11, true);
    await messyLog(`${dir}/b.jsonl`, 12, false);
    const paths = [`${dir}/a.jsonl`, `${dir}/b.jsonl`];
    const segments = await planSegments(paths, 8192);
    assert.ok(segments.length > 50, `${segments.length} segments`);
    const one = await analyze(paths, { workers: 0 });
    // The same log gives the same figures every time, to the last bit (the means were summed
    // after a random reordering once).
    assert.deepEqual(figures(await analyze(paths, { workers: 0 })), figures(one));
    assert.ok(one.lines.bad > 40, `${one.lines.bad} bad lines`);
    for (const workers of [1, 3]) {
      const many = await analyze(paths, { workers, segmentSize: 8192 });
      assert.deepEqual(figures(many), figures(one), `${workers} workers`);
    }
    const filtered = await analyze(paths, { workers: 2, segmentSize: 8192, user: "bob" });
    assert.deepEqual(figures(filtered), figures(await analyze(paths, { workers: 0, user: "bob" })));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readEventsParallel() hands on the events in log order with their line numbers", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fileshare-parallel-" });
  try {
    await messyLog(`${dir}/a.jsonl`, 5, false);
    const want: LogEvent[] = [];
    const wantBad: unknown[] = [];
    for await (const e of readEvents([`${dir}/a.jsonl`], (b) => wantBad.push(b))) want.push(e);
    const got: string[] = [];
    const gotBad: unknown[] = [];
    await readEventsParallel(
      [`${dir}/a.jsonl`],
      (e) => {
        got.push(`${e.t} ${e.event} ${e.ok} ${e.conn} ${e.bytes} ${e.user}`);
      },
      (b) => gotBad.push(b),
      { workers: 2, segmentSize: 4096 },
    );
    assert.deepEqual(
      got,
      want.map((e) => `${e.t} ${e.event} ${e.ok} ${e.conn} ${e.bytes} ${e.user}`),
    );
    assert.deepEqual(gotBad, wantBad);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("analyze() with parsing workers reports an unreadable log as one thread does", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fileshare-parallel-" });
  try {
    await messyLog(`${dir}/a.jsonl`, 3, false);
    const paths = [`${dir}/a.jsonl`, `${dir}/missing.jsonl`];
    const one = await analyze(paths, { workers: 0 }).catch((e) => e);
    const many = await analyze(paths, { workers: 2, segmentSize: 8192 }).catch((e) => e);
    assert.ok(one instanceof LogReadError && many instanceof LogReadError);
    assert.equal(many.message, one.message);
    assert.match(many.message, /missing\.jsonl/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("analysis --workers N gives the same report as without, and refuses a bad count", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fileshare-parallel-" });
  try {
    await messyLog(`${dir}/a.jsonl`, 9, false);
    const plain = await runTool("analysis", ["a.jsonl", "--format", "json"], { cwd: dir });
    const many = await runTool("analysis", ["a.jsonl", "--format", "json", "--workers", "2"], {
      cwd: dir,
    });
    assert.equal(many.code, 0, many.stderr);
    const strip = (text: string) => ({ ...JSON.parse(text), generated: null });
    assert.deepEqual(strip(many.stdout), strip(plain.stdout));
    const bad = await runTool("analysis", ["a.jsonl", "--workers", "two"], { cwd: dir });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Invalid --workers "two"/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
