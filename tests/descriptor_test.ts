import assert from "node:assert/strict";
import { rawSession, writeRandomFile } from "./_helpers.ts";
import { HAS_PROC, inParallel, openFds, resetConnection, startTarget } from "./_hostile.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until the server's descriptors are at most `limit` and unchanged for 300 ms (the last
 * connections may still be closing), for up to 10 s; returns the count.
 */
async function settle(pid: number, limit: number): Promise<number> {
  const end = Date.now() + 10_000;
  let last = -1;
  let since = Date.now();
  while (Date.now() < end) {
    const n = openFds(pid);
    if (n !== last) {
      last = n;
      since = Date.now();
    } else if (n <= limit && Date.now() - since >= 300) break;
    await sleep(20);
  }
  return last;
}

Deno.test({
  name: "FileshareServer releases the socket of every reset and half-read connection",
  ignore: !HAS_PROC,
  async fn(t) {
    await using target = await startTarget();
    await writeRandomFile(`${target.root}/big.bin`, 2 * 1024 * 1024);
    // Warm up: one full session, so lazily opened descriptors are counted in the baseline.
    {
      await using c = await target.connect();
      await c.list("");
    }
    const baseline = await settle(target.pid, Infinity);

    await t.step("resets before login", async () => {
      await inParallel(2000, 50, (i) => resetConnection(target.port, { hello: i % 2 === 0 }));
      const after = await settle(target.pid, baseline);
      console.log(`descriptors: baseline ${baseline}, after 2000 resets before login ${after}`);
      assert.ok(after <= baseline, `${after} descriptors, baseline ${baseline}`);
    });

    await t.step("resets after login", async () => {
      await inParallel(200, 20, async () => {
        const conn = await rawSession(target.port);
        // An answer left unread makes close() send a reset instead of a FIN.
        await conn.send({ op: "dir", path: "" });
        await sleep(10);
        conn.close();
      });
      const after = await settle(target.pid, baseline);
      console.log(`descriptors: baseline ${baseline}, after 200 resets after login ${after}`);
      assert.ok(after <= baseline, `${after} descriptors, baseline ${baseline}`);
    });

    await t.step("downloads whose reader closes early", async () => {
      await inParallel(50, 10, async () => {
        const conn = await rawSession(target.port);
        await conn.send({ op: "download", path: "big.bin" });
        const ok = await conn.expectMessage();
        assert.equal(ok.status, "ok");
        await conn.readHeader();
        conn.close();
      });
      const after = await settle(target.pid, baseline);
      console.log(`descriptors: baseline ${baseline}, after 50 half-read downloads ${after}`);
      assert.ok(after <= baseline, `${after} descriptors, baseline ${baseline}`);
    });

    await using c = await target.connect();
    assert.deepEqual((await c.list("")).map((e) => e.name), ["big.bin"]);
  },
});
