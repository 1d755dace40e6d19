import assert from "node:assert/strict";
import { parseSize } from "../lib/client/size.ts";
import { latency, nearestRank } from "../lib/client/percentiles.ts";
import { benchTable } from "../lib/client/bench_cli.ts";
import { runLoad } from "../lib/client/load_test.ts";
import { ROOT, runTool, startServer, USERS } from "./_helpers.ts";

Deno.test({
  name: "parseSize() reads binary and decimal units",
  permissions: "none",
  fn() {
    const cases: [string, number | null][] = [
      ["4096", 4096],
      ["4KiB", 4096],
      ["4k", 4096],
      ["16MiB", 16 * 1024 * 1024],
      ["1GiB", 1024 ** 3],
      ["1.5G", 1.5 * 1024 ** 3],
      ["100MB", 100_000_000],
      ["2 kb", 2000],
      ["4XB", null],
      ["-1", null],
      ["", null],
      ["MiB", null],
    ];
    for (const [text, want] of cases) assert.equal(parseSize(text), want, text);
  },
});

Deno.test({
  name: "nearestRank() and latency() summarise latencies",
  permissions: "none",
  fn() {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(nearestRank(values, 0.5), 50);
    assert.equal(nearestRank(values, 0.95), 95);
    assert.equal(nearestRank(values, 0.99), 99);
    assert.equal(nearestRank([], 0.5), null);
    const l = latency([30, 10, 20]);
    assert.deepEqual([l.p50, l.p95, l.p99, l.mean, l.min, l.max], [20, 30, 30, 20, 10, 30]);
  },
});

Deno.test("runLoad() moves every file verified and marks the run in the log", async () => {
  await using srv = await startServer();
  for (const op of ["upload", "download", "mixed"] as const) {
    const r = await runLoad({
      hostname: "127.0.0.1",
      port: srv.port,
      user: USERS.alice.name,
      password: USERS.alice.password,
      clients: 3,
      files: 4,
      size: 300_000,
      op,
    });
    assert.deepEqual([r.ops, r.errors, r.bytes], [12, 0, 12 * 300_000], op);
    assert.ok(r.latencyMs.p50 !== null && r.latencyMs.p99! >= r.latencyMs.p50!);
    const lines = await srv.logLines();
    const start = lines.find((l) => l.event === "bench_start" && l.run === r.run);
    const end = lines.find((l) => l.event === "bench_end" && l.run === r.run);
    assert.deepEqual([start?.clients, start?.files, start?.size, start?.op], [3, 4, 300_000, op]);
    assert.deepEqual([end?.ops, end?.errors, end?.bytes], [12, 0, 12 * 300_000]);
    const tagged = lines.filter((l) =>
      l.run === r.run && (l.event === "upload" || l.event === "download")
    );
    // Setup uploads for downloads are tagged too; the timed ones are 12.
    assert.ok(tagged.length >= 12);
    assert.ok(tagged.every((l) => l.ok === true));
    assert.match(benchTable(r), new RegExp(`operations +12 \\(0 errors\\)`));
  }
  // The run folders are cleaned up.
  assert.deepEqual([...Deno.readDirSync(srv.root)], []);
});

Deno.test("client bench as a child process prints a table or one JSON object", async () => {
  await using srv = await startServer();
  const common = ["--server", `127.0.0.1:${srv.port}`, "--user", "alice"];
  const env = { FILESHARE_PASSWORD: USERS.alice.password };
  const json = await runTool("client", [
    ...common,
    "bench",
    "--clients",
    "2",
    "--files",
    "3",
    "--size",
    "64KiB",
    "--json",
  ], {
    cwd: srv.dir,
    env,
  });
  assert.equal(json.code, 0, json.stderr);
  const r = JSON.parse(json.stdout);
  assert.deepEqual([r.clients, r.files, r.size, r.ops, r.errors, r.bytes], [
    2,
    3,
    65536,
    6,
    0,
    6 * 65536,
  ]);
  const table = await runTool("client", [
    "bench",
    ...common,
    "--op",
    "mixed",
    "--clients",
    "2",
    "--files",
    "2",
    "--size",
    "1KiB",
  ], {
    cwd: srv.dir,
    env,
  });
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^client bench: 2 clients x 2 files x 1\.0 KiB, mixed/);
  assert.match(table.stdout, /latency ms +p50 /);
  const bad = await runTool("client", [...common, "bench", "--size", "lots"], {
    cwd: srv.dir,
    env,
  });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /Invalid --size "lots"[\s\S]*Usage: client bench/);
  const ro = await runTool("client", [
    "--server",
    `127.0.0.1:${srv.port}`,
    "--user",
    "bob",
    "bench",
    "--clients",
    "1",
    "--files",
    "1",
  ], {
    cwd: srv.dir,
    env: { FILESHARE_PASSWORD: USERS.bob.password },
  });
  assert.equal(ro.code, 1, "a read-only user cannot create the run folder");
  assert.match(ro.stderr, /read-only/);
});

Deno.test("deno task bench runs end to end in a tiny configuration", async () => {
  const json = await Deno.makeTempFile({ suffix: ".json" });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--config",
        `${ROOT}/deno.json`,
        `${ROOT}/bench/bench.ts`,
        "--quick",
        "--size",
        "2MiB",
        "--skip",
        "c,f",
        "--json-out",
        json,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    for (const id of ["(a)", "(b)", "(d)", "(e)"]) {
      assert.ok(stdout.includes(id), `${id} missing:\n${stdout}`);
    }
    const figures = JSON.parse(await Deno.readTextFile(json));
    assert.ok(figures.a.mbps > 0);
    assert.ok(figures.b["upload fsync off"] > 0);
    assert.ok(figures.e.transferPeakMiB > 0);
  } finally {
    await Deno.remove(json);
  }
});
