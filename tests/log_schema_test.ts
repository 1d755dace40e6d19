import assert from "node:assert/strict";
import { FileshareError } from "../lib/protocol/errors.ts";
import { encodeMessage } from "../lib/protocol/frame.ts";
import { assertValidLog, rawSession, startServer } from "./_helpers.ts";

const enc = new TextEncoder();

Deno.test("ActivityLog lines of refused commands are valid events of docs/log-format.md", async () => {
  await using srv = await startServer();
  await Deno.writeTextFile(`${srv.root}/there.txt`, "x");
  {
    await using alice = await srv.connect("alice");
    await using bob = await srv.connect("bob");
    const refused = async (p: Promise<unknown>, code: string) => {
      await assert.rejects(p, (err) => err instanceof FileshareError && err.code === code);
    };
    // A five-byte body, read once.
    const source = () => {
      let sent = false;
      return {
        read(p: Uint8Array) {
          if (sent) return Promise.resolve(null);
          sent = true;
          p.set(enc.encode("hello"));
          return Promise.resolve(5);
        },
      };
    };
    const sink = () => Promise.resolve({ write: (p: Uint8Array) => Promise.resolve(p.length) });
    await refused(alice.upload(source(), 5, "../escape.txt"), "BAD_REQUEST");
    await refused(alice.upload(source(), 5, "there.txt"), "EXISTS");
    await refused(bob.upload(source(), 5, "new.txt"), "DENIED");
    await refused(alice.download("../etc/passwd", sink), "BAD_REQUEST");
    await refused(alice.download("missing.txt", sink), "NOT_FOUND");
    await refused(bob.delete("there.txt"), "DENIED");
    await refused(bob.mkdir("d"), "DENIED");
    await refused(alice.rmdir("nope"), "NOT_FOUND");
    await refused(alice.list("nope"), "NOT_FOUND");
    await refused(bob.benchMark("start", "fake-run", { clients: 1 }), "DENIED");
  }
  // Eager upload refused by path, body still drained; then garbage and a bad login.
  {
    await using conn = await rawSession(srv.port);
    await conn.send({ op: "upload", path: "/abs", size: 3, overwrite: false, eager: true });
    await conn.writeAll(Uint8Array.from([2, 0, 0, 0, 3, 1, 2, 3]));
    await conn.send({ op: "end", sha256: "0".repeat(64) });
    assert.equal((await conn.expectMessage()).code, "BAD_REQUEST");
    await conn.writeAll(Uint8Array.from([9, 9, 9, 9, 9]));
    await conn.readMessage().catch(() => null);
  }
  {
    await using conn = await rawSession(srv.port, { login: false });
    await conn.writeAll(encodeMessage({ op: "upload", path: "x", size: 1 }));
    await conn.readMessage().catch(() => null);
  }
  const lines = await srv.logLines();
  const transfers = lines.filter((l) => l.event === "upload" || l.event === "download");
  assert.equal(transfers.length, 6);
  for (const l of transfers) {
    assert.equal(l.ok, false);
    assert.equal(typeof l.path, "string", JSON.stringify(l));
    assert.equal(l.bytes, 0, JSON.stringify(l));
  }
  assert.ok(!lines.some((l) => l.run === "fake-run" && l.ok), "a read-only user left no mark");
  assert.ok(lines.some((l) => l.event === "bench_start" && l.code === "DENIED"));
  await srv.log.flush();
  assert.ok((await assertValidLog(srv.logPath)) > 20);
});
