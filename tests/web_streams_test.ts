import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { FileshareClient, readableSource, writableSink } from "../mod.ts";
import { startServer, USERS } from "./_helpers.ts";

const pure = { permissions: "none" } as const;

Deno.test({
  ...pure,
  name: "readableSource() hands out stream chunks across small reads and ends with null",
  async fn() {
    const stream = ReadableStream.from([
      new Uint8Array([1, 2, 3, 4, 5]),
      new Uint8Array(0),
      new Uint8Array([6]),
    ]);
    const source = readableSource(stream);
    const buf = new Uint8Array(2);
    const got: number[] = [];
    for (let n = await source.read(buf); n !== null; n = await source.read(buf)) {
      assert.ok(n > 0, "never a zero-length read before the end");
      got.push(...buf.subarray(0, n));
    }
    assert.deepEqual(got, [1, 2, 3, 4, 5, 6]);
  },
});

Deno.test({
  ...pure,
  name: "writableSink() copies each chunk, so reusing the buffer cannot change what was written",
  async fn() {
    const chunks: Uint8Array[] = [];
    const sink = writableSink(new WritableStream({ write: (c) => void chunks.push(c) }));
    const buf = new Uint8Array([7, 7]);
    assert.equal(await sink.write(buf), 2);
    buf.fill(0);
    await sink.close();
    assert.deepEqual(chunks.map((c) => [...c]), [[7, 7]]);
  },
});

Deno.test("FileshareClient uploads a web stream and downloads into one, SHA-256 verified", async () => {
  await using srv = await startServer();
  await using client = await FileshareClient.connect({
    hostname: "127.0.0.1",
    port: srv.port,
    user: "alice",
    password: USERS.alice.password,
    tls: srv.tls,
  });
  // Three chunks that do not line up with the 1 MiB frames.
  const parts = [700_000, 1_500_000, 123].map((n) => {
    const p = new Uint8Array(n);
    for (let i = 0; i < n; i += 65536) crypto.getRandomValues(p.subarray(i, i + 65536));
    return p;
  });
  const size = parts.reduce((n, p) => n + p.length, 0);
  const up = await client.upload(readableSource(ReadableStream.from(parts)), size, "s.bin");
  const hash = createHash("sha256");
  for (const p of parts) hash.update(p);
  assert.equal(up.sha256, hash.digest("hex"));

  const received: Uint8Array[] = [];
  const sink = writableSink(new WritableStream({ write: (c) => void received.push(c) }));
  const down = await client.download("s.bin", () => Promise.resolve(sink));
  await sink.close();
  assert.equal(down.sha256, up.sha256);
  const back = createHash("sha256");
  for (const p of received) back.update(p);
  assert.equal(back.digest("hex"), up.sha256, "the bytes the stream got are the file");
});
