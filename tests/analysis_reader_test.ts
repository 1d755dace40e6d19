import assert from "node:assert/strict";
import { type BadLine, readEvents, toEvent } from "../lib/report/read_log.ts";
import type { LogEvent } from "../lib/report/log_event.ts";
import { writeSampleLog } from "../bench/gen_log.ts";
import { startServer } from "./_helpers.ts";

/** What the exact path (JSON.parse, then toEvent) makes of each line of `text`. */
function reference(text: string): { events: LogEvent[]; bad: { line: number; reason: string }[] } {
  const events: LogEvent[] = [];
  const bad: { line: number; reason: string }[] = [];
  const lines = text.split("\n");
  const last = text.endsWith("\n") ? lines.length - 1 : lines.length;
  for (let i = 0; i < last; i++) {
    const line = lines[i];
    if (line.length === 0 || (line.charCodeAt(0) <= 32 && line.trim().length === 0)) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      const truncated = i === lines.length - 1;
      bad.push({ line: i + 1, reason: truncated ? "truncated last line" : "not valid JSON" });
      continue;
    }
    const ev = toEvent(parsed);
    if (typeof ev === "string") bad.push({ line: i + 1, reason: ev });
    else events.push(ev);
  }
  return { events, bad };
}

/** Deterministic small mutations of a line: what a torn write, an editor or an attacker does. */
function mutate(line: string, random: () => number): string {
  const at = Math.floor(random() * line.length);
  const pieces = [
    '"',
    "\\",
    "{",
    "}",
    ",",
    ":",
    "0",
    "-",
    "1e3",
    " ",
    "\t",
    "é",
    "\\u0041",
    "null",
  ];
  switch (Math.floor(random() * 7)) {
    case 0:
      return line.slice(0, at) + line.slice(at + 1);
    case 1:
      return line.slice(0, at) + pieces[Math.floor(random() * pieces.length)] + line.slice(at);
    case 2:
      return line.slice(0, at);
    case 3:
      return line.replace(/"ok":(true|false)/, '"ok":"yes"');
    case 5:
      return line.replace('"ms":', '"ms":-');
    case 4:
      return line.replace('{"ts"', '{"ts":"2026-11-24T10:00:00.000Z","ts"');
    default:
      return line.replace(/"(bytes|size|conn)":(\d+)/, '"$1":$2.5e1');
  }
}

Deno.test("readEvents() gives exactly what JSON.parse and toEvent() give, line by line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fileshare-reader-" });
  try {
    await writeSampleLog(`${dir}/sample.jsonl`, { lines: 3000, seed: 7 });
    const sample = (await Deno.readTextFile(`${dir}/sample.jsonl`)).split("\n").slice(0, -1);
    let x = 12345;
    const random = () => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) / 0x100000000;
    };
    // Every sample line as written, then 3,000 mutated ones, CRLF ends and blank lines between.
    const mutated = sample.map((l) => (random() < 0.8 ? mutate(l, random) : l));
    const escapes = sample.slice(0, 200).map((l) =>
      l.replace(/"path":"([^"]*)"/, '"path":"\\u00e9\\"$1\\\\"')
    );
    const text = [...sample, ...mutated, "", "  ", ...escapes.map((l) => l + "\r"), '{"ts":'].join(
      "\n",
    );
    await Deno.writeTextFile(`${dir}/mixed.jsonl`, text);
    const want = reference(text);
    const bad: BadLine[] = [];
    const events: LogEvent[] = [];
    for await (const e of readEvents([`${dir}/mixed.jsonl`], (b) => bad.push(b))) events.push(e);
    assert.ok(
      want.bad.length > 800 && want.events.length > 4000,
      `${want.bad.length} ${want.events.length}`,
    );
    assert.deepEqual(bad.map((b) => ({ line: b.line, reason: b.reason })), want.bad);
    assert.equal(events.length, want.events.length);
    for (let i = 0; i < events.length; i++) assert.deepEqual(events[i], want.events[i], `#${i}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeSampleLog() writes transfer lines with the server's fields in its order", async () => {
  await using srv = await startServer();
  const client = await srv.connect("alice");
  const dir = await Deno.makeTempDir({ prefix: "fileshare-sample-" });
  try {
    await Deno.writeTextFile(`${dir}/a.txt`, "hello");
    await client.uploadFile(`${dir}/a.txt`, "a.txt");
    await client.uploadFile(`${dir}/a.txt`, "a.txt").catch(() => {});
    await client.downloadFile("a.txt", `${dir}/b.txt`);
    await client.downloadFile("missing.txt", `${dir}/c.txt`).catch(() => {});
    await client.close();
    const shape = (o: Record<string, unknown>) =>
      `${o.event} ${o.ok} ${o.code ?? ""}: ${Object.keys(o).filter((k) => k !== "run").join(",")}`;
    const server = new Set((await srv.logLines()).map(shape));
    await writeSampleLog(`${dir}/sample.jsonl`, { lines: 4000, seed: 3 });
    const sample = (await Deno.readTextFile(`${dir}/sample.jsonl`)).split("\n").slice(0, -1)
      .map((l) => JSON.parse(l));
    // Each kind of transfer line the server wrote here appears in the sample exactly so.
    const kinds = [...server].filter((s) => /^(upload|download) /.test(s));
    assert.equal(kinds.length, 4, [...server].join("\n"));
    const sampled = new Set(sample.map(shape));
    for (const k of kinds) assert.ok(sampled.has(k), `sample lacks ${k}`);
    const transfers = sample.filter((o) => o.event === "upload" && o.ok);
    assert.ok(transfers.every((o) => /^[0-9a-f]{64}$/.test(o.sha256)));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readEvents() reads a BOM and a first line longer than its read buffer", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fileshare-reader-" });
  try {
    const big = JSON.stringify({
      ts: "2026-11-24T10:00:00.000Z",
      event: "dir",
      ok: true,
      user: "x".repeat(9 * 1024 * 1024),
      path: "",
    });
    const next = JSON.stringify({ ts: "2026-11-24T10:00:01.000Z", event: "mkdir", ok: true });
    await Deno.writeTextFile(`${dir}/a.jsonl`, `\uFEFF${big}\n${next}\n\uFEFF${next}\n`);
    const bad: BadLine[] = [];
    const events: LogEvent[] = [];
    for await (const e of readEvents([`${dir}/a.jsonl`], (b) => bad.push(b))) events.push(e);
    assert.deepEqual(events.map((e) => e.event), ["dir", "mkdir"]);
    assert.equal(events[0].user?.length, 9 * 1024 * 1024);
    // A BOM anywhere but at the start is part of its line, as JSON.parse sees it.
    assert.deepEqual(bad.map((b) => [b.line, b.reason]), [[3, "not valid JSON"]]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
