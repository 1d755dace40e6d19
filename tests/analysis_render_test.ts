import assert from "node:assert/strict";
import { analyze } from "../lib/report/analyze.ts";
import { renderHtml } from "../lib/report/html/render_html.ts";
import { renderText } from "../lib/report/render_text.ts";
import { num } from "../lib/report/format.ts";
import { niceScale } from "../lib/report/html/svg.ts";
import type { Report } from "../lib/report/report.ts";
import { chromium } from "./_chromium.ts";

const T0 = Date.parse("2026-11-24T10:00:00.000Z");

/** A log of small and large transfers by two users, with failures, cancels and a scanner. */
function renderLog(): string {
  const lines: Record<string, unknown>[] = [];
  const at = (i: number) => new Date(T0 + i * 37_000).toISOString();
  // Sizes from 1 kB to 10 GB; small files are slow (2 to 500 kB/s), so rates span decades.
  const sizes = [1e3, 4e3, 2e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10];
  for (let i = 0; i < 120; i++) {
    const bytes = sizes[i % sizes.length];
    const ms = bytes < 1e5 ? bytes / (2 + (i % 7) * 70) : bytes / 1e6 / (40 + (i % 5) * 23) * 1e3;
    const user = i % 3 === 0 ? "carol" : "alice";
    const event = i % 2 === 0 ? "upload" : "download";
    lines.push({
      ts: at(i),
      event,
      ok: true,
      conn: 1,
      user,
      path: `f${i}`,
      bytes,
      size: bytes,
      ms,
    });
  }
  for (const i of [10, 11, 60]) {
    lines.push({
      ts: at(i),
      event: "upload",
      ok: false,
      conn: 1,
      user: "alice",
      path: `x${i}`,
      bytes: 0,
      size: 10,
      ms: 1,
      code: "EXISTS",
      message: "exists",
    });
  }
  lines.push({
    ts: at(90),
    event: "download",
    ok: false,
    conn: 1,
    user: "carol",
    path: "big",
    bytes: 5e6,
    size: 1e9,
    ms: 900,
    code: "CANCELLED",
    message: "cancelled",
  });
  lines.push({
    ts: at(30),
    event: "auth_fail",
    ok: false,
    conn: 2,
    remote: "203.0.113.9:4000",
    user: "root",
    code: "AUTH_FAILED",
    message: "Authentication failed",
  });
  lines.sort((a, b) => (String(a.ts) < String(b.ts) ? -1 : 1));
  return lines.map((l) => JSON.stringify(l)).join("\n") + "\n";
}

async function withReport(fn: (r: Report, dir: string) => void | Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "fileshare-render-" });
  try {
    await Deno.writeTextFile(`${dir}/log.jsonl`, renderLog());
    await fn(await analyze([`${dir}/log.jsonl`]), dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Renders the report's charts in Chromium with a script that measures every drawn label
 * (getBBox) and reads the y ticks; the page's own CSP forbids scripts, so the charts are
 * copied into a test page.
 */
async function measureCharts(html: string, dir: string) {
  const charts = html.match(/<svg class="chart"[\s\S]*?<\/svg>/g) ?? [];
  const page = `<!doctype html><html><body>${charts.join("\n")}<pre id="out"></pre><script>
    const result = {};
    for (const svg of document.querySelectorAll("svg.chart")) {
      const boxes = [...svg.querySelectorAll("text.x-label")].map((t) => {
        const b = t.getBBox();
        return { text: t.textContent, left: b.x, right: b.x + b.width };
      });
      const ticks = [...svg.querySelectorAll("text.y-tick")].map((t) => t.textContent);
      result[svg.dataset.chart] = { boxes, ticks };
    }
    document.getElementById("out").textContent = JSON.stringify(result);
  </script></body></html>`;
  await Deno.writeTextFile(`${dir}/measure.html`, page);
  const dom = await chromium(["--dump-dom", `file://${dir}/measure.html`], `${dir}/profile`);
  assert.equal(dom.code, 0, dom.stderr);
  const out = /<pre id="out">([^<]*)<\/pre>/.exec(dom.stdout);
  assert.ok(out, "the measuring script ran");
  const json = out[1].replaceAll("&quot;", '"').replaceAll("&amp;", "&").replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">");
  return JSON.parse(json) as Record<
    string,
    { boxes: { text: string; left: number; right: number }[]; ticks: string[] }
  >;
}

Deno.test("niceScale() gives round ticks, whole ones for counts", () => {
  assert.deepEqual(niceScale(50), { max: 50, step: 10 });
  assert.deepEqual(niceScale(38), { max: 40, step: 10 });
  assert.deepEqual(niceScale(3, true), { max: 3, step: 1 });
  assert.deepEqual(niceScale(0.7), { max: 0.8, step: 0.2 });
  assert.deepEqual(niceScale(0), { max: 1, step: 0.25 });
  assert.deepEqual(niceScale(1234), { max: 1500, step: 500 });
});

Deno.test("renderHtml() charts render in Chromium with round ticks and labels that never overlap", async () => {
  await withReport(async (r, dir) => {
    const html = renderHtml(r);
    const charts = await measureCharts(html, dir);
    const kinds = [
      "throughput",
      "rate-histogram",
      "rate-vs-size",
      "ops-per-user",
      "bytes-per-user",
    ];
    assert.deepEqual(Object.keys(charts).sort(), kinds.toSorted());
    for (const [kind, { boxes, ticks }] of Object.entries(charts)) {
      assert.ok(boxes.length >= 2, `${kind} has x labels`);
      for (let i = 1; i < boxes.length; i++) {
        assert.ok(
          boxes[i].left >= boxes[i - 1].right + 2,
          `${kind}: "${boxes[i - 1].text}" and "${boxes[i].text}" overlap`,
        );
      }
      const labels = boxes.map((b) => b.text);
      assert.equal(new Set(labels).size, labels.length, `${kind}: repeated labels ${labels}`);
      // Ticks step evenly by 1, 2 or 5 times a power of ten (units such as "GB" aside).
      const values = ticks.map((t) => Number(t.replace(/ ?[a-zA-Z]+$/, "")));
      const step = values[1] - values[0];
      const mantissa = step / 10 ** Math.floor(Math.log10(step));
      assert.ok([1, 2, 5].some((m) => Math.abs(m - mantissa) < 1e-6), `${kind}: ${ticks}`);
    }
    // The histogram's edges say their unit; the slow small files are in kB/s, never "0".
    const edges = charts["rate-histogram"].boxes.map((b) => b.text);
    assert.ok(edges.every((e) => /^[\d.]+ (kB|MB)\/s$/.test(e)), edges.join(", "));
    assert.ok(edges.some((e) => e.endsWith("kB/s")), edges.join(", "));
    assert.match(charts["bytes-per-user"].ticks.at(-1)!, /^[\d.]+ (kB|MB|GB|TB)$/);
  });
});

Deno.test("renderHtml() charts bytes per user and marks failed and cancelled transfers", async () => {
  await withReport((r) => {
    const html = renderHtml(r);
    const chart = (kind: string) =>
      new RegExp(`<svg[^>]*data-chart="${kind}"[\\s\\S]*?</svg>`).exec(html)?.[0] ?? "";
    const bytes = chart("bytes-per-user");
    assert.equal((bytes.match(/<rect class="bar"/g) ?? []).length, 4, "2 users x 2 series");
    assert.match(bytes, /alice: uploaded [\d.]+ (MB|GB|TB)/);
    const tp = chart("throughput");
    const failedBuckets = r.throughput.buckets.filter((b) => b.failed > 0).length;
    const marks = (kind: string) =>
      (new RegExp(`data-marks="${kind}"[^>]*>([\\s\\S]*?)</g>`).exec(tp)?.[1] ?? "")
        .match(/class="mark"/g)?.length ?? 0;
    assert.ok(failedBuckets >= 2);
    assert.equal(marks("failed"), failedBuckets);
    assert.equal(marks("cancelled"), 1);
    assert.match(tp, /<title>[^<]*: 1 cancelled<\/title>/);
    assert.equal(r.throughput.buckets.reduce((n, b) => n + b.failed, 0), 3);
    assert.match(html, /Failed logins by address \(1 address\)/);
    assert.match(html, /<b>[\d.]+ (kB|MB)\/s<\/b><span>median upload rate/);
  });
});

Deno.test("renderText() shows small rates in kB/s, failures per bucket and one address", async () => {
  await withReport((r) => {
    const text = renderText(r);
    for (const l of text.split("\n")) assert.ok(l.length <= 80, `too wide: ${l}`);
    assert.doesNotMatch(text, /(^|\s)0\.00(\s|$)/m);
    assert.match(text, /< 64 KiB +\d+ +[\d.]+ kB\/s +[\d.]+ kB\/s/);
    assert.match(text, /Failed logins by address \(1 address\)/);
    assert.match(text, /start +MB\/s +transfers +failed +cancelled/);
    const rows = text.split("\n").filter((l) => /^ {2}11-24 \d\d:\d\d /.test(l));
    // The longest bar still fits whole beside the two extra columns.
    assert.ok(rows.some((l) => l.endsWith("#".repeat(25))), rows.join("\n"));
    assert.ok(rows.every((l) => !l.includes("…")), rows.join("\n"));
    const sums = rows.map((l) => l.trim().split(/ +/)).map((c) => [Number(c[4]), Number(c[5])]);
    assert.deepEqual(sums.reduce((a, b) => [a[0] + b[0], a[1] + b[1]], [0, 0]), [3, 1]);
  });
});

Deno.test("num() writes small values in two significant digits, never in exponent form", () => {
  // The text report's throughput column printed 1e-7 for a minute that moved 6 bytes.
  assert.equal(num(1e-7), "0.0000001");
  assert.equal(num(1.234e-7), "0.00000012");
  assert.equal(num(0.0012), "0.0012");
  assert.equal(num(0.5), "0.50");
  for (let e = -1; e >= -25; e--) assert.doesNotMatch(num(3 * 10 ** e), /e/, `3e${e}`);
});

Deno.test("renderText() shows a trickle of a throughput bucket as <0.01 MB/s", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fileshare-trickle-" });
  try {
    const line = (ts: string, bytes: number) =>
      JSON.stringify({
        ts,
        event: "upload",
        ok: true,
        conn: 1,
        remote: "127.0.0.1:5000",
        user: "alice",
        path: "a.txt",
        size: bytes,
        bytes,
        overwrite: false,
        ms: 2,
      });
    await Deno.writeTextFile(
      `${dir}/t.jsonl`,
      [line("2026-11-24T10:00:00.000Z", 6), line("2026-11-24T10:30:00.000Z", 6_000_000)]
        .join("\n") + "\n",
    );
    const text = renderText(await analyze([`${dir}/t.jsonl`]));
    const rows = text.split("\n").filter((l) => /^ {2}11-24 \d\d:\d\d /.test(l));
    assert.match(rows[0], /^ {2}11-24 10:00 +<0\.01 +1$/, rows.join("\n"));
    assert.doesNotMatch(text, /\de-\d/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
