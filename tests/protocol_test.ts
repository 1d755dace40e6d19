import assert from "node:assert/strict";
import { encodeData } from "./_frames.ts";
import {
  decodeHeader,
  decodeMessage,
  encodeMessage,
  FRAME_DATA,
  FRAME_MSG,
  FrameError,
  MAX_DATA_BYTES,
  MAX_MSG_BYTES,
} from "../lib/protocol/frame.ts";
import { parseHello, parseRequest, parseTrailer } from "../lib/protocol/messages.ts";
import { ProtocolError } from "../lib/protocol/errors.ts";
import { isInside, parseRemotePath } from "../lib/store/paths.ts";
import { PathError } from "../lib/protocol/errors.ts";
import {
  clientFinal,
  clientFirst,
  credentialsFromSalted,
  decodeSaslName,
  encodeSaslName,
  parseClientFirst,
  parseServerFirst,
  saltedPassword,
  ScramError,
  serverFinal,
  serverFirst,
  unb64,
  verifyServerFinal,
} from "../lib/auth/scram.ts";

const pure = { permissions: "none" } as const;

function header(type: number, length: number): Uint8Array {
  const b = new Uint8Array(5);
  b[0] = type;
  new DataView(b.buffer).setUint32(1, length);
  return b;
}

Deno.test({
  ...pure,
  name: "encodeMessage() and decodeHeader()/decodeMessage() round-trip",
  fn() {
    const msg = { op: "upload", path: "ünï cödé/<EOF>.txt", size: 3 };
    const frame = encodeMessage(msg);
    const h = decodeHeader(frame);
    assert.equal(h.type, FRAME_MSG);
    assert.equal(h.length, frame.length - 5);
    assert.deepEqual(decodeMessage(frame.subarray(5)), msg);
    const data = encodeData(new Uint8Array([1, 2, 3]));
    assert.deepEqual(decodeHeader(data), { type: FRAME_DATA, length: 3 });
    assert.deepEqual([...data.subarray(5)], [1, 2, 3]);
  },
});

Deno.test({
  ...pure,
  name: "decodeHeader() rejects truncated, oversize and unknown frames",
  async fn(t) {
    await t.step("truncated header", () => {
      assert.throws(() => decodeHeader(new Uint8Array([1, 0, 0])), FrameError);
    });
    await t.step("message over 64 KiB", () => {
      assert.throws(() => decodeHeader(header(FRAME_MSG, MAX_MSG_BYTES + 1)), /exceeds/);
      assert.equal(decodeHeader(header(FRAME_MSG, MAX_MSG_BYTES)).length, MAX_MSG_BYTES);
    });
    await t.step("data over 1 MiB", () => {
      assert.throws(() => decodeHeader(header(FRAME_DATA, MAX_DATA_BYTES + 1)), /exceeds/);
    });
    await t.step("length 2^32-1 is refused before any allocation", () => {
      assert.throws(() => decodeHeader(header(FRAME_MSG, 0xffffffff)), FrameError);
    });
    await t.step("unknown type", () => {
      for (const type of [0x00, 0x03, 0x7f, 0xff]) {
        assert.throws(() => decodeHeader(header(type, 1)), /Unknown frame type/);
      }
    });
  },
});

Deno.test({
  ...pure,
  name: "decodeMessage() rejects garbage",
  fn() {
    const enc = (s: string) => new TextEncoder().encode(s);
    assert.throws(() => decodeMessage(new Uint8Array([0xff, 0xfe])), /UTF-8/);
    assert.throws(() => decodeMessage(enc("{not json")), /JSON/);
    assert.throws(() => decodeMessage(enc("")), /JSON/);
    assert.throws(() => decodeMessage(enc("[1,2]")), /object/);
    assert.throws(() => decodeMessage(enc("null")), /object/);
    assert.throws(() => decodeMessage(enc('"str"')), /object/);
  },
});

Deno.test({
  ...pure,
  name: "encodeMessage() refuses a message over the limit",
  fn() {
    assert.throws(() => encodeMessage({ big: "x".repeat(MAX_MSG_BYTES) }), RangeError);
  },
});

Deno.test({
  ...pure,
  name: "parseRequest() validates every field",
  async fn(t) {
    await t.step("good requests", () => {
      assert.deepEqual(parseRequest({ op: "upload", path: "a", size: 5 }), {
        op: "upload",
        path: "a",
        size: 5,
        overwrite: false,
        eager: false,
      });
      assert.deepEqual(parseRequest({ op: "rmdir", path: "a", recursive: true }), {
        op: "rmdir",
        path: "a",
        recursive: true,
      });
    });
    await t.step("bad requests", () => {
      const bad: Record<string, unknown>[] = [
        { op: "nope" },
        {},
        { op: "upload", path: "a", size: -1 },
        { op: "upload", path: "a", size: 1.5 },
        { op: "upload", path: "a", size: "5" },
        { op: "upload", path: "a", size: 2 ** 53 },
        { op: "upload", path: 7, size: 1 },
        { op: "upload", path: "a", size: 1, overwrite: "yes" },
        { op: "upload", path: "a", size: 10_000_000, eager: true },
        { op: "download" },
        { op: "auth_start", mechanism: "PLAIN", message: "x" },
        { op: "bench_mark", phase: "middle", run: "r", stats: {} },
        { op: "bench_mark", phase: "start", run: "bad run id!", stats: {} },
      ];
      for (const msg of bad) {
        assert.throws(() => parseRequest(msg), ProtocolError, JSON.stringify(msg));
      }
    });
    await t.step("hello", () => {
      assert.equal(
        parseHello({ op: "hello", protocol: "fileshare", versions: [1], client: "x" }).versions[0],
        1,
      );
      assert.throws(() => parseHello({ op: "dir", path: "" }), ProtocolError);
      assert.throws(
        () => parseHello({ op: "hello", protocol: "fileshare", versions: [], client: "x" }),
        ProtocolError,
      );
      assert.throws(
        () => parseHello({ op: "hello", protocol: "fileshare", versions: [0.5], client: "x" }),
        ProtocolError,
      );
    });
    await t.step("trailer", () => {
      assert.deepEqual(parseTrailer({ op: "end", sha256: "a".repeat(64) }), {
        op: "end",
        sha256: "a".repeat(64),
      });
      assert.throws(() => parseTrailer({ op: "end", sha256: "A".repeat(64) }), ProtocolError);
      assert.throws(() => parseTrailer({ op: "end", sha256: "abc" }), ProtocolError);
      assert.equal(parseTrailer({ op: "abort", code: "WHATEVER" }).op, "abort");
      assert.throws(() => parseTrailer({ op: "dir" }), ProtocolError);
    });
  },
});

const HOSTILE_PATHS = [
  "..",
  "../x",
  "a/../../b",
  "a/..",
  "x/../y",
  "/etc/passwd",
  "/",
  "//server/share",
  "a\u0000b",
  "a\nb",
  "a\rb",
  "\u001b[31m",
  "a\u007fb",
  "..\\x",
  "a\\b",
  "C:x",
  "C:\\Windows",
  "c:/windows",
  "Z:",
  "x".repeat(256),
  `a/${"é".repeat(128)}`,
  "a/".repeat(2100),
  ".fileshare-tmp-abc",
  "dir/.fileshare-tmp-0123",
];

Deno.test({
  ...pure,
  name: "parseRemotePath() refuses a corpus of hostile paths",
  fn() {
    for (const p of HOSTILE_PATHS) {
      assert.throws(() => parseRemotePath(p), PathError, `accepted ${JSON.stringify(p)}`);
    }
  },
});

Deno.test({
  ...pure,
  name: "parseRemotePath() normalises good paths",
  fn() {
    const cases: [string, string[]][] = [
      ["", []],
      [".", []],
      ["./", []],
      ["a", ["a"]],
      ["a//b/", ["a", "b"]],
      ["./a/./b", ["a", "b"]],
      ["with space/ünï cödé.txt", ["with space", "ünï cödé.txt"]],
      ["..a", ["..a"]],
      ["a..b", ["a..b"]],
      [".hidden", [".hidden"]],
      ["x".repeat(255), ["x".repeat(255)]],
      ["日本語/ファイル", ["日本語", "ファイル"]],
    ];
    for (const [input, segments] of cases) {
      const p = parseRemotePath(input);
      assert.deepEqual(p.segments, segments, input);
      assert.equal(p.text, segments.join("/"));
    }
  },
});

Deno.test({
  ...pure,
  name: "parseRemotePath() prefixes the context to its error",
  fn() {
    assert.throws(
      () => parseRemotePath("../x", 'Cannot delete "../x"'),
      (e: Error) => e.message.startsWith('Cannot delete "../x": Path "../x" leaves'),
    );
  },
});

Deno.test({
  ...pure,
  name: "isInside() compares whole path segments",
  fn() {
    assert.equal(isInside("/srv/root", "/srv/root"), true);
    assert.equal(isInside("/srv/root", "/srv/root/a"), true);
    assert.equal(isInside("/srv/root", "/srv/rootkit"), false);
    assert.equal(isInside("/srv/root", "/srv"), false);
    assert.equal(isInside("/", "/etc"), true);
  },
});

// RFC 7677 section 3.
const RFC = {
  user: "user",
  password: "pencil",
  clientNonce: "rOprNGfwEbeRWgbNEkqO",
  serverNonce: "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
  salt: "W22ZaJ0SNY7soEsUEjb6gQ==",
  iterations: 4096,
  clientFirst: "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
  serverFirst:
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
  clientFinal:
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
  serverFinal: "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
};

Deno.test({
  ...pure,
  name: "SCRAM client half reproduces the RFC 7677 exchange",
  async fn() {
    const first = clientFirst(RFC.user, RFC.clientNonce);
    assert.equal(first.message, RFC.clientFirst);
    const server = parseServerFirst(RFC.serverFirst, RFC.clientNonce);
    assert.equal(server.iterations, 4096);
    const salted = await saltedPassword(RFC.password, server.salt, server.iterations);
    const final = clientFinal(first, server, salted);
    assert.equal(final.message, RFC.clientFinal);
    verifyServerFinal(RFC.serverFinal, final);
    assert.throws(
      () => verifyServerFinal("v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", final),
      ScramError,
    );
    assert.throws(() => verifyServerFinal("e=other-error", final), ScramError);
  },
});

Deno.test({
  ...pure,
  name: "SCRAM server half reproduces the RFC 7677 exchange",
  async fn() {
    const salt = unb64(RFC.salt);
    const salted = await saltedPassword(RFC.password, salt, RFC.iterations);
    const creds = credentialsFromSalted(salted, salt, RFC.iterations);
    const parsed = parseClientFirst(RFC.clientFirst);
    assert.equal(parsed.user, "user");
    const state = serverFirst(parsed, creds, RFC.serverNonce);
    assert.equal(state.message, RFC.serverFirst);
    assert.equal(serverFinal(state, RFC.clientFinal), RFC.serverFinal);
    // A wrong proof is a clean failure, not an exception.
    const wrong = RFC.clientFinal.replace("p=dHzb", "p=dHzc");
    assert.equal(serverFinal(state, wrong), null);
    assert.throws(
      () => serverFinal(state, RFC.clientFinal.replace("r=rOpr", "r=XOpr")),
      ScramError,
    );
    assert.throws(() => serverFinal(state, "c=biws,r=x"), ScramError);
  },
});

Deno.test({
  ...pure,
  name: "SCRAM parsers reject malformed messages",
  fn() {
    for (
      const m of [
        "",
        "p=tls-unique,,n=u,r=x",
        "a=admin,n=u,r=x",
        "n,,n=u",
        "n,,r=x,n=u",
        "n,,n=u,r=x,m=ext",
      ]
    ) {
      assert.throws(() => parseClientFirst(m), ScramError, m);
    }
    const bad = [
      "r=other,s=AAAA,i=4096",
      "r=rOprNGfwEbeRWgbNEkqO,s=AAAA,i=4096",
      "r=rOprNGfwEbeRWgbNEkqOx,s=AAAA,i=100",
      "r=rOprNGfwEbeRWgbNEkqOx,s=AAAA,i=99999999999",
      "r=rOprNGfwEbeRWgbNEkqOx,i=4096",
      "r=rOprNGfwEbeRWgbNEkqOx,s=!!,i=4096",
    ];
    for (const m of bad) assert.throws(() => parseServerFirst(m, RFC.clientNonce), ScramError, m);
    assert.equal(encodeSaslName("a,b=c"), "a=2Cb=3Dc");
    assert.equal(decodeSaslName("a=2Cb=3Dc"), "a,b=c");
    assert.throws(() => decodeSaslName("a=4"), ScramError);
  },
});
