import assert from "node:assert/strict";
import { analyze, parseTime } from "../lib/report/analyze.ts";
import { percentile, summarize } from "../lib/report/stats.ts";
import { renderHtml } from "../lib/report/render_html.ts";
import { renderText } from "../lib/report/render_text.ts";
import { ROOT, runTool } from "./_helpers.ts";

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
  line({
    ts: T("10:01:31.000"),
    event: "auth_fail",
    ok: false,
    conn: 2,
    remote: "10.0.0.2:6000",
    user: "mallory",
    code: "AUTH_FAILED",
    message: "Authentication failed",
  }),
  line({
    ts: T("10:01:32.000"),
    event: "auth_fail",
    ok: false,
    conn: 2,
    remote: "10.0.0.2:6000",
    user: "mallory",
    code: "AUTH_FAILED",
    message: "Authentication failed",
  }),
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

Deno.test("analyze() figures match a hand-computed log", async () => {
  await withLogs({ "main.jsonl": MAIN_LOG }, async (dir) => {
    const r = await analyze([`${dir}/main.jsonl`]);
    assert.equal(r.lines.events, 17);
    assert.equal(r.lines.bad, 4);
    assert.deepEqual(r.lines.badExamples.map((b) => [b.line, b.reason]), [
      [18, "not valid JSON"],
      [19, 'unknown event "teleport"'],
      [20, 'missing "bytes" on upload'],
      [21, "not valid JSON"],
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
    assert.equal(r.connections.sessionMs.median, 35000);
    close(r.connections.sessionMs.p95, 116900);
    assert.deepEqual(r.logins, {
      ok: 2,
      failed: 2,
      failedByRemote: [{ remote: "10.0.0.2", count: 2 }],
    });

    assert.deepEqual([r.upload.count, r.upload.failed, r.upload.bytes], [2, 1, 5_000_000]);
    const ur = r.upload.rateMBps;
    assert.deepEqual([ur.count, ur.mean, ur.median, ur.min, ur.max], [2, 15, 15, 10, 20]);
    close(ur.p95, 19.5);
    assert.deepEqual([r.upload.durationMs.mean, r.upload.durationMs.median], [150, 150]);
    close(r.upload.durationMs.p95, 195);
    const upSizes = r.upload.bySize.filter((b) => b.count > 0);
    assert.deepEqual(
      upSizes.map((b) => [b.bucket, b.count, b.rateMBps.median]),
      [["1 - 16 MiB", 1, 20], [
        "64 KiB - 1 MiB",
        1,
        10,
      ]].sort((a, b) => (a[0] === "64 KiB - 1 MiB" ? -1 : b[0] === "64 KiB - 1 MiB" ? 1 : 0)),
    );

    assert.deepEqual([r.download.count, r.download.failed, r.download.bytes], [2, 1, 3_000_000]);
    const dr = r.download.rateMBps;
    assert.deepEqual([dr.mean, dr.median, dr.min, dr.max], [12.5, 12.5, 5, 20]);
    close(dr.p95, 19.25);
    close(r.download.durationMs.p95, 382.5);

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
    assert.equal(r.lines.events, 21);
    assert.equal(r.upload.count, 4);
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
    const late = await analyze([path], { since: Date.parse(T("10:01:30.000")) });
    assert.equal(late.lines.events, 11);
    assert.equal(late.upload.count, 0);
    assert.equal(late.download.count, 1);
    const early = await analyze([path], { until: Date.parse(T("10:00:10.000")) });
    assert.equal(early.lines.events, 4);
    assert.equal(early.upload.count, 1);
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
  });
});

function findChromium(): string {
  for (const p of ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]) {
    try {
      Deno.statSync(p);
      return p;
    } catch {
      // try the next
    }
  }
  throw new Error("Chromium is not installed (apt-get install chromium); .ci/run installs it");
}

async function chromium(
  args: string[],
  profile: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(findChromium(), {
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      `--user-data-dir=${profile}`,
      ...args,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

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
    assert.equal(
      (dom.stdout.match(/<circle class="dot"/g) ?? []).length,
      6,
      "one dot per timed transfer",
    );
    const png = `${dir}/report.png`;
    const shot = await chromium([
      `--screenshot=${png}`,
      "--window-size=1100,2600",
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
