import assert from "node:assert/strict";
import { parseSize } from "../lib/load/size.ts";
import { latency } from "../lib/load/latency.ts";
import { percentile } from "../lib/percentile.ts";
import { benchTable } from "../lib/load/bench_command.ts";
import { runLoad } from "../lib/load/run_load.ts";
import { NULL_SINK, patternSource } from "../lib/load/pattern_source.ts";
import { ROOT, runTool, startServer, type TestServer, USERS } from "./_helpers.ts";

Deno.test({
  name: "parseSize() reads binary and decimal units",
  permissions: "none",
  fn() {
    const cases: [string, number | null][] = [
      ["4096", 4096],
      ["0", 0],
      ["4KiB", 4096],
      ["4k", 4096],
      ["16MiB", 16 * 1024 * 1024],
      ["16mib", 16 * 1024 * 1024],
      ["1GiB", 1024 ** 3],
      ["1.5G", 1.5 * 1024 ** 3],
      ["100MB", 100_000_000],
      ["2 kb", 2000],
      [" 8B ", 8],
      ["4XB", null],
      ["-1", null],
      ["1e3", null],
      ["", null],
      ["MiB", null],
      ["99999999999TiB", null],
    ];
    for (const [text, want] of cases) assert.equal(parseSize(text), want, text);
  },
});

Deno.test({
  name: "latency() summarises latencies with the report's percentile",
  permissions: "none",
  fn() {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    const all = latency(values);
    // Interpolated between closest ranks, as percentile() and the activity report do.
    assert.equal(all.p50, 50.5);
    assert.equal(all.p95, percentile(values.toSorted((a, b) => a - b), 0.95));
    assert.ok(Math.abs(all.p95! - 95.05) < 1e-9);
    assert.ok(Math.abs(all.p99! - 99.01) < 1e-9);
    assert.deepEqual([all.min, all.max, all.mean], [1, 100, 50.5]);
    const l = latency([7]);
    assert.deepEqual([l.p50, l.p95, l.p99], [7, 7, 7]);
    const three = latency([30, 10, 20]);
    assert.deepEqual([three.p50, three.mean, three.min, three.max], [20, 20, 10, 30]);
    assert.ok(Math.abs(three.p95! - 29) < 1e-9 && Math.abs(three.p99! - 29.8) < 1e-9);
    assert.deepEqual(Object.values(latency([])), [null, null, null, null, null, null]);
  },
});

Deno.test({
  name: "patternSource() yields exactly its size into the caller's buffer",
  permissions: "none",
  async fn() {
    const size = 3 * 1024 * 1024 + 5;
    const src = patternSource(size, 12345);
    const buf = new Uint8Array(700_000);
    let total = 0;
    for (let i = 0; i < 100; i++) {
      const n = await src.read(buf);
      if (n === null) break;
      assert.ok(n > 0 && n <= buf.length);
      total += n;
    }
    assert.equal(total, size);
    assert.equal(await src.read(buf), null);
    assert.equal(await NULL_SINK.write(buf), buf.length);
  },
});

/** Log lines of one run: its markers and its transfer events. */
async function runEvents(srv: TestServer, run: string) {
  const lines = (await srv.logLines()).filter((l) => l.run === run);
  return {
    start: lines.find((l) => l.event === "bench_start"),
    end: lines.find((l) => l.event === "bench_end"),
    transfers: lines.filter((l) => l.event === "upload" || l.event === "download"),
  };
}

Deno.test("runLoad() moves every file verified and marks the run in the log", async (t) => {
  await using srv = await startServer();
  for (const op of ["upload", "download", "mixed"] as const) {
    await t.step(op, async () => {
      const r = await runLoad({
        hostname: "127.0.0.1",
        port: srv.port,
        user: USERS.alice.name,
        password: USERS.alice.password,
        tls: srv.tls,
        clients: 3,
        files: 4,
        size: 300_000,
        op,
      });
      assert.deepEqual([r.ops, r.errors, r.bytes], [12, 0, 12 * 300_000]);
      assert.ok(r.latencyMs.p50 !== null && r.latencyMs.p99! >= r.latencyMs.p50!);
      const { start, end, transfers } = await runEvents(srv, r.run);
      assert.deepEqual([start?.clients, start?.files, start?.size, start?.op], [
        3,
        4,
        300_000,
        op,
      ]);
      assert.deepEqual([end?.ops, end?.errors, end?.bytes], [12, 0, 12 * 300_000]);
      assert.ok(transfers.every((l) => l.ok === true));
      const count = (event: string) =>
        transfers.filter((l) => l.event === event && String(l.path).startsWith(`bench-${r.run}/`))
          .length;
      // Files to download are uploaded first (tagged too, before bench_start).
      const want = { upload: [12, 0], download: [12, 12], mixed: [12, 6] }[op];
      assert.deepEqual([count("upload"), count("download")], want);
      assert.match(benchTable(r), /operations +12 \(0 errors\)/);
      assert.match(benchTable(r), /bytes +3600000 \(3\.4 MiB\)/);
    });
  }
  await t.step("keep leaves the run folder, otherwise it is removed", async () => {
    assert.deepEqual([...Deno.readDirSync(srv.root)], []);
    const r = await runLoad({
      hostname: "127.0.0.1",
      port: srv.port,
      user: USERS.alice.name,
      password: USERS.alice.password,
      tls: srv.tls,
      clients: 2,
      files: 1,
      size: 10,
      op: "upload",
      run: "kept",
      keep: true,
    });
    assert.equal(r.run, "kept");
    const names = [...Deno.readDirSync(`${srv.root}/bench-kept`)].map((e) => e.name).sort();
    assert.deepEqual(names, ["c0-f0", "c1-f0"]);
  });
});

Deno.test("runLoad() fails cleanly when a client cannot log in", async () => {
  await using srv = await startServer();
  await assert.rejects(
    runLoad({
      hostname: "127.0.0.1",
      port: srv.port,
      user: USERS.alice.name,
      password: "wrong",
      tls: srv.tls,
      clients: 4,
      files: 1,
      size: 10,
      op: "upload",
    }),
    /AUTH_FAILED|[Ll]ogin|[Aa]uthentication/,
  );
});

Deno.test("client bench as a child process prints a table or one JSON object", async (t) => {
  await using srv = await startServer();
  const common = ["--server", `127.0.0.1:${srv.port}`, "--user", "alice"];
  const env = { FILESHARE_PASSWORD: USERS.alice.password };
  await t.step("--json: ops, bytes and errors add up, and the log has the run", async () => {
    const out = await runTool(
      "client",
      [...common, "bench", "--clients", "2", "--files", "3", "--size", "64KiB", "--json"],
      { cwd: srv.dir, env },
    );
    assert.equal(out.code, 0, out.stderr);
    const r = JSON.parse(out.stdout);
    assert.deepEqual(
      [r.clients, r.files, r.size, r.op, r.ops, r.errors, r.bytes],
      [2, 3, 65536, "upload", 6, 0, 6 * 65536],
    );
    assert.ok(r.latencyMs.p50 <= r.latencyMs.p95 && r.latencyMs.p95 <= r.latencyMs.p99);
    const { start, end, transfers } = await runEvents(srv, r.run);
    assert.deepEqual([start?.clients, start?.files, start?.size, start?.op], [
      2,
      3,
      65536,
      "upload",
    ]);
    assert.deepEqual([end?.ops, end?.errors, end?.bytes], [6, 0, 6 * 65536]);
    assert.equal(transfers.filter((l) => l.event === "upload" && l.ok === true).length, 6);
    assert.deepEqual([...Deno.readDirSync(srv.root)], [], "run folder removed");
  });
  await t.step("the table (flags before or after the command)", async () => {
    const out = await runTool(
      "client",
      ["bench", ...common, "--op", "mixed", "--clients", "2", "--files", "2", "--size", "1KiB"],
      { cwd: srv.dir, env },
    );
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /^client bench: 2 clients x 2 files x 1\.0 KiB, mixed \(run \w+\)/);
    assert.match(out.stdout, /operations +4 \(0 errors\)/);
    assert.match(out.stdout, /bytes +4096 \(4\.0 KiB\)/);
    assert.match(out.stdout, /aggregate +[\d.]+ MB\/s/);
    assert.match(out.stdout, /latency ms +p50 [\d.]+ +p95 [\d.]+ +p99 [\d.]+/);
  });
  await t.step("usage errors exit 2", async () => {
    for (
      const [args, message] of [
        [["--size", "lots"], /Invalid --size "lots"/],
        [["--clients", "0"], /Invalid --clients "0"/],
        [["--op", "sideways"], /Invalid --op "sideways"/],
        [["extra"], /Unexpected argument "extra"/],
      ] as const
    ) {
      const out = await runTool("client", [...common, "bench", ...args], { cwd: srv.dir, env });
      assert.equal(out.code, 2, args.join(" "));
      assert.match(out.stderr, message);
      assert.match(out.stderr, /Usage: client bench/);
    }
  });
  await t.step("a read-only user fails with exit 1", async () => {
    const out = await runTool(
      "client",
      ["--server", `127.0.0.1:${srv.port}`, "--user", "bob", "bench", "--clients", "1"],
      { cwd: srv.dir, env: { FILESHARE_PASSWORD: USERS.bob.password } },
    );
    assert.equal(out.code, 1, "a read-only user cannot create the run folder");
    assert.match(out.stderr, /read-only/);
  });
});

Deno.test("deno task bench runs every case end to end with --tiny", async () => {
  const json = await Deno.makeTempFile({ prefix: "fileshare-bench-test-", suffix: ".json" });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--no-prompt",
        "--config",
        `${ROOT}/deno.json`,
        `${ROOT}/bench/bench.ts`,
        "--tiny",
        "--json-out",
        json,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.match(stdout, /^fileshare bench \(\d+ cores, Deno [\d.]+, --tiny\)/);
    for (const id of ["a", "b", "c", "d", "e", "f"]) {
      assert.match(stdout, new RegExp(`^\\(${id}\\) `, "m"), `(${id}) missing:\n${stdout}`);
    }
    const figures = JSON.parse(await Deno.readTextFile(json));
    assert.ok(figures.a.mbps > 0);
    for (const k of ["upload", "download"]) {
      for (const f of ["off", "on"]) assert.ok(figures.b[`${k} fsync ${f}`] > 0, `${k} ${f}`);
    }
    assert.equal(figures.c.length, 6);
    for (const c of figures.c) assert.equal(c.errors, 0, JSON.stringify(c));
    assert.ok(figures.d.uploadsPerSec > 0 && figures.d.dirsPerSec > 0);
    assert.ok(figures.e.transferPeakMiB > 0 && figures.e.idleRssMiB > 0);
    assert.equal(figures.rows.length, stdout.trim().split("\n").length - 1);
  } finally {
    await Deno.remove(json);
  }
});

Deno.test("deno task bench rejects bad flags with exit 2", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-prompt", `${ROOT}/bench/bench.ts`, "--skip", "a,z"],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 2);
  assert.match(new TextDecoder().decode(out.stderr), /Invalid --skip "z"[\s\S]*Usage:/);
});

Deno.test("deno task bench --peers --tiny measures fileshare and names the tools it skipped", async () => {
  const json = await Deno.makeTempFile({ prefix: "fileshare-peers-test-", suffix: ".json" });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--no-prompt",
        "--config",
        `${ROOT}/deno.json`,
        `${ROOT}/bench/bench.ts`,
        "--peers",
        "--tiny",
        "--json-out",
        json,
      ],
      // No PATH: sftp, rsync and curl cannot be found, so only fileshare runs.
      env: { PATH: "/nonexistent" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.match(stdout, /^fileshare beside its peers/);
    for (const name of ["sftp", "rsync", "nginx"]) {
      assert.match(stdout, new RegExp(`^skipped ${name}: `, "m"), stdout);
    }
    const figures = JSON.parse(await Deno.readTextFile(json));
    assert.deepEqual(figures.tools, ["fileshare"]);
    assert.ok(figures.big.upload.fileshare.ms > 0 && figures.big.download.fileshare.ms > 0);
    assert.ok(figures.small.fileshare.upload > 0 && figures.small.fileshare.download > 0);
    assert.ok(figures.small["fileshare --no-fsync"].upload > 0);
    assert.ok(figures.load.fileshare.mbps > 0);
    assert.ok(figures.relay.filesPerSec.fileshare > 0 && figures.relay.roundTrips.fileshare >= 1);
    assert.ok(figures.relay.downloadFilesPerSec.fileshare > 0);
  } finally {
    await Deno.remove(json);
  }
});
