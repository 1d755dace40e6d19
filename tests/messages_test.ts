import assert from "node:assert/strict";
import {
  abortTrailer,
  authFinalRequest,
  authStartRequest,
  benchMarkRequest,
  deleteRequest,
  dirRequest,
  downloadRequest,
  EAGER_MAX_BYTES,
  endTrailer,
  helloRequest,
  mkdirRequest,
  parseHello,
  parseRequest,
  parseTrailer,
  PROTOCOL_NAME,
  PROTOCOL_VERSIONS,
  renameRequest,
  type Request,
  rmdirRequest,
  uploadRequest,
} from "../lib/protocol/messages.ts";
import {
  asErrorResponse,
  authContinueResponse,
  authOkResponse,
  dirResponse,
  downloadResponse,
  errorResponse,
  helloResponse,
  okResponse,
  parseAuthContinueResponse,
  parseAuthOkResponse,
  parseDirResponse,
  parseDownloadResponse,
  parseHelloResponse,
  parseOkResponse,
  parseReadyResponse,
  parseUploadResponse,
  readyResponse,
  responseError,
  uploadResponse,
} from "../lib/protocol/responses.ts";
import { AuthError, FileshareError, ProtocolError } from "../lib/protocol/errors.ts";
import { decodeMessage, encodeMessage, HEADER_BYTES } from "../lib/protocol/frame.ts";

const pure = { permissions: "none" } as const;

/** What the peer sees: the message through the codec and back. */
function wire(message: object): Record<string, unknown> {
  return decodeMessage(encodeMessage(message).subarray(HEADER_BYTES));
}

const SHA = "ab".repeat(32);

Deno.test({
  ...pure,
  name: "request builders produce what parseRequest() accepts unchanged",
  async fn(t) {
    const requests: Request[] = [
      authStartRequest("n,,n=alice,r=abc"),
      authFinalRequest("c=biws,r=abc,p=xyz"),
      uploadRequest("a/b.txt", 10),
      uploadRequest("a/b.txt", EAGER_MAX_BYTES, { overwrite: true, eager: true }),
      downloadRequest("a/b.txt"),
      deleteRequest("a/b.txt"),
      dirRequest(""),
      mkdirRequest("a/c"),
      rmdirRequest("a", true),
      renameRequest("a/b.txt", "c/d.txt", false),
      uploadRequest("stream.tar", null),
      uploadRequest("t.txt", 3, { mtime: new Date("2021-01-02T03:04:05.678Z") }),
      benchMarkRequest("start", "run_1", { clients: 2, files: 3, op: "mixed" }),
    ];
    for (const req of requests) {
      await t.step(`${req.op} ${JSON.stringify(req)}`, () => {
        assert.deepEqual(parseRequest(wire(req)), req);
      });
    }
    assert.deepEqual(uploadRequest("x", 1), {
      op: "upload",
      path: "x",
      size: 1,
      overwrite: false,
      eager: false,
    });
  },
});

Deno.test({
  ...pure,
  name: "parseRequest() refuses an eager body of unknown size and a time that is not one",
  fn() {
    const up = { op: "upload", path: "x", overwrite: false };
    assert.throws(() => parseRequest({ ...up, size: null, eager: true }), /eager/);
    assert.throws(() => parseRequest({ ...up, size: 1, mtime: "yesterday" }), /mtime/);
    assert.throws(() => parseRequest({ ...up, size: -1 }), /size/);
    assert.throws(() => parseRequest({ op: "rename", from: "a" }), /"to"/);
  },
});

Deno.test({
  ...pure,
  name: "parseRequest() refuses to resume or keep an upload of unknown size (a stream)",
  fn() {
    const up = { op: "upload", path: "x", overwrite: false, eager: false };
    assert.throws(() => parseRequest({ ...up, size: null, resume: true }), /known size/);
    assert.throws(() => parseRequest({ ...up, size: null, keepPartial: true }), /known size/);
    const ok = parseRequest({
      ...up,
      size: 5,
      resume: true,
      keepPartial: true,
      mtime: "2024-03-01T10:00:00.000Z",
    });
    assert.deepEqual(ok, {
      ...up,
      size: 5,
      resume: true,
      keepPartial: true,
      mtime: "2024-03-01T10:00:00.000Z",
    });
  },
});

Deno.test({
  ...pure,
  name: "helloRequest() names this build's protocol and versions, with an optional run",
  fn() {
    const hello = helloRequest("fileshare-client/9.9.9");
    assert.deepEqual(parseHello(wire(hello)), hello);
    assert.equal(hello.protocol, PROTOCOL_NAME);
    assert.deepEqual(hello.versions, [...PROTOCOL_VERSIONS]);
    assert.equal("run" in hello, false);
    assert.equal(parseHello(wire(helloRequest("c", "r-1"))).run, "r-1");
  },
});

Deno.test({
  ...pure,
  name: "endTrailer() and abortTrailer() round-trip through parseTrailer()",
  fn() {
    assert.deepEqual(parseTrailer(wire(endTrailer(SHA))), { op: "end", sha256: SHA });
    assert.deepEqual(parseTrailer(wire(abortTrailer("CANCELLED", "Transfer cancelled"))), {
      op: "abort",
      code: "CANCELLED",
      message: "Transfer cancelled",
    });
  },
});

Deno.test({
  ...pure,
  name: "response builders round-trip through their validators",
  async fn(t) {
    await t.step("hello", () => {
      const r = helloResponse(1, "fileshare/1");
      assert.deepEqual(parseHelloResponse(wire(r)), r);
    });
    await t.step("auth continue and ok", () => {
      assert.deepEqual(parseAuthContinueResponse(wire(authContinueResponse("r=x"))), {
        status: "continue",
        message: "r=x",
      });
      assert.deepEqual(parseAuthOkResponse(wire(authOkResponse("v=abc", true))), {
        status: "ok",
        message: "v=abc",
        readOnly: true,
      });
    });
    await t.step("ready, upload, ok", () => {
      assert.deepEqual(parseReadyResponse(wire(readyResponse())), { status: "ready" });
      assert.deepEqual(parseUploadResponse(wire(uploadResponse(5, SHA))), {
        status: "ok",
        bytes: 5,
        sha256: SHA,
      });
      assert.deepEqual(parseOkResponse(wire(okResponse())), { status: "ok" });
    });
    await t.step("download carries size and ISO mtime", () => {
      const mtime = new Date(Date.UTC(2026, 10, 24, 16));
      assert.deepEqual(parseDownloadResponse(wire(downloadResponse(7, mtime))), {
        status: "ok",
        size: 7,
        mtime: "2026-11-24T16:00:00.000Z",
      });
    });
    await t.step("dir pages keep entries and the more flag", () => {
      const entries = [
        { name: "a", type: "file" as const, size: 1, mtime: "2026-11-24T16:00:00.000Z" },
        { name: "d", type: "dir" as const, size: 0, mtime: "2026-11-24T16:00:00.000Z" },
      ];
      assert.deepEqual(parseDirResponse(wire(dirResponse(entries, true))), {
        status: "ok",
        entries,
        more: true,
      });
      assert.equal(parseDirResponse(wire(dirResponse([], false))).more, false);
    });
  },
});

Deno.test({
  ...pure,
  name: "response validators throw the error an error response carries",
  fn() {
    const notFound = wire(errorResponse("NOT_FOUND", 'Cannot download "x": not found'));
    for (const parse of [parseOkResponse, parseDownloadResponse, parseDirResponse]) {
      assert.throws(() => parse(notFound), (e: unknown) => {
        assert.ok(e instanceof FileshareError);
        assert.equal(e.code, "NOT_FOUND");
        assert.equal(e.message, 'Cannot download "x": not found');
        assert.equal(e instanceof AuthError, false);
        return true;
      });
    }
    const denied = wire(errorResponse("AUTH_FAILED", "Authentication failed"));
    assert.throws(() => parseAuthOkResponse(denied), (e: unknown) => {
      assert.ok(e instanceof AuthError);
      assert.equal(e.name, "AuthError");
      assert.equal(e.code, "AUTH_FAILED");
      return true;
    });
    assert.ok(responseError(errorResponse("AUTH_FAILED", "x")) instanceof AuthError);
    assert.deepEqual(asErrorResponse({ status: "error", code: "NOPE" }), {
      status: "error",
      code: "INTERNAL",
      message: "Unknown error",
    });
    assert.equal(asErrorResponse({ status: "ok" }), null);
  },
});

Deno.test({
  ...pure,
  name: "response validators reject a wrong status or malformed fields with ProtocolError",
  async fn(t) {
    const cases: [string, () => unknown][] = [
      ["ready where ok belongs", () => parseOkResponse({ status: "ready" })],
      ["ok where ready belongs", () => parseReadyResponse({ status: "ok" })],
      ["no status", () => parseOkResponse({})],
      [
        "hello with a version never offered",
        () => parseHelloResponse({ status: "ok", version: 99, server: "x" }),
      ],
      ["continue without a message", () => parseAuthContinueResponse({ status: "continue" })],
      ["auth ok without a signature", () => parseAuthOkResponse({ status: "ok" })],
      [
        "download with a negative size",
        () => parseDownloadResponse({ status: "ok", size: -1, mtime: "" }),
      ],
      [
        "download with a fractional size",
        () => parseDownloadResponse({ status: "ok", size: 1.5, mtime: "" }),
      ],
      ["upload without a hash", () => parseUploadResponse({ status: "ok", bytes: 1 })],
      ["listing that is not a list", () => parseDirResponse({ status: "ok", entries: {} })],
      [
        "listing with a bad entry",
        () => parseDirResponse({ status: "ok", entries: [{ name: "a", type: "link", size: 0 }] }),
      ],
    ];
    for (const [name, fn] of cases) {
      await t.step(name, () => assert.throws(fn, ProtocolError));
    }
  },
});
