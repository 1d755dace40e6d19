import assert from "node:assert/strict";
import { writeRandomFile } from "./_helpers.ts";
import {
  HAS_PROC,
  holdStalledEagerUploads,
  holdStalledTransfers,
  rssMiB,
  startTarget,
} from "./_hostile.ts";

// The long version (4,096 stalled transfers) is `deno task bench:stalled`.
Deno.test({
  name: "FileshareServer holds stalled uploads and unread downloads without a buffer each",
  ignore: !HAS_PROC,
  async fn() {
    await using target = await startTarget(["--min-rate", "0", "--idle-timeout", "600"]);
    await writeRandomFile(`${target.root}/big.bin`, 8 << 20);
    await new Promise((r) => setTimeout(r, 300));
    const before = rssMiB(target.pid);
    const conns = await holdStalledTransfers(target.port, 200, "big.bin");
    try {
      await new Promise((r) => setTimeout(r, 1500));
      const after = rssMiB(target.pid);
      console.log(`server RSS: ${before} MiB, ${after} MiB with 200 stalled transfers`);
      // Two 1 MiB buffers each would be +200 MiB and more; the shared pool is 32 MiB.
      assert.ok(after - before < 120, `+${after - before} MiB for 200 stalled transfers`);
    } finally {
      for (const c of conns) c.close();
    }
    // The server goes on serving.
    await using c = await target.connect();
    assert.ok((await c.list("")).some((e) => e.name === "big.bin"));
  },
});

Deno.test({
  name: "FileshareServer holds stalled pipelined uploads within one server-wide budget",
  ignore: !HAS_PROC,
  async fn() {
    // Small uploads run ahead of their answers with their bodies read into memory; a client
    // that stops in the middle of such bodies on many connections must not pin them all
    // (600 x 192 KiB would be +112 MiB; measured +154 MiB without the budget, +61 with it).
    await using target = await startTarget(["--min-rate", "0", "--idle-timeout", "600"]);
    await new Promise((r) => setTimeout(r, 300));
    const before = rssMiB(target.pid);
    const conns = await holdStalledEagerUploads(target.port, 600);
    try {
      await new Promise((r) => setTimeout(r, 1500));
      const after = rssMiB(target.pid);
      console.log(`server RSS: ${before} MiB, ${after} MiB with 600 stalled pipelined uploads`);
      assert.ok(after - before < 100, `+${after - before} MiB for 600 stalled pipelined uploads`);
    } finally {
      for (const c of conns) c.close();
    }
    await using c = await target.connect();
    assert.deepEqual(await c.list(""), []);
  },
});
