import assert from "node:assert/strict";
import { ActivityLog } from "../lib/log/activity_log.ts";
import { clientFirst, parseServerFirst } from "../lib/auth/scram.ts";
import { assertValidLog, rawSession } from "./_helpers.ts";
import { analyze } from "../lib/report/analyze.ts";
import { inParallel, startTarget } from "./_hostile.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "fileshare-logflood-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function lines(path: string): Promise<Record<string, unknown>[]> {
  const text = await Deno.readTextFile(path);
  return text.split("\n").filter((l) => l).map((l) => JSON.parse(l));
}

Deno.test("ActivityLog clips long fields and folds a flood of failures from one address", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/log.jsonl`;
    const log = await ActivityLog.open(path);
    const long = "u".repeat(4000);
    for (let i = 0; i < 1000; i++) {
      log.write({
        event: "auth_fail",
        ok: false,
        conn: i,
        remote: `10.0.0.1:${1000 + i}`,
        user: long,
        code: "AUTH_FAILED",
        message: "Authentication failed",
      });
    }
    // Another address and a logged-in user's failures are not folded.
    log.write({
      event: "auth_fail",
      ok: false,
      remote: "10.0.0.2:1",
      user: "x",
      code: "AUTH_FAILED",
    });
    log.write({ event: "error", ok: false, remote: "10.0.0.1:5", code: "BAD_REQUEST" });
    await log.close();
    const got = await lines(path);
    const fails = got.filter((l) =>
      l.remote?.toString().startsWith("10.0.0.1:") && l.event === "auth_fail"
    );
    assert.equal(fails.length, 11, "10 lines, then one summary");
    assert.equal(fails.reduce((n, l) => n + 1 + Number(l.repeated ?? 0), 0), 1000);
    assert.ok(got.some((l) => l.remote === "10.0.0.2:1"));
    assert.ok(got.some((l) => l.event === "error"));
    for (const l of got) assert.ok(JSON.stringify(l).length < 700, "every line is short");
    assert.equal(await assertValidLog(path), got.length);
    // The report counts what the folded lines stand for, not the lines.
    const r = await analyze([path]);
    assert.equal(r.logins.failed, 1001);
    assert.deepEqual(r.logins.failedByRemote[0], { remote: "10.0.0.1", count: 1000 });
    assert.equal(r.errors.total, 1002);
  });
});

Deno.test("analyze() counts a folded line as 1 + repeated events on both reading paths", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/log.jsonl`;
    const ts = "2026-11-29T01:00:00.000Z";
    await Deno.writeTextFile(
      path,
      [
        // The server's own compact shape (the fast path) ...
        `{"ts":"${ts}","event":"auth_fail","ok":false,"remote":"10.0.0.1:1","code":"AUTH_FAILED","repeated":41}`,
        // ... and a hand-edited one with spaces (the exact path).
        `{"ts": "${ts}", "event": "error", "ok": false, "remote": "10.0.0.2:1", "code": "BAD_REQUEST", "repeated": 9}`,
        `{"ts":"${ts}","event":"auth_fail","ok":false,"remote":"10.0.0.3:1","code":"AUTH_FAILED"}`,
      ].join("\n") + "\n",
    );
    // In this thread, and through parsing workers (used for big logs).
    for (const workers of [0, 2]) {
      const r = await analyze([path], { workers, segmentSize: 64 });
      assert.equal(r.lines.events, 3, "three lines");
      assert.equal(r.logins.failed, 43);
      assert.equal(r.errors.total, 53);
      assert.deepEqual(r.errors.byCode.map((c) => [c.code, c.count]), [
        ["AUTH_FAILED", 43],
        ["BAD_REQUEST", 10],
      ]);
    }
  });
});

Deno.test("ActivityLog rotates by size into NAME.1 (newest) .. NAME.N", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/log.jsonl`;
    const log = await ActivityLog.open(path, { maxBytes: 4096, keep: 3 });
    for (let i = 0; i < 400; i++) log.write({ event: "connect", ok: true, conn: i, remote: "a:1" });
    await log.close();
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assert.deepEqual(names.sort(), ["log.jsonl", "log.jsonl.1", "log.jsonl.2", "log.jsonl.3"]);
    const conns = async (p: string) => (await lines(p)).map((l) => Number(l.conn));
    const [cur, one, two, three] = await Promise.all(
      ["", ".1", ".2", ".3"].map((s) => conns(path + s)),
    );
    for (const p of ["", ".1", ".2", ".3"]) {
      assert.ok((await Deno.stat(path + p)).size <= 4096);
      await assertValidLog(path + p);
    }
    assert.equal(cur.at(-1), 399);
    assert.equal(one.at(-1)! + 1, cur[0], "NAME.1 ends where NAME begins");
    assert.equal(two.at(-1)! + 1, one[0]);
    assert.equal(three.at(-1)! + 1, two[0]);
  });
});

Deno.test("server log stays small under failed logins with 4,000-character user names", async () => {
  // The per-address login guard would slow this flood to a guess a second and then ban it;
  // trusting loopback turns it off, as for a flood spread over many addresses.
  await using target = await startTarget([
    ...["--log-max-size", "64KiB", "--log-keep", "2"],
    ...["--trusted-network", "127.0.0.0/8"],
  ]);
  const attempts = 300;
  // Three wrong proofs per connection, without the cost of a real key derivation.
  await inParallel(attempts / 3, 20, async (i) => {
    await using conn = await rawSession(target.port, { login: false });
    for (let k = 0; k < 3; k++) {
      const first = clientFirst(`${i}-${k}`.padEnd(4000, "x"));
      await conn.send({ op: "auth_start", mechanism: "SCRAM-SHA-256", message: first.message });
      const server = parseServerFirst(String((await conn.expectMessage()).message), first.nonce);
      const proof = btoa("p".repeat(32));
      await conn.send({ op: "auth_final", message: `c=biws,r=${server.nonce},p=${proof}` });
      assert.equal((await conn.expectMessage()).code, "AUTH_FAILED");
    }
  });
  await target.server.stop();
  let bytes = 0;
  for await (const e of Deno.readDir(target.dir)) {
    if (e.name.startsWith("log.jsonl")) bytes += (await Deno.stat(`${target.dir}/${e.name}`)).size;
  }
  console.log(`${attempts} failed logins with 4000-character names: ${bytes} bytes of log`);
  const fails = (await lines(target.logPath)).filter((l) => l.event === "auth_fail");
  assert.ok(fails.length <= 11, `${fails.length} auth_fail lines`);
  assert.ok(bytes < 3 * 64 * 1024);
});
