import assert from "node:assert/strict";
import { decodeHeader, decodeMessage, encodeMessage, FrameError } from "../lib/protocol/frame.ts";
import { parseHello, parseRequest, parseTrailer } from "../lib/protocol/messages.ts";
import { ProtocolError } from "../lib/protocol/errors.ts";
import { parseRemotePath } from "../lib/store/paths.ts";
import { parseClientFirst, ScramError } from "../lib/auth/scram.ts";
import { listTree, rawSession, startServer } from "./_helpers.ts";
import { runFuzz } from "./_fuzz.ts";
import { HAS_PROC } from "./_hostile.ts";

/** Deterministic pseudo-random bytes, so a failure can be replayed with the same seed. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  return {
    int: (n: number) => next() % n,
    bytes: (n: number) => Uint8Array.from({ length: n }, () => next() & 0xff),
  };
}

const EXPECTED = [FrameError, ProtocolError, ScramError];
const expected = (err: unknown) =>
  EXPECTED.some((c) => err instanceof c) || (err as Error).name === "PathError";

Deno.test({
  name: "decoders reject random input only with their own errors",
  permissions: "none",
  fn() {
    const r = rng(7);
    const samples = [
      '{"op":"upload","path":"a","size":1}',
      '{"op":"hello","protocol":"fileshare","versions":[1],"client":"x"}',
      '{"op":"end","sha256":"' + "a".repeat(64) + '"}',
      "n,,n=alice,r=abc",
    ];
    for (let i = 0; i < 5000; i++) {
      const random = r.bytes(r.int(40));
      // Mutate a valid sample half of the time, so the parsers get past their first checks.
      const base = new TextEncoder().encode(samples[r.int(samples.length)]);
      const mutated = base.map((b) => (r.int(12) === 0 ? r.int(256) : b));
      const input = i % 2 === 0 ? random : mutated;
      const text = new TextDecoder().decode(input);
      for (
        const fn of [
          () => decodeHeader(input),
          () => decodeMessage(input),
          () => parseRequest(JSON.parse(text)),
          () => parseHello(JSON.parse(text)),
          () => parseTrailer(JSON.parse(text)),
          () => parseRemotePath(text),
          () => parseClientFirst(text),
        ]
      ) {
        try {
          fn();
        } catch (err) {
          if (err instanceof SyntaxError && /JSON/.test(err.message)) continue;
          if (err instanceof TypeError && /Cannot read|null|undefined/.test(err.message)) {
            assert.fail(`unguarded access on ${JSON.stringify(text)}: ${err.message}`);
          }
          assert.ok(
            expected(err),
            `unexpected ${(err as Error).name} on ${JSON.stringify(text)}: ${err}`,
          );
        }
      }
    }
  },
});

Deno.test("the server survives random bytes and garbage frames from many connections", async () => {
  await using srv = await startServer();
  const r = rng(42);
  for (let i = 0; i < 60; i++) {
    const login = i % 3 !== 0;
    await using conn = await rawSession(srv.port, { login });
    const kind = i % 4;
    const payload = kind === 0 ? r.bytes(1 + r.int(3000)) : kind === 1
      ? encodeMessage({
        op: ["upload", "download", "dir", "rmdir", "x"][r.int(5)],
        path: "../" + r.int(9),
        size: r.int(5),
      })
      : kind === 2
      ? Uint8Array.from([1, ...r.bytes(4), ...r.bytes(r.int(100))])
      : Uint8Array.from([2, 0, 0, 0, 9, ...r.bytes(9)]);
    await conn.writeAll(payload).catch(() => {});
    // Whatever the server answers, it answers in frames, then closes or waits for more.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const drained = (async () => {
      for (;;) if ((await conn.readMessage()) === null) return;
    })().catch(() => {});
    await Promise.race([drained, new Promise((res) => (timer = setTimeout(res, 50)))]);
    clearTimeout(timer);
    conn.close();
    await drained;
  }
  // Still serving, and nothing was written.
  await using client = await srv.connect("alice");
  assert.deepEqual(await client.list(""), []);
  assert.deepEqual(await listTree(srv.root), []);
});

// The long run (100,000 frames and more) is `deno task fuzz`.
Deno.test({
  name: "runFuzz(): mutated recorded sessions never kill the server or disturb a good client",
  ignore: !HAS_PROC,
  async fn() {
    const r = await runFuzz({ frames: 1500, seed: 11, parallel: 8 });
    console.log(
      `fuzz: ${r.frames} frames, ${r.connections} connections, peak RSS ${r.peakRssMiB} MiB, ` +
        `${r.goodRounds} good rounds`,
    );
    assert.ok(r.frames >= 1500);
    assert.ok(r.serverAlive, "the server is still running");
    assert.deepEqual(r.goodFailures, [], "the good client never failed");
    assert.ok(r.goodRounds > 0, "the good client did work meanwhile");
    assert.deepEqual(r.outsideChanged, [], "nothing outside the root changed");
    assert.ok(r.peakRssMiB < 300, `peak RSS ${r.peakRssMiB} MiB`);
  },
});
