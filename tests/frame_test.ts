import assert from "node:assert/strict";
import { encodeData } from "./_frames.ts";
import {
  decodeHeader,
  decodeMessage,
  encodeMessage,
  FRAME_DATA,
  FRAME_MSG,
  FrameError,
  HEADER_BYTES,
  MAX_DATA_BYTES,
  MAX_MSG_BYTES,
  writeDataHeader,
  writeHeader,
} from "../lib/protocol/frame.ts";
import { FrameConn } from "../lib/protocol/conn.ts";
import { ConnectionError, ProtocolError } from "../lib/protocol/errors.ts";
import { writeAll } from "../lib/write_all.ts";

const enc = new TextEncoder();

function header(type: number, length: number): Uint8Array {
  const b = new Uint8Array(HEADER_BYTES);
  b[0] = type;
  new DataView(b.buffer).setUint32(1, length);
  return b;
}

function rejectsFrame(fn: () => unknown, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof FrameError, `expected FrameError, got ${err}`);
    if (message) assert.match(err.message, message);
    return true;
  });
}

/** A small deterministic PRNG (xorshift32) so a failure can be replayed. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

Deno.test({
  name: "decodeHeader() reads type and big-endian length of MSG and DATA frames",
  permissions: "none",
  fn() {
    for (
      const [type, length] of [
        [FRAME_MSG, 0],
        [FRAME_MSG, 1],
        [FRAME_MSG, MAX_MSG_BYTES],
        [
          FRAME_DATA,
          0,
        ],
        [FRAME_DATA, 0x01020304 % MAX_DATA_BYTES],
        [FRAME_DATA, MAX_DATA_BYTES],
      ]
    ) {
      assert.deepEqual(decodeHeader(header(type, length)), { type, length });
    }
    // Big-endian: 0x00 0x00 0x01 0x00 is 256, not 65536.
    assert.equal(decodeHeader(new Uint8Array([FRAME_MSG, 0, 0, 1, 0])).length, 256);
  },
});

Deno.test({
  name: "decodeHeader() reads a header that sits at an offset inside a larger buffer",
  permissions: "none",
  fn() {
    const buf = new Uint8Array(16).fill(0xee);
    buf.set(header(FRAME_DATA, 4242), 7);
    assert.deepEqual(decodeHeader(buf.subarray(7, 12)), { type: FRAME_DATA, length: 4242 });
  },
});

Deno.test({
  name: "decodeHeader() rejects truncated headers",
  permissions: "none",
  fn() {
    for (let n = 0; n < HEADER_BYTES; n++) {
      rejectsFrame(() => decodeHeader(header(FRAME_MSG, 1).subarray(0, n)), /Truncated/);
    }
  },
});

Deno.test({
  name: "decodeHeader() rejects a length over the limit",
  permissions: "none",
  async fn(t) {
    await t.step("message one byte over 64 KiB", () => {
      rejectsFrame(() => decodeHeader(header(FRAME_MSG, MAX_MSG_BYTES + 1)), /exceeds/);
    });
    await t.step("data one byte over 1 MiB", () => {
      rejectsFrame(() => decodeHeader(header(FRAME_DATA, MAX_DATA_BYTES + 1)), /exceeds/);
    });
    await t.step("a data-sized length in a message frame", () => {
      rejectsFrame(() => decodeHeader(header(FRAME_MSG, MAX_DATA_BYTES)), /exceeds/);
    });
    await t.step("length 2^32-1 for both types", () => {
      rejectsFrame(() => decodeHeader(header(FRAME_MSG, 0xffffffff)));
      rejectsFrame(() => decodeHeader(header(FRAME_DATA, 0xffffffff)));
    });
  },
});

Deno.test({
  name: "decodeHeader() rejects every unknown type byte",
  permissions: "none",
  fn() {
    for (let type = 0; type < 256; type++) {
      if (type === FRAME_MSG || type === FRAME_DATA) continue;
      rejectsFrame(() => decodeHeader(header(type, 1)), /Unknown frame type 0x[0-9a-f]{2}/);
    }
  },
});

Deno.test({
  name: "decodeHeader() and decodeMessage() throw only FrameError on random garbage",
  permissions: "none",
  fn() {
    const next = prng(0xf11e5);
    const buf = new Uint8Array(64);
    for (let i = 0; i < 20_000; i++) {
      const n = next() % buf.length;
      for (let j = 0; j < n; j++) buf[j] = next() & 0xff;
      const bytes = buf.subarray(0, n);
      for (const fn of [() => decodeHeader(bytes), () => decodeMessage(bytes)]) {
        try {
          const out = fn();
          assert.ok(typeof out === "object" && out !== null);
        } catch (err) {
          assert.ok(err instanceof FrameError, `seed step ${i}: ${err}`);
        }
      }
    }
  },
});

Deno.test({
  name: "writeHeader() rejects lengths a peer would refuse",
  permissions: "none",
  async fn(t) {
    const target = new Uint8Array(HEADER_BYTES);
    for (
      const [type, length] of [
        [FRAME_MSG, -1],
        [FRAME_MSG, 1.5],
        [FRAME_MSG, NaN],
        [FRAME_MSG, MAX_MSG_BYTES + 1],
        [FRAME_DATA, MAX_DATA_BYTES + 1],
      ] as const
    ) {
      await t.step(`type ${type}, length ${length}`, () => {
        assert.throws(() => writeHeader(target, 0, type, length), RangeError);
      });
    }
    await t.step("writes at an offset without touching the bytes around it", () => {
      const buf = new Uint8Array(9).fill(0xaa);
      writeHeader(buf, 2, FRAME_DATA, 0x010203);
      assert.deepEqual([...buf], [0xaa, 0xaa, FRAME_DATA, 0, 1, 2, 3, 0xaa, 0xaa]);
    });
  },
});

Deno.test({
  name: "encodeMessage() makes one MSG frame that decodes back to the object",
  permissions: "none",
  fn() {
    const msg = { op: "upload", path: "ünï cödé/日本語 <EOF>.txt", size: 3, overwrite: true };
    const frame = encodeMessage(msg);
    const h = decodeHeader(frame);
    assert.equal(h.type, FRAME_MSG);
    assert.equal(h.length, frame.length - HEADER_BYTES);
    assert.equal(h.length, enc.encode(JSON.stringify(msg)).length, "length counts UTF-8 bytes");
    assert.deepEqual(decodeMessage(frame.subarray(HEADER_BYTES)), msg);
  },
});

Deno.test({
  name: "encodeMessage() accepts exactly 64 KiB and rejects one byte more",
  permissions: "none",
  fn() {
    // {"p":"xxx..."} is 8 bytes of JSON around the string.
    const fits = { p: "x".repeat(MAX_MSG_BYTES - 8) };
    assert.equal(encodeMessage(fits).length, HEADER_BYTES + MAX_MSG_BYTES);
    assert.throws(() => encodeMessage({ p: "x".repeat(MAX_MSG_BYTES - 7) }), RangeError);
    // Multi-byte characters count as bytes, not characters.
    assert.throws(() => encodeMessage({ p: "ü".repeat(MAX_MSG_BYTES / 2) }), RangeError);
  },
});

Deno.test({
  name: "decodeMessage() rejects what is not a UTF-8 JSON object",
  permissions: "none",
  async fn(t) {
    await t.step("non-UTF-8 bytes", () => {
      for (
        const bytes of [
          [0xff],
          [0x7b, 0x22, 0xc3, 0x28, 0x22, 0x7d], // {"<bad 2-byte>"}
          [0x7b, 0x7d, 0x80], // {} then a stray continuation byte
          [0xed, 0xa0, 0x80], // an encoded lone surrogate
          [0xc0, 0xaf], // overlong "/"
        ]
      ) {
        rejectsFrame(() => decodeMessage(new Uint8Array(bytes)), /UTF-8/);
      }
    });
    await t.step("invalid or truncated JSON", () => {
      for (const text of ["", "{", '{"op":"dir"', "{op:1}", "{'a':1}", '{"a":1}x', "\u0000"]) {
        rejectsFrame(() => decodeMessage(enc.encode(text)), /JSON/);
      }
    });
    await t.step("JSON that is not an object", () => {
      for (const text of ["null", "[]", '[{"op":"dir"}]', "1", '"dir"', "true"]) {
        rejectsFrame(() => decodeMessage(enc.encode(text)), /not a JSON object/);
      }
    });
    await t.step("a plain object passes", () => {
      assert.deepEqual(decodeMessage(enc.encode(' {"op":"dir","path":""} ')), {
        op: "dir",
        path: "",
      });
    });
  },
});

Deno.test({
  name: "writeDataHeader() frames the body behind the reserved header, length-checked",
  permissions: "none",
  fn() {
    const reserved = new Uint8Array(HEADER_BYTES + 3);
    reserved.set([7, 8, 9], HEADER_BYTES);
    assert.equal(writeDataHeader(reserved), reserved, "frames in place");
    assert.deepEqual(decodeHeader(reserved), { type: FRAME_DATA, length: 3 });
    assert.deepEqual([...reserved.subarray(HEADER_BYTES)], [7, 8, 9]);
    assert.throws(() => writeDataHeader(new Uint8Array(HEADER_BYTES - 1)), RangeError);
    // The test helper encodeData() builds whole frames through it.
    const chunk = enc.encode("a<EOF>b");
    const frame = encodeData(chunk);
    assert.deepEqual(decodeHeader(frame), { type: FRAME_DATA, length: chunk.length });
    assert.deepEqual(frame.subarray(HEADER_BYTES), chunk);
    chunk[0] = 0;
    assert.equal(frame[HEADER_BYTES], "a".charCodeAt(0), "the frame holds a copy");
    assert.deepEqual(decodeHeader(encodeData(new Uint8Array(0))), { type: FRAME_DATA, length: 0 });
    assert.throws(() => encodeData(new Uint8Array(MAX_DATA_BYTES + 1)), RangeError);
  },
});

/** A connected loopback pair: the FrameConn under test and the raw peer socket. */
async function pair(): Promise<{ conn: FrameConn; peer: Deno.TcpConn } & AsyncDisposable> {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const [peer, accepted] = await Promise.all([
    Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
    listener.accept(),
  ]);
  const conn = new FrameConn(accepted);
  return {
    conn,
    peer,
    [Symbol.asyncDispose]: () => {
      conn.close();
      try {
        peer.close();
      } catch {
        // closed by the test
      }
      return Promise.resolve();
    },
  };
}

Deno.test("FrameConn.readMessage() reads frames split across many small writes", async () => {
  await using p = await pair();
  const frames = [encodeMessage({ op: "a" }), encodeMessage({ op: "b", s: "ü".repeat(30_000) })];
  const all = new Uint8Array(frames[0].length + frames[1].length);
  all.set(frames[0]);
  all.set(frames[1], frames[0].length);
  const writing = (async () => {
    for (let i = 0; i < all.length; i += 7001) {
      await writeAll(p.peer, all.subarray(i, i + 7001));
    }
    p.peer.close();
  })();
  assert.deepEqual(await p.conn.readMessage(), { op: "a" });
  assert.equal((await p.conn.readMessage())?.s, "ü".repeat(30_000));
  assert.equal(await p.conn.readMessage(), null, "clean EOF between frames is null");
  await writing;
});

Deno.test("FrameConn.readMessage() fails on a frame cut off in the middle", async (t) => {
  const frame = encodeMessage({ op: "dir", path: "x" });
  for (
    const [name, cut] of [["inside the header", 3], ["inside the body", frame.length - 2]] as const
  ) {
    await t.step(name, async () => {
      await using p = await pair();
      await writeAll(p.peer, frame.subarray(0, cut));
      p.peer.close();
      // A peer that leaves mid-frame is a disconnect (logged as CANCELLED), not bad input.
      await assert.rejects(p.conn.readMessage(), (err: unknown) => {
        assert.ok(err instanceof ConnectionError, String(err));
        assert.equal(err.code, "CANCELLED");
        assert.match(err.message, /closed in the middle|before the message body/);
        return true;
      });
    });
  }
});

Deno.test("FrameConn.readMessage() maps bad frames to ProtocolError (BAD_REQUEST)", async (t) => {
  const cases: [string, Uint8Array][] = [
    ["unknown type byte", header(0x7f, 2)],
    ["oversize length", header(FRAME_MSG, MAX_MSG_BYTES + 1)],
    ["a DATA frame where a message belongs", encodeData(new Uint8Array(4))],
    ["invalid JSON", new Uint8Array([...header(FRAME_MSG, 3), ...enc.encode("{x}")])],
    ["non-UTF-8", new Uint8Array([...header(FRAME_MSG, 2), 0xff, 0xfe])],
  ];
  for (const [name, bytes] of cases) {
    await t.step(name, async () => {
      await using p = await pair();
      await writeAll(p.peer, bytes);
      await assert.rejects(p.conn.readMessage(), (err: unknown) => {
        assert.ok(err instanceof ProtocolError, String(err));
        assert.equal(err.code, "BAD_REQUEST");
        return true;
      });
    });
  }
});

Deno.test("FrameConn times out a read that waits too long and reports ConnectionError", async () => {
  await using p = await pair();
  p.conn.timeoutMs = 100;
  const started = performance.now();
  await assert.rejects(p.conn.readMessage(), (err: unknown) => {
    assert.ok(err instanceof ConnectionError, String(err));
    assert.match(err.message, /No data for 0\.1 s/);
    return true;
  });
  assert.ok(performance.now() - started < 5_000);
  assert.equal(p.conn.closed, true);
});

Deno.test("FrameConn.sendDataFrame() and readDataBody() carry bytes without a copy", async () => {
  await using p = await pair();
  await using other = await pair();
  const body = enc.encode("head<EOF>tail");
  const frame = new Uint8Array(HEADER_BYTES + body.length);
  frame.set(body, HEADER_BYTES);
  // Send from `other.conn` to its peer, then relay those raw bytes to `p.conn`.
  await other.conn.sendDataFrame(frame);
  const raw = new Uint8Array(frame.length);
  let got = 0;
  while (got < raw.length) got += (await other.peer.read(raw.subarray(got)))!;
  await writeAll(p.peer, raw);
  const h = await p.conn.readHeader();
  assert.deepEqual(h, { type: FRAME_DATA, length: body.length });
  const target = new Uint8Array(body.length);
  await p.conn.readDataBody(target);
  assert.deepEqual(target, body);
});
