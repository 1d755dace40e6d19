import assert from "node:assert/strict";
import { analyze, parseTime } from "../lib/report/analyze.ts";
import { type BadLine, readEvents, toEvent } from "../lib/report/read_log.ts";
import { rateHistogram } from "../lib/report/rate_histogram.ts";
import { summarize } from "../lib/report/summary.ts";
import { percentile } from "../lib/percentile.ts";
import { renderHtml } from "../lib/report/html/render_html.ts";
import { renderJson } from "../lib/report/render_json.ts";
import { renderText } from "../lib/report/render_text.ts";
import denoConfig from "../deno.json" with { type: "json" };
import { ROOT, runTool } from "./_helpers.ts";
import { chromium } from "./_chromium.ts";
import { writeAll } from "../lib/write_all.ts";

const T = (hms: string) => `2026-11-24T${hms}Z`;
const line = (o: Record<string, unknown>) => JSON.stringify(o);

/** A small log whose figures are computed by hand in the tests below. */
const MAIN_LOG = [
  line({ ts: T("10:00:00.000"), event: "server_start", ok: true, pid: 1, port: 9000 }),
  line({ ts: T("10:00:01.000"), event: "connect", ok: true, conn: 1, remote: "10.0.0.1:5000" }),
  line({
    ts: T("10:00:02.000"),
    event: "auth_ok",
    ok: true,
    conn: 1,
    remote: "10.0.0.1:5000",
    user: "alice",
  }),
  line({
    ts: T("10:00:10.000"),
    event: "upload",
    ok: true,
    conn: 1,
    user: "alice",
    path: "a.bin",
    bytes: 1_000_000,
    size: 1_000_000,
    ms: 100,
  }),
  line({
    ts: T("10:01:10.000"),
    event: "upload",
    ok: true,
    conn: 1,
    user: "alice",
    path: "b.bin",
    bytes: 4_000_000,
    size: 4_000_000,
    ms: 200,
  }),
  line({
    ts: T("10:01:20.000"),
    event: "download",
    ok: true,
    conn: 1,
    user: "alice",
    path: "a.bin",
    bytes: 1_000_000,
    size: 1_000_000,
    ms: 50,
  }),
  line({ ts: T("10:01:30.000"), event: "connect", ok: true, conn: 2, remote: "10.0.0.2:6000" }),
  // Two failed logins from one address, a second apart.
  ...["10:01:31.000", "10:01:32.000"].map((hms) =>
    line({
      ts: T(hms),
      event: "auth_fail",
      ok: false,
      conn: 2,
      remote: "10.0.0.2:6000",
      user: "mallory",
      code: "AUTH_FAILED",
      message: "Authentication failed",
    })
  ),
  line({ ts: T("10:01:33.000"), event: "connect", ok: true, conn: 3, remote: "10.0.0.2:6001" }),
  line({
    ts: T("10:01:34.000"),
    event: "auth_ok",
    ok: true,
    conn: 3,
    remote: "10.0.0.2:6001",
    user: "bob",
  }),
  line({
    ts: T("10:02:00.000"),
    event: "download",
    ok: true,
    conn: 3,
    user: "bob",
    path: "a.bin",
    bytes: 2_000_000,
    size: 2_000_000,
    ms: 400,
  }),
  line({
    ts: T("10:02:05.000"),
    event: "download",
    ok: false,
    conn: 3,
    user: "bob",
    path: "missing",
    bytes: 0,
    ms: 1,
    code: "NOT_FOUND",
    message: 'Cannot download "missing": not found',
  }),
  line({
    ts: T("10:02:06.000"),
    event: "upload",
    ok: false,
    conn: 3,
    user: "bob",
    path: "x",
    bytes: 0,
    size: 5,
    ms: 0.5,
    code: "DENIED",
    message: "read-only",
  }),
  line({
    ts: T("10:02:07.000"),
    event: "disconnect",
    ok: true,
    conn: 2,
    remote: "10.0.0.2:6000",
    ms: 2000,
  }),
  line({
    ts: T("10:02:08.000"),
    event: "disconnect",
    ok: true,
    conn: 1,
    remote: "10.0.0.1:5000",
    user: "alice",
    ms: 126000,
  }),
  line({
    ts: T("10:02:09.000"),
    event: "disconnect",
    ok: true,
    conn: 3,
    remote: "10.0.0.2:6001",
    user: "bob",
    ms: 35000,
  }),
  "{not json",
  line({ ts: T("10:02:10.000"), event: "teleport", ok: true }),
  line({ ts: T("10:02:11.000"), event: "upload", ok: true, user: "alice", path: "c", ms: 3 }),
].join("\n") + "\n" + '{"ts":"2026-11-24T10:03:00.000Z","event":"dir"';

const BENCH_LOG = [
  line({
    ts: T("11:00:00.000"),
    event: "bench_start",
    ok: true,
    conn: 9,
    user: "alice",
    run: "r1",
    clients: 2,
    files: 1,
    size: 1_000_000,
    op: "upload",
  }),
  line({ ts: T("11:00:00.100"), event: "connect", ok: true, conn: 10, run: "r1" }),
  line({ ts: T("11:00:00.200"), event: "connect", ok: true, conn: 11, run: "r1" }),
  line({
    ts: T("11:00:01.000"),
    event: "upload",
    ok: true,
    conn: 10,
    user: "alice",
    run: "r1",
    path: "bench/c0",
    bytes: 1_000_000,
    size: 1_000_000,
    ms: 100,
  }),
  line({
    ts: T("11:00:01.500"),
    event: "upload",
    ok: true,
    conn: 11,
    user: "alice",
    run: "r1",
    path: "bench/c1",
    bytes: 1_000_000,
    size: 1_000_000,
    ms: 50,
  }),
  line({
    ts: T("11:00:02.000"),
    event: "bench_end",
    ok: true,
    conn: 9,
    user: "alice",
    run: "r1",
    ops: 2,
    errors: 0,
    bytes: 2_000_000,
    ms: 200,
  }),
].join("\n") + "\n";

async function withLogs(
  files: Record<string, string>,
  fn: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "fileshare-analysis-" });
  try {
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(`${dir}/${name}`, text);
    }
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const close = (a: number | null, b: number) =>
  assert.ok(a !== null && Math.abs(a - b) < 1e-9, `${a} != ${b}`);

Deno.test("percentile() and summarize() interpolate between ranks", () => {
  assert.equal(percentile([], 0.5), null);
  assert.equal(percentile([7], 0.95), 7);
  close(percentile([10, 20], 0.95), 19.5);
  close(percentile([1, 2, 3, 4], 0.5), 2.5);
  assert.deepEqual(summarize([]), {
    count: 0,
    mean: null,
    median: null,
    p95: null,
    min: null,
    max: null,
  });
  const s = summarize([126000, 2000, 35000]);
  assert.deepEqual([s.count, s.median, s.min, s.max], [3, 35000, 2000, 126000]);
  close(s.mean, 163000 / 3);
  close(s.p95, 116900);
});

Deno.test({
  name: "rateHistogram() bins rates on 1-2-5 edges",
  permissions: "none",
  fn() {
    assert.deepEqual(rateHistogram([], []), { edgesMBps: [], upload: [], download: [] });
    // 0.3 falls in [0.2, 0.5); 0.5 in [0.5, 1); 1 and 1.9 in [1, 2); 2 is the top edge's bin.
    assert.deepEqual(rateHistogram([0.3, 1, 2], [0.5, 1.9]), {
      edgesMBps: [0.2, 0.5, 1, 2, 5],
      upload: [1, 0, 1, 1],
      download: [0, 1, 1, 0],
    });
    assert.deepEqual(rateHistogram([700], []), {
      edgesMBps: [500, 1000],
      upload: [1],
      download: [0],
    });
  },
});

Deno.test({
  name: "toEvent() turns a line into a typed event or names what is wrong",
  permissions: "none",
  fn() {
    const ok = { ts: T("10:00:00.000"), event: "dir", ok: true, user: "a", path: "", ms: 1 };
    const e = toEvent({ ...ok, extra: [1, 2], sha256: "ab" });
    assert.ok(typeof e !== "string");
    assert.deepEqual([e.t, e.event, e.user, e.path, e.ms], [
      Date.parse(T("10:00:00.000")),
      "dir",
      "a",
      "",
      1,
    ]);
    const cases: [unknown, string][] = [
      [null, "not a JSON object"],
      [[1], "not a JSON object"],
      ["text", "not a JSON object"],
      [{ ...ok, ts: "yesterday" }, 'missing or invalid "ts"'],
      [{ ...ok, ts: undefined }, 'missing or invalid "ts"'],
      [{ ...ok, event: 3 }, 'missing "event"'],
      [{ ...ok, event: "dance" }, 'unknown event "dance"'],
      [{ ...ok, ok: "yes" }, 'missing or invalid "ok"'],
      [{ ...ok, ms: "1" }, 'invalid "ms"'],
      [{ ...ok, ms: -1 }, 'invalid "ms"'],
      [{ ...ok, user: 7 }, 'invalid "user"'],
      [{ ts: ok.ts, event: "download", ok: true, bytes: 1, ms: 1 }, 'missing "path" on download'],
      [{ ts: ok.ts, event: "upload", ok: true, path: "x", ms: 1 }, 'missing "bytes" on upload'],
      [{ ts: ok.ts, event: "upload", ok: true, path: "x", bytes: 1 }, 'missing "ms" on upload'],
      [{ ts: ok.ts, event: "connect", ok: true }, 'missing "conn" on connect'],
      [{ ts: ok.ts, event: "bench_end", ok: true }, 'missing "run" on bench_end'],
    ];
    for (const [value, reason] of cases) {
      assert.equal(toEvent(value), reason, JSON.stringify(value));
    }
  },
});

Deno.test("readEvents() splits chunks into lines: CRLF, blank lines, UTF-8 across chunks", async () => {
  // A first line longer than the 1 MiB read chunk, full of 2-byte characters, so that both a
  // line and a character are cut by the chunk boundary.
  const long = line({
    ts: T("10:00:00.000"),
    event: "dir",
    ok: true,
    user: "é".repeat(600_000),
    path: "",
  });
  const text = long + "\r\n\n   \n" +
    line({ ts: T("10:00:01.000"), event: "mkdir", ok: true, user: "zoë", path: "ä" }) + "\r\n" +
    line({ ts: T("10:00:02.000"), event: "delete", ok: true, user: "x", path: "y" });
  await withLogs({ "a.jsonl": text }, async (dir) => {
    const bad: BadLine[] = [];
    const events = [];
    for await (const e of readEvents([`${dir}/a.jsonl`], (b) => bad.push(b))) events.push(e);
    assert.deepEqual(bad, []);
    assert.deepEqual(events.map((e) => e.event), ["dir", "mkdir", "delete"]);
    assert.equal(events[0].user, "é".repeat(600_000));
    assert.deepEqual([events[1].user, events[1].path], ["zoë", "ä"]);
  });
});

Deno.test("analyze() figures match a hand-computed log", async () => {
  await withLogs({ "main.jsonl": MAIN_LOG }, async (dir) => {
    const r = await analyze([`${dir}/main.jsonl`]);
    assert.equal(r.lines.events, 17);
    assert.equal(r.lines.bad, 4);
    assert.deepEqual(r.lines.badExamples.map((b) => [b.line, b.reason]), [
      [18, "not valid JSON"],
      [19, 'unknown event "teleport"'],
      [20, 'missing "bytes" on upload'],
      [21, "truncated last line"],
    ]);
    assert.deepEqual(r.period, { from: T("10:00:00.000"), to: T("10:02:09.000"), ms: 129000 });
    assert.deepEqual(r.events, {
      connect: 3,
      disconnect: 3,
      download: 3,
      upload: 3,
      auth_fail: 2,
      auth_ok: 2,
      server_start: 1,
    });
    assert.equal(r.connections.count, 3);
    assert.equal(r.connections.peakConcurrent, 3);
    // Sessions 2000, 35000, 126000 ms: p95 = 35000 + 0.9 * (126000 - 35000).
    const sess = r.connections.sessionMs;
    assert.deepEqual([sess.count, sess.median, sess.min, sess.max], [3, 35000, 2000, 126000]);
    close(sess.mean, 163000 / 3);
    close(sess.p95, 116900);
    assert.deepEqual(r.logins, {
      ok: 2,
      failed: 2,
      failedAddresses: 1,
      failedByRemote: [{ remote: "10.0.0.2", count: 2 }],
    });

    assert.deepEqual([r.upload.count, r.upload.failed, r.upload.bytes], [2, 1, 5_000_000]);
    const ur = r.upload.rateMBps;
    assert.deepEqual([ur.count, ur.mean, ur.median, ur.min, ur.max], [2, 15, 15, 10, 20]);
    close(ur.p95, 19.5);
    assert.deepEqual([r.upload.durationMs.mean, r.upload.durationMs.median], [150, 150]);
    close(r.upload.durationMs.p95, 195);
    // Sizes: 1,000,000 B is under 1 MiB (1,048,576), 4,000,000 B is between 1 and 16 MiB.
    assert.deepEqual(
      r.upload.bySize.map((b) => [b.bucket, b.count, b.rateMBps.median]),
      [
        ["< 64 KiB", 0, null],
        ["64 KiB - 1 MiB", 1, 10],
        ["1 - 16 MiB", 1, 20],
        ["16 - 256 MiB", 0, null],
        ["256 MiB - 1 GiB", 0, null],
        [">= 1 GiB", 0, null],
      ],
    );

    assert.deepEqual([r.download.count, r.download.failed, r.download.bytes], [2, 1, 3_000_000]);
    const dr = r.download.rateMBps;
    assert.deepEqual([dr.mean, dr.median, dr.min, dr.max], [12.5, 12.5, 5, 20]);
    close(dr.p95, 19.25);
    close(r.download.durationMs.p95, 382.5);
    assert.deepEqual(
      r.download.bySize.filter((b) => b.count > 0).map((b) => [b.bucket, b.count]),
      [["64 KiB - 1 MiB", 1], ["1 - 16 MiB", 1]],
    );
    // Rates 10 and 20 up, 20 and 5 down: 1-2-5 edges from 5 to past 20.
    assert.deepEqual(r.rateHistogram, {
      edgesMBps: [5, 10, 20, 50],
      upload: [0, 1, 1],
      download: [1, 0, 1],
    });

    assert.equal(r.errors.total, 4);
    assert.deepEqual(r.errors.byCode, [
      { code: "AUTH_FAILED", count: 2 },
      { code: "DENIED", count: 1 },
      { code: "NOT_FOUND", count: 1 },
    ]);
    assert.deepEqual(r.errors.byCommand, [
      { command: "auth", count: 2 },
      { command: "download", count: 1 },
      { command: "upload", count: 1 },
    ]);
    assert.deepEqual(r.errors.recent.map((e) => e.code), [
      "DENIED",
      "NOT_FOUND",
      "AUTH_FAILED",
      "AUTH_FAILED",
    ]);
    assert.deepEqual(r.errors.recent[1], {
      ts: T("10:02:05.000"),
      event: "download",
      code: "NOT_FOUND",
      message: 'Cannot download "missing": not found',
      user: "bob",
      path: "missing",
    });

    assert.deepEqual(r.users, [
      {
        user: "alice",
        uploads: 2,
        downloads: 1,
        uploadBytes: 5_000_000,
        downloadBytes: 1_000_000,
        ops: 3,
        errors: 0,
      },
      {
        user: "bob",
        uploads: 0,
        downloads: 1,
        uploadBytes: 0,
        downloadBytes: 2_000_000,
        ops: 3,
        errors: 2,
      },
    ]);

    assert.equal(r.throughput.bucketSeconds, 60);
    assert.deepEqual(
      r.throughput.buckets.map((
        b,
      ) => [b.start, b.uploadBytes, b.downloadBytes, b.uploads, b.downloads]),
      [
        [T("10:00:00.000"), 1_000_000, 0, 1, 0],
        [T("10:01:00.000"), 4_000_000, 1_000_000, 1, 1],
        [T("10:02:00.000"), 0, 2_000_000, 0, 1],
      ],
    );
    close(r.throughput.buckets[1].mbps, 5 / 60);
    assert.equal(r.ratePoints.length, 4);
    assert.deepEqual(r.benchRuns, []);
  });
});

Deno.test("analyze() reads several logs and reports load-test runs", async () => {
  await withLogs({ "main.jsonl": MAIN_LOG, "bench.jsonl": BENCH_LOG }, async (dir) => {
    const r = await analyze([`${dir}/main.jsonl`, `${dir}/bench.jsonl`]);
    assert.equal(r.lines.events, 23);
    assert.equal(r.upload.count, 4);
    assert.equal(r.connections.count, 5);
    assert.deepEqual(r.benchRuns, [{
      run: "r1",
      start: T("11:00:00.000"),
      end: T("11:00:02.000"),
      op: "upload",
      clients: 2,
      files: 1,
      size: 1_000_000,
      ops: 2,
      errors: 0,
      bytes: 2_000_000,
      ms: 200,
      mbps: 10,
      serverConnections: 2,
      serverTransfers: 2,
      serverBytes: 2_000_000,
      serverErrors: 0,
    }]);
    // 10:00 to 11:01 is 61 one-minute buckets, within the 120 a chart holds.
    assert.equal(r.throughput.bucketSeconds, 60);
    assert.equal(r.throughput.buckets.length, 61);
    const text = renderText(r);
    assert.match(text, /Load-test runs \(client bench\)/);
    assert.match(text, /r1 +upload +2 +1 +977 KiB +2 +0 +10\.0/);
  });
});

Deno.test("analyze() applies time and user filters", async () => {
  await withLogs({ "main.jsonl": MAIN_LOG }, async (dir) => {
    const path = `${dir}/main.jsonl`;
    const bob = await analyze([path], { user: "bob" });
    assert.equal(bob.lines.events, 5);
    assert.deepEqual([bob.download.count, bob.download.failed, bob.upload.failed], [1, 1, 1]);
    assert.equal(bob.users.length, 1);
    assert.equal(bob.logins.ok, 1);
    // connect has no user yet: with --user, a connection counts from its auth_ok.
    assert.deepEqual([bob.connections.count, bob.connections.peakConcurrent], [1, 1]);
    assert.deepEqual(bob.connections.sessionMs.max, 35000);
    assert.equal(bob.errors.total, 2);
    const late = await analyze([path], { since: Date.parse(T("10:01:30.000")) });
    assert.equal(late.lines.events, 11);
    assert.equal(late.upload.count, 0);
    assert.equal(late.download.count, 1);
    assert.equal(late.period?.from, T("10:01:30.000"));
    assert.equal(late.connections.count, 2);
    const early = await analyze([path], { until: Date.parse(T("10:00:10.000")) });
    assert.equal(early.lines.events, 4);
    assert.equal(early.upload.count, 1);
    const window = await analyze([path], {
      since: Date.parse(T("10:01:00.000")),
      until: Date.parse(T("10:01:59.999")),
      user: "alice",
    });
    assert.deepEqual([window.upload.count, window.upload.bytes, window.download.count], [
      1,
      4_000_000,
      1,
    ]);
    const none = await analyze([path], { user: "nobody" });
    assert.equal(none.period, null);
    assert.match(renderText(none), /No events in the log for this filter\./);
    assert.equal(none.lines.bad, 4, "bad lines are counted whatever the filter");
  });
});

Deno.test("parseTime() accepts ISO times and ages", () => {
  const now = Date.parse(T("12:00:00.000"));
  assert.equal(parseTime("2026-11-24", now), Date.parse(T("00:00:00.000")));
  assert.equal(parseTime("2026-11-24T10:30", now), Date.parse(T("10:30:00.000")));
  assert.equal(parseTime("2026-11-24T10:30:00+01:00", now), Date.parse(T("09:30:00.000")));
  assert.equal(parseTime("2h", now), Date.parse(T("10:00:00.000")));
  assert.equal(parseTime("30m", now), Date.parse(T("11:30:00.000")));
  assert.equal(parseTime("1d", now), now - 86_400_000);
  for (const bad of ["yesterday", "2026-13-45", "10:00", "5y", ""]) {
    assert.equal(parseTime(bad, now), null, bad);
  }
});

Deno.test("renderText() fits 80 columns and leads with the headline", async () => {
  await withLogs({ "main.jsonl": MAIN_LOG, "bench.jsonl": BENCH_LOG }, async (dir) => {
    const text = renderText(await analyze([`${dir}/main.jsonl`, `${dir}/bench.jsonl`]));
    for (const l of text.split("\n")) assert.ok(l.length <= 80, `too wide: ${l}`);
    const headline = text.indexOf("Headline");
    assert.ok(headline > 0 && headline < text.indexOf("Uploads:"));
    assert.match(text, /uploads +4 +6\.7 MiB +15\.0 +20\.0/);
    assert.match(text, /Malformed lines: 4/);
    assert.match(text, /line 18: not valid JSON/);
  });
});

Deno.test("analysis CLI: formats, --out, missing and empty logs, usage errors", async (t) => {
  await withLogs({ "fileshare.jsonl": MAIN_LOG, "empty.jsonl": "" }, async (dir) => {
    await t.step("default log path resolves against INIT_CWD; text on stdout", async () => {
      const r = await runTool("analysis", [], { cwd: dir });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^fileshare activity report/);
      assert.match(r.stdout, /downloads +2 +2\.9 MiB +12\.5 +19\.3/);
    });
    await t.step("json is one object with the same numbers", async () => {
      const r = await runTool("analysis", ["fileshare.jsonl", "--format", "json"], { cwd: dir });
      assert.equal(r.code, 0, r.stderr);
      const report = JSON.parse(r.stdout);
      assert.equal(report.version, 1);
      assert.equal(report.upload.rateMBps.median, 15);
      assert.equal(report.lines.bad, 4);
    });
    await t.step("--out writes html", async () => {
      const r = await runTool("analysis", [
        "--format",
        "html",
        "--out",
        "r.html",
        "--user",
        "alice",
      ], { cwd: dir });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "");
      const html = await Deno.readTextFile(`${dir}/r.html`);
      assert.match(html, /^<!doctype html>/);
      assert.match(html, /user alice/);
    });
    await t.step("a missing log is one clear line and exit 1", async () => {
      const r = await runTool("analysis", ["nope.jsonl"], { cwd: dir });
      assert.equal(r.code, 1);
      assert.equal(r.stderr, `Cannot read log "${dir}/nope.jsonl": not found\n`);
    });
    await t.step("an empty log says so", async () => {
      const r = await runTool("analysis", ["empty.jsonl"], { cwd: dir });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /No events in the log\./);
      const j = await runTool("analysis", ["empty.jsonl", "--format", "json"], { cwd: dir });
      assert.equal(JSON.parse(j.stdout).period, null);
    });
    await t.step("usage errors exit 2", async () => {
      for (
        const args of [["--format", "pdf"], ["--since", "soon"], [
          "--since",
          "2026-11-25",
          "--until",
          "2026-11-24",
        ], ["--bogus"]]
      ) {
        const r = await runTool("analysis", args, { cwd: dir });
        assert.equal(r.code, 2, args.join(" "));
        assert.match(r.stderr, /Usage: analysis/);
      }
    });
  });
});

Deno.test("renderHtml() escapes everything that comes from the log", async () => {
  const evil = "<script>alert(1)</script>";
  const log = [
    line({
      ts: T("10:00:00.000"),
      event: "upload",
      ok: true,
      user: evil,
      path: `"><img src=x onerror=alert(1)>`,
      bytes: 10,
      ms: 1,
    }),
    line({
      ts: T("10:00:01.000"),
      event: "delete",
      ok: false,
      user: evil,
      path: "p",
      code: "NOT_FOUND",
      message: evil,
    }),
  ].join("\n") + "\n";
  await withLogs({ "x.jsonl": log }, async (dir) => {
    const html = renderHtml(await analyze([`${dir}/x.jsonl`]));
    assert.ok(!html.includes("<script"), "no script tag");
    assert.ok(!html.includes("<img"), "no injected tag");
    assert.ok(html.includes("&lt;script&gt;alert(1)&lt;/script&gt;"));
    // Self-contained: nothing that would load from elsewhere.
    assert.doesNotMatch(html, /<link|<iframe|<object|url\(|@import|\s(src|href)=/i);
    assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
  });
});

Deno.test("renderText() keeps terminal controls from the log out of the report", async () => {
  const evil = "\u001b]0;pwned\u0007\u001b[31mred\nfake line\u202e";
  const log = [
    line({
      ts: T("10:00:00.000"),
      event: "delete",
      ok: false,
      user: evil,
      path: evil,
      code: "NOT_FOUND",
      message: evil,
    }),
    line({ ts: T("10:00:01.000"), event: "\u001b[2Jx", ok: true }),
    "\u001b[2J{",
  ].join("\n") + "\n";
  await withLogs({ "x.jsonl": log }, async (dir) => {
    const text = renderText(await analyze([`${dir}/x.jsonl`]));
    // Nothing below U+0020 but the line ends, no DEL or C1 controls, no bidi override.
    for (const ch of text) {
      const c = ch.codePointAt(0)!;
      assert.ok(c === 10 || (c >= 32 && !(c >= 0x7f && c <= 0x9f) && c !== 0x202e), `U+${c}`);
    }
    assert.ok(!text.split("\n").some((l) => l.startsWith("fake line")));
    assert.match(text, /\uFFFD\[31mred\uFFFDfake line/);
    assert.match(text, /line 2: unknown event "\uFFFD\[2Jx"/);
    assert.match(text, /line 3: not valid JSON: \uFFFD\[2J\{/);
  });
});

Deno.test("the HTML report renders in headless Chromium with charts and tables", async () => {
  await withLogs({ "main.jsonl": MAIN_LOG, "bench.jsonl": BENCH_LOG }, async (dir) => {
    const r = await runTool("analysis", [
      "main.jsonl",
      "bench.jsonl",
      "--format",
      "html",
      "--out",
      "report.html",
    ], {
      cwd: dir,
    });
    assert.equal(r.code, 0, r.stderr);
    const url = `file://${dir}/report.html`;
    const dom = await chromium(["--dump-dom", url], `${dir}/profile1`);
    assert.equal(dom.code, 0, dom.stderr);
    for (const chart of ["throughput", "rate-histogram", "rate-vs-size", "ops-per-user"]) {
      assert.match(dom.stdout, new RegExp(`<svg[^>]*data-chart="${chart}"`), `chart ${chart}`);
    }
    for (
      const table of [
        "uploads",
        "downloads",
        "users",
        "errors-by-code",
        "bench-runs",
        "events",
        "bad-lines",
      ]
    ) {
      assert.match(dom.stdout, new RegExp(`<table id="${table}"`), `table ${table}`);
    }
    const chart = (kind: string) => {
      const m = new RegExp(`<svg[^>]*data-chart="${kind}"[\\s\\S]*?</svg>`).exec(dom.stdout);
      assert.ok(m, kind);
      return m[0];
    };
    const count = (text: string, re: RegExp) => (text.match(re) ?? []).length;
    // Six timed transfers (4 up, 2 down); histogram: 3 bins (5, 10, 20, 50) x 2 series;
    // two users x 3 series; one line per direction.
    assert.equal(count(chart("rate-vs-size"), /<circle class="dot"/g), 6);
    assert.equal(count(chart("rate-histogram"), /<rect class="bar"/g), 6);
    assert.equal(count(chart("ops-per-user"), /<rect class="bar"/g), 6);
    assert.equal(count(chart("throughput"), /<path class="line"/g), 2);
    assert.match(dom.stdout, /<td class="t">10\.0\.0\.2<\/td><td>2<\/td>/, "failed logins row");
    const png = `${dir}/report.png`;
    const shot = await chromium([
      `--screenshot=${png}`,
      "--window-size=1200,2400",
      "--hide-scrollbars",
      url,
    ], `${dir}/profile2`);
    assert.equal(shot.code, 0, shot.stderr);
    const bytes = await Deno.readFile(png);
    assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    assert.ok(bytes.length > 10_000, `screenshot is ${bytes.length} bytes`);
  });
});

Deno.test("analysis entry point is at the project root", () => {
  assert.ok(Deno.statSync(`${ROOT}/analysis.ts`).isFile);
});

Deno.test("a log without transfers reports zeros and n/a, never NaN", async () => {
  const log = [
    line({ ts: T("10:00:00.000"), event: "connect", ok: true, conn: 1, remote: "1.2.3.4:5" }),
    line({ ts: T("10:00:01.000"), event: "dir", ok: true, conn: 1, user: "a", path: "", ms: 2 }),
    line({ ts: T("10:00:02.000"), event: "disconnect", ok: true, conn: 1, ms: 2000 }),
  ].join("\n") + "\n";
  await withLogs({ "x.jsonl": log }, async (dir) => {
    const r = await analyze([`${dir}/x.jsonl`]);
    assert.deepEqual([r.upload.count, r.upload.bytes, r.upload.rateMBps.mean], [0, 0, null]);
    assert.deepEqual(r.throughput, { bucketSeconds: 60, buckets: [] });
    assert.deepEqual(r.rateHistogram, { edgesMBps: [], upload: [], download: [] });
    assert.deepEqual(r.users, [{
      user: "a",
      uploads: 0,
      downloads: 0,
      uploadBytes: 0,
      downloadBytes: 0,
      ops: 1,
      errors: 0,
    }]);
    for (const out of [renderText(r), renderJson(r), renderHtml(r)]) {
      assert.doesNotMatch(out, /NaN|Infinity|undefined/);
    }
    assert.match(renderText(r), /uploads +0 +0 B +n\/a +n\/a/);
    assert.match(renderHtml(r), /No transfer rates to chart/);
  });
});

Deno.test("analyze() picks week buckets for a long log with many busy minutes", async () => {
  // One 1 MB upload per minute for 200,000 minutes (about 139 days): more minutes than a
  // function call takes arguments, and more than 120 day buckets.
  const start = Date.parse("2026-01-01T00:00:00.000Z");
  const n = 200_000;
  await withLogs({}, async (dir) => {
    const path = `${dir}/long.jsonl`;
    {
      using file = await Deno.open(path, { write: true, create: true });
      const enc = new TextEncoder();
      for (let i = 0; i < n; i += 10_000) {
        let chunk = "";
        for (let j = i; j < i + 10_000; j++) {
          chunk += line({
            ts: new Date(start + j * 60_000).toISOString(),
            event: "upload",
            ok: true,
            user: "u",
            path: "f",
            bytes: 1_000_000,
            size: 1_000_000,
            ms: 10,
          }) + "\n";
        }
        await writeAll(file, enc.encode(chunk));
      }
    }
    const r = await analyze([path]);
    assert.equal(r.upload.count, n);
    assert.equal(r.throughput.bucketSeconds, 7 * 86400);
    const sum = r.throughput.buckets.reduce((s, b) => s + b.uploads, 0);
    assert.equal(sum, n);
    // Weeks since the epoch start on Thursdays; 2026-01-01 is a Thursday.
    assert.equal(r.throughput.buckets[0].start, "2026-01-01T00:00:00.000Z");
    assert.equal(r.throughput.buckets.length, Math.ceil(n / (7 * 1440)));
    assert.deepEqual([r.upload.rateMBps.min, r.upload.rateMBps.max], [100, 100]);
    const text = renderText(r);
    assert.match(text, /Throughput over time \(1 week buckets, UTC\)/);
    for (const l of text.split("\n")) assert.ok(l.length <= 80, `too wide: ${l}`);
  });
});

Deno.test("renderText() merges throughput buckets into at most 30 rows", async () => {
  // 90 minutes with one 6 MB download each: 90 one-minute buckets become 30 of 3 minutes,
  // each 18 MB over 180 s = 0.10 MB/s with 3 transfers.
  const lines = [];
  for (let i = 0; i < 90; i++) {
    lines.push(line({
      ts: new Date(Date.parse(T("10:00:30.000")) + i * 60_000).toISOString(),
      event: "download",
      ok: true,
      user: "u",
      path: "f",
      bytes: 6_000_000,
      size: 6_000_000,
      ms: 60,
    }));
  }
  await withLogs({ "x.jsonl": lines.join("\n") + "\n" }, async (dir) => {
    const r = await analyze([`${dir}/x.jsonl`]);
    assert.equal(r.throughput.buckets.length, 90);
    const text = renderText(r);
    assert.match(text, /Throughput over time \(3 min buckets, UTC\)/);
    const rows = text.split("\n").filter((l) => /^ {2}11-24 \d\d:\d\d /.test(l));
    assert.equal(rows.length, 30);
    assert.match(rows[0], /^ {2}11-24 10:00 +0\.10 +3 {2}#{36}$/);
    assert.match(rows[29], /^ {2}11-24 11:27 +0\.10 +3 {2}#{36}$/);
  });
});

Deno.test("analysis CLI: --help, --version and unreadable paths", async (t) => {
  await withLogs({ "a.jsonl": MAIN_LOG }, async (dir) => {
    await t.step("--help prints usage on stdout", async () => {
      const r = await runTool("analysis", ["--help"], { cwd: dir });
      assert.equal(r.code, 0);
      assert.match(r.stdout, /^Usage: analysis \[LOG \.\.\.\]/);
      assert.match(r.stdout, /--format text\|json\|html/);
    });
    await t.step("--version prints the version of deno.json", async () => {
      const r = await runTool("analysis", ["--version"], { cwd: dir });
      assert.equal(r.code, 0);
      assert.equal(r.stdout, `fileshare analysis ${denoConfig.version}\n`);
    });
    await t.step("a folder as log", async () => {
      const r = await runTool("analysis", [dir], { cwd: dir });
      assert.equal(r.code, 1);
      assert.equal(r.stderr, `Cannot read log "${dir}": it is a folder\n`);
    });
    await t.step("one missing log among several", async () => {
      const r = await runTool("analysis", ["a.jsonl", "b.jsonl"], { cwd: dir });
      assert.equal(r.code, 1);
      assert.equal(r.stdout, "");
      assert.equal(r.stderr, `Cannot read log "${dir}/b.jsonl": not found\n`);
    });
    await t.step("--out into a missing folder", async () => {
      const r = await runTool("analysis", ["a.jsonl", "--out", "no/such/r.txt"], { cwd: dir });
      assert.equal(r.code, 1);
      assert.equal(
        r.stderr,
        `Cannot write report "${dir}/no/such/r.txt": its folder does not exist\n`,
      );
    });
    await t.step("--out text relative to INIT_CWD, same as stdout", async () => {
      const out = await runTool("analysis", ["a.jsonl", "--out", "r.txt"], { cwd: dir });
      assert.equal(out.code, 0, out.stderr);
      assert.equal(out.stderr, `wrote text report to ${dir}/r.txt\n`);
      const std = await runTool("analysis", ["a.jsonl"], { cwd: dir });
      assert.equal(await Deno.readTextFile(`${dir}/r.txt`), std.stdout);
    });
  });
});

Deno.test("docs/report-format.md names every field of the JSON report", async () => {
  await withLogs({ "main.jsonl": MAIN_LOG, "bench.jsonl": BENCH_LOG }, async (dir) => {
    const report = JSON.parse(
      renderJson(await analyze([`${dir}/main.jsonl`, `${dir}/bench.jsonl`])),
    );
    const doc = await Deno.readTextFile(`${ROOT}/docs/report-format.md`);
    const body = doc.slice(doc.indexOf("interface Report {"), doc.indexOf("interface Stat {"));
    const documented = [...body.matchAll(/^ {2}(\w+)\??:/gm)].map((m) => m[1]);
    assert.deepEqual(documented.sort(), Object.keys(report).sort());
    // Nested objects: each key of these appears in the document.
    for (
      const key of [
        ...Object.keys(report.upload),
        ...Object.keys(report.upload.rateMBps),
        ...Object.keys(report.logins),
        ...Object.keys(report.errors.recent[0]),
        ...Object.keys(report.throughput.buckets[0]),
        ...Object.keys(report.rateHistogram),
        ...Object.keys(report.users[0]),
        ...Object.keys(report.benchRuns[0]),
        ...Object.keys(report.ratePoints[0]),
      ]
    ) {
      assert.match(doc, new RegExp(`\\b${key}\\??:`), `${key} is documented`);
    }
  });
});
