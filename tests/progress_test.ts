import assert from "node:assert/strict";
import { ProgressBar, renderProgress } from "../lib/cli/progress.ts";
import { runTool, startServer, USERS, writeRandomFile } from "./_helpers.ts";

const pure = { permissions: "none" } as const;

Deno.test({
  ...pure,
  name: "renderProgress() shows percent, bytes, rate and ETA within the width",
  fn() {
    const line = renderProgress({
      label: "a.bin",
      done: 512 * 1024 * 1024,
      total: 1024 ** 3,
      elapsedMs: 1000,
      columns: 100,
    });
    assert.match(line, /^a\.bin {2}50% \[#+\.+\] 512 MiB\/1\.0 GiB {2}537 MB\/s {2}ETA 1\.0 s$/);
    assert.ok(line.length <= 99);
    const start = renderProgress({ label: "x", done: 0, total: 100, elapsedMs: 0, columns: 80 });
    assert.match(start, / {2}0% .*-- MB\/s {2}ETA --$/);
    const end = renderProgress({ label: "x", done: 100, total: 100, elapsedMs: 10, columns: 80 });
    assert.match(end, /100% \[#+\] .* done$/);
    const empty = renderProgress({ label: "zero", done: 0, total: 0, elapsedMs: 5, columns: 80 });
    assert.match(empty, /100%/);
    const narrow = renderProgress({
      label: "a/very/long/path/to/some/file/name.bin",
      done: 1,
      total: 2,
      elapsedMs: 1000,
      columns: 50,
    });
    assert.ok(narrow.length <= 49, narrow);
    assert.match(narrow, /50%/);
    const slow = renderProgress({
      label: "s",
      done: 1,
      total: 1000,
      elapsedMs: 1000,
      columns: 120,
    });
    assert.match(slow, /ETA 16m39s$/);
  },
});

Deno.test({
  ...pure,
  name: "ProgressBar.update() redraws at most every interval; clear() clears the line",
  fn() {
    const writes: string[] = [];
    const bar = new ProgressBar(
      { write: (t) => writes.push(t), columns: () => 80 },
      "f",
      1000,
      60_000,
    );
    for (let i = 1; i < 1000; i++) bar.update(i);
    assert.equal(writes.length, 1, "throttled to one draw within the interval");
    bar.update(1000);
    assert.equal(writes.length, 2, "the final state is always drawn");
    assert.ok(writes.every((w) => w.startsWith("\r") && w.endsWith("\x1b[K")));
    bar.clear();
    assert.equal(writes.at(-1), "\r\x1b[K");
  },
});

Deno.test({
  ...pure,
  name: "renderProgress() never exceeds the terminal width",
  fn() {
    const label = "photos/2026/november/a rather long file name.bin";
    for (let columns = 1; columns <= 200; columns++) {
      for (const done of [0, 1, 512 * 1024 ** 2, 1024 ** 3]) {
        const line = renderProgress({ label, done, total: 1024 ** 3, elapsedMs: 1500, columns });
        assert.ok(line.length < columns || line.length === 0, `${columns}: ${line}`);
      }
    }
  },
});

Deno.test("client upload draws no progress when stderr is not a terminal", async () => {
  await using srv = await startServer();
  await writeRandomFile(`${srv.dir}/p.bin`, 8 * 1024 * 1024);
  const r = await runTool(
    "client",
    ["--server", `127.0.0.1:${srv.port}`, "--user", "alice", "upload", "p.bin"],
    { cwd: srv.dir, env: { FILESHARE_PASSWORD: USERS.alice.password } },
  );
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, "", "stderr stays empty when piped");
  assert.match(r.stdout, /^uploaded p\.bin \(8\.0 MiB\) in .* sha256 verified\n$/);
});
