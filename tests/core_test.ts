import assert from "node:assert/strict";
import { encodeData } from "./_frames.ts";
import { createHash } from "node:crypto";
import { FileshareError } from "../lib/protocol/errors.ts";
import { encodeMessage } from "../lib/protocol/frame.ts";
import { TEMP_PREFIX } from "../lib/store/paths.ts";
import type { ByteSource } from "../lib/transfer.ts";
import {
  listTree,
  openConn,
  rawSession,
  sha256File,
  startServer,
  type TestServer,
  waitFor,
  writeRandomFile,
} from "./_helpers.ts";

const enc = new TextEncoder();

function bytesSource(data: Uint8Array): ByteSource {
  let off = 0;
  return {
    read(p) {
      if (off >= data.length) return Promise.resolve(null);
      const n = Math.min(p.length, data.length - off);
      p.set(data.subarray(off, off + n));
      off += n;
      return Promise.resolve(n);
    },
  };
}

/** A source of `size` pseudo-random bytes that may be slowed down and aborted. */
function slowSource(size: number, delayMs: number): ByteSource {
  let sent = 0;
  return {
    async read(p) {
      if (sent >= size) return null;
      await new Promise((r) => setTimeout(r, delayMs));
      const n = Math.min(p.length, size - sent, 256 * 1024);
      p.fill(7, 0, n);
      sent += n;
      return n;
    },
  };
}

function sha(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

async function rejects(
  p: Promise<unknown>,
  code: string,
  message?: RegExp,
): Promise<FileshareError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof FileshareError, `expected FileshareError, got ${err}`);
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return err;
  }
  assert.fail(`expected ${code}`);
}

async function tempFiles(srv: TestServer): Promise<string[]> {
  return (await listTree(srv.root)).filter((p) =>
    p.split("/").some((s) => s.startsWith(TEMP_PREFIX))
  );
}

async function download(
  srv: TestServer,
  client: Awaited<ReturnType<TestServer["connect"]>>,
  remote: string,
) {
  const local = `${srv.dir}/dl-${crypto.randomUUID()}`;
  await client.downloadFile(remote, local);
  const data = await Deno.readFile(local);
  await Deno.remove(local);
  return data;
}

Deno.test("every command works end to end on an in-process server", async (t) => {
  await using srv = await startServer();
  await using c = await srv.connect("alice");

  await t.step("upload and download a file whose bytes contain <EOF>", async () => {
    const data = enc.encode("before<EOF>after<EOF>\r\n\u0000binary");
    const r = await c.upload(bytesSource(data), data.length, "eof.bin");
    assert.equal(r.sha256, sha(data));
    assert.deepEqual(await Deno.readFile(`${srv.root}/eof.bin`), data);
    assert.deepEqual(await download(srv, c, "eof.bin"), data);
  });

  await t.step("a 0-byte file", async () => {
    await c.upload(bytesSource(new Uint8Array()), 0, "empty");
    assert.equal((await Deno.stat(`${srv.root}/empty`)).size, 0);
    assert.equal((await download(srv, c, "empty")).length, 0);
  });

  await t.step("names with spaces and unicode", async () => {
    const name = "with space/ünï cödé 日本.txt";
    await c.mkdir("with space");
    await c.upload(bytesSource(enc.encode("u")), 1, name);
    assert.equal(await Deno.readTextFile(`${srv.root}/${name}`), "u");
    const entries = await c.list("with space");
    assert.deepEqual(entries.map((e) => e.name), ["ünï cödé 日本.txt"]);
  });

  await t.step("dir lists name, type, size and mtime sorted by name", async () => {
    const entries = await c.list("");
    assert.deepEqual(entries.map((e) => [e.name, e.type]), [
      ["empty", "file"],
      ["eof.bin", "file"],
      ["with space", "dir"],
    ]);
    const eof = entries.find((e) => e.name === "eof.bin")!;
    assert.equal(eof.size, (await Deno.stat(`${srv.root}/eof.bin`)).size);
    assert.ok(Math.abs(Date.parse(eof.mtime) - Date.now()) < 60_000);
    await rejects(c.list("nope"), "NOT_FOUND");
    await rejects(c.list("eof.bin"), "BAD_REQUEST", /not a folder/);
  });

  await t.step("dir of a folder with more entries than one frame batch", async () => {
    await c.mkdir("many");
    for (let i = 0; i < 250; i++) {
      await Deno.writeTextFile(`${srv.root}/many/f${String(i).padStart(3, "0")}`, "x");
    }
    const entries = await c.list("many");
    assert.equal(entries.length, 250);
    assert.equal(entries[249].name, "f249");
  });

  await t.step("mkdir creates parents and refuses an existing folder", async () => {
    await c.mkdir("a/b/c");
    assert.ok((await Deno.stat(`${srv.root}/a/b/c`)).isDirectory);
    await rejects(c.mkdir("a/b/c"), "EXISTS");
    await rejects(c.mkdir("eof.bin/x"), "EXISTS", /is a file/);
  });

  await t.step("upload refuses an existing file without overwrite", async () => {
    const before = await Deno.readFile(`${srv.root}/eof.bin`);
    await rejects(c.upload(bytesSource(enc.encode("new")), 3, "eof.bin"), "EXISTS", /--overwrite/);
    assert.deepEqual(await Deno.readFile(`${srv.root}/eof.bin`), before);
    // A body too large to be sent eagerly takes the "ready" path; refused the same way.
    const big = new Uint8Array(600 * 1024).fill(1);
    await rejects(c.upload(bytesSource(big), big.length, "eof.bin"), "EXISTS");
    assert.deepEqual(await Deno.readFile(`${srv.root}/eof.bin`), before);
    await c.upload(bytesSource(big), big.length, "eof.bin", { overwrite: true });
    assert.deepEqual(await Deno.readFile(`${srv.root}/eof.bin`), big);
    await rejects(c.upload(bytesSource(enc.encode("x")), 1, "a"), "EXISTS", /folder/);
    await rejects(c.upload(bytesSource(enc.encode("x")), 1, "missing/dir/f"), "NOT_FOUND");
  });

  await t.step(
    "rmdir refuses a non-empty folder unless recursive, and the root always",
    async () => {
      await rejects(c.rmdir("a"), "NOT_EMPTY", /--recursive/);
      assert.ok((await Deno.stat(`${srv.root}/a/b/c`)).isDirectory);
      await c.rmdir("a/b/c");
      await c.rmdir("a", true);
      assert.equal(await Deno.stat(`${srv.root}/a`).then(() => true, () => false), false);
      await rejects(c.rmdir(""), "DENIED");
      await rejects(c.rmdir(".", true), "DENIED");
      await rejects(c.rmdir("eof.bin"), "BAD_REQUEST", /not a folder/);
      await rejects(c.rmdir("nope"), "NOT_FOUND");
    },
  );

  await t.step("delete removes files only", async () => {
    await rejects(c.delete("with space"), "BAD_REQUEST", /folder/);
    await c.delete("empty");
    await rejects(c.delete("empty"), "NOT_FOUND");
    await rejects(c.delete(""), "BAD_REQUEST");
  });

  await t.step("download of a missing file or a folder fails cleanly", async () => {
    await rejects(
      download(srv, c, "nope.txt"),
      "NOT_FOUND",
      /Cannot download "nope.txt": not found/,
    );
    await rejects(download(srv, c, "with space"), "BAD_REQUEST", /not a file/);
    // The connection is still in step.
    assert.ok((await c.list("")).length > 0);
  });
});

Deno.test("a 200 MiB file goes up and down with matching SHA-256", async () => {
  await using srv = await startServer({ fsync: true });
  await using c = await srv.connect("alice");
  const src = `${srv.dir}/big.bin`;
  await writeRandomFile(src, 200 * 1024 * 1024);
  const want = await sha256File(src);
  const up = await c.uploadFile(src, "big.bin");
  assert.equal(up.sha256, want);
  assert.equal(up.bytes, 200 * 1024 * 1024);
  assert.equal(await sha256File(`${srv.root}/big.bin`), want);
  const dst = `${srv.dir}/back.bin`;
  const down = await c.downloadFile("big.bin", dst);
  assert.equal(down.sha256, want);
  assert.equal(await sha256File(dst), want);
  assert.deepEqual(await tempFiles(srv), []);
});

Deno.test("authentication failures look the same for a wrong password and an unknown user", async () => {
  await using srv = await startServer();
  const attempt = async (user: string, password: string) => {
    const { FileshareClient } = await import("../lib/client/client.ts");
    return await rejects(
      FileshareClient.connect({
        hostname: "127.0.0.1",
        port: srv.port,
        user,
        password,
        tls: srv.tls,
      }),
      "AUTH_FAILED",
    );
  };
  const wrong = await attempt("alice", "not-the-password");
  const unknown = await attempt("mallory", "whatever");
  assert.equal(wrong.message, unknown.message);
  assert.equal(wrong.message, "Authentication failed: wrong user name or password");
  const log = await srv.logLines();
  const fails = log.filter((l) => l.event === "auth_fail");
  assert.deepEqual(fails.map((l) => l.user), ["alice", "mallory"]);
  assert.ok(!log.some((l) => l.event === "auth_ok"));
});

Deno.test("unknown users get a stable fake salt and the default iteration count", async () => {
  await using srv = await startServer();
  const serverFirstFor = async (user: string) => {
    await using conn = await rawSession(srv.port, { login: false });
    await conn.send({
      op: "auth_start",
      mechanism: "SCRAM-SHA-256",
      message: `n,,n=${user},r=abc`,
    });
    const m = String((await conn.expectMessage()).message);
    return { salt: /s=([^,]+)/.exec(m)![1], iterations: /i=(\d+)/.exec(m)![1] };
  };
  const a = await serverFirstFor("ghost");
  const b = await serverFirstFor("ghost");
  const other = await serverFirstFor("phantom");
  const real = await serverFirstFor("alice");
  assert.equal(a.salt, b.salt);
  assert.notEqual(a.salt, other.salt);
  assert.equal(a.iterations, real.iterations);
});

Deno.test("a read-only user may list and download but not change anything", async () => {
  await using srv = await startServer();
  await using alice = await srv.connect("alice");
  await alice.upload(bytesSource(enc.encode("hello")), 5, "shared.txt");
  await alice.mkdir("folder");
  await using bob = await srv.connect("bob");
  assert.equal(bob.readOnly, true);
  assert.equal((await bob.list("")).length, 2);
  assert.equal(new TextDecoder().decode(await download(srv, bob, "shared.txt")), "hello");
  await rejects(bob.upload(bytesSource(enc.encode("x")), 1, "new.txt"), "DENIED", /read-only/);
  const big = new Uint8Array(600 * 1024);
  await rejects(bob.upload(bytesSource(big), big.length, "big.bin"), "DENIED");
  await rejects(bob.delete("shared.txt"), "DENIED");
  await rejects(bob.mkdir("x"), "DENIED");
  await rejects(bob.rmdir("folder"), "DENIED");
  assert.deepEqual(await listTree(srv.root), ["folder/", "shared.txt"]);
  // Still usable after the refusals.
  assert.equal((await bob.list("")).length, 2);
});

Deno.test("traversal and escaping symlinks are refused and nothing outside the root is touched", async () => {
  await using srv = await startServer();
  const outside = `${srv.dir}/outside`;
  await Deno.mkdir(outside);
  await Deno.writeTextFile(`${outside}/secret.txt`, "secret");
  await Deno.symlink(outside, `${srv.root}/escape`);
  await Deno.symlink(`${outside}/secret.txt`, `${srv.root}/secret-link`);
  await Deno.mkdir(`${srv.root}/inside`);
  await Deno.writeTextFile(`${srv.root}/inside/ok.txt`, "ok");
  await Deno.symlink(`${srv.root}/inside`, `${srv.root}/good-link`);
  const before = await listTree(outside);
  await using c = await srv.connect("alice");
  const x = bytesSource(enc.encode("x"));
  for (const p of ["../x", "/etc/passwd", "a/../../x", "..\\x", "C:\\x", "a\u0000b"]) {
    await rejects(c.upload(bytesSource(enc.encode("x")), 1, p), "BAD_REQUEST");
    await rejects(download(srv, c, p), "BAD_REQUEST");
    await rejects(c.delete(p), "BAD_REQUEST");
    await rejects(c.list(p), "BAD_REQUEST");
    await rejects(c.mkdir(p), "BAD_REQUEST");
    await rejects(c.rmdir(p, true), "BAD_REQUEST");
  }
  await rejects(download(srv, c, "escape/secret.txt"), "DENIED", /outside/);
  await rejects(download(srv, c, "secret-link"), "DENIED");
  await rejects(c.list("escape"), "DENIED");
  await rejects(c.upload(x, 1, "escape/new.txt"), "DENIED");
  await rejects(c.mkdir("escape/sub"), "DENIED");
  await rejects(c.rmdir("escape/sub", true), "DENIED");
  await rejects(c.delete("escape/secret.txt"), "DENIED");
  // Links that stay inside work; links leading out are not listed.
  assert.equal(new TextDecoder().decode(await download(srv, c, "good-link/ok.txt")), "ok");
  assert.deepEqual((await c.list("")).map((e) => e.name), ["good-link", "inside"]);
  // Deleting the link itself only removes the link.
  await c.delete("secret-link");
  assert.deepEqual(await listTree(outside), before);
  assert.equal(await Deno.readTextFile(`${outside}/secret.txt`), "secret");
});

Deno.test("an upload cut off mid-body leaves no file and no temporary file", async () => {
  await using srv = await startServer();
  const conn = await rawSession(srv.port);
  await conn.send({ op: "upload", path: "cut.bin", size: 4 * 1024 * 1024, overwrite: false });
  assert.equal((await conn.expectMessage()).status, "ready");
  await conn.writeAll(encodeData(new Uint8Array(1024 * 1024)));
  await conn.writeAll(encodeData(new Uint8Array(512 * 1024)).subarray(0, 1000));
  // The server is mid-body: its temporary file exists but is not listed.
  await waitFor(async () => (await tempFiles(srv)).length === 1);
  await using c = await srv.connect("alice");
  assert.deepEqual(await c.list(""), []);
  conn.close();
  await waitFor(async () => (await srv.logLines()).some((l) => l.event === "upload"));
  assert.deepEqual(await listTree(srv.root), []);
  const line = (await srv.logLines()).find((l) => l.event === "upload")!;
  assert.equal(line.ok, false);
  assert.equal(line.path, "cut.bin");
});

Deno.test("a corrupt upload is refused with INTEGRITY and nothing is written", async (t) => {
  await using srv = await startServer();
  await Deno.writeTextFile(`${srv.root}/keep.txt`, "original");
  await t.step("wrong SHA-256", async () => {
    await using conn = await rawSession(srv.port);
    await conn.send({ op: "upload", path: "keep.txt", size: 3, overwrite: true });
    assert.equal((await conn.expectMessage()).status, "ready");
    await conn.writeAll(encodeData(enc.encode("new")));
    await conn.send({ op: "end", sha256: "0".repeat(64) });
    const reply = await conn.expectMessage();
    assert.equal(reply.code, "INTEGRITY");
    assert.match(String(reply.message), /SHA-256 mismatch/);
    // The connection goes on.
    await conn.send({ op: "dir", path: "" });
    assert.equal((await conn.expectMessage()).status, "ok");
  });
  await t.step("body shorter than declared", async () => {
    await using conn = await rawSession(srv.port);
    await conn.send({ op: "upload", path: "keep.txt", size: 10, overwrite: true, eager: true });
    await conn.writeAll(encodeData(enc.encode("new")));
    await conn.send({ op: "end", sha256: sha(enc.encode("new")) });
    assert.equal((await conn.expectMessage()).code, "INTEGRITY");
  });
  await t.step("body longer than declared", async () => {
    await using conn = await rawSession(srv.port);
    await conn.send({ op: "upload", path: "keep.txt", size: 2, overwrite: true, eager: true });
    await conn.writeAll(encodeData(enc.encode("new")));
    const reply = await conn.expectMessage();
    assert.equal(reply.code, "INTEGRITY");
    assert.equal(await conn.readMessage().catch(() => null), null, "connection is closed");
  });
  assert.equal(await Deno.readTextFile(`${srv.root}/keep.txt`), "original");
  assert.deepEqual(await listTree(srv.root), ["keep.txt"]);
});

Deno.test("nothing but the handshake and login is served before authentication", async () => {
  await using srv = await startServer();
  await Deno.writeTextFile(`${srv.root}/a.txt`, "a");
  for (
    const req of [{ op: "dir", path: "" }, { op: "download", path: "a.txt" }, {
      op: "delete",
      path: "a.txt",
    }]
  ) {
    await using conn = await rawSession(srv.port, { login: false });
    await conn.send(req);
    const reply = await conn.expectMessage();
    assert.equal(reply.code, "AUTH_REQUIRED");
    assert.equal(await conn.readMessage().catch(() => null), null, "connection is closed");
  }
  // Nor before the handshake.
  const raw = await openConn(srv.port);
  await raw.write(encodeMessage({ op: "dir", path: "" }));
  const buf = new Uint8Array(4096);
  const n = await raw.read(buf);
  assert.match(new TextDecoder().decode(buf.subarray(5, n!)), /"BAD_REQUEST"/);
  raw.close();
  assert.equal(await Deno.readTextFile(`${srv.root}/a.txt`), "a");
});

Deno.test("malformed frames close only their connection", async (t) => {
  await using srv = await startServer();
  await using good = await srv.connect("alice");
  const cases: [string, Uint8Array][] = [
    ["unknown frame type", new Uint8Array([0x09, 0, 0, 0, 1, 0])],
    ["oversize length", new Uint8Array([0x01, 0xff, 0xff, 0xff, 0xff])],
    ["invalid JSON", encodeMessage({}).subarray(0, 5).fill(0).map((_, i) => [1, 0, 0, 0, 3][i])],
    ["data frame instead of a message", encodeData(new Uint8Array(10))],
    ["unknown request", encodeMessage({ op: "format_disk" })],
  ];
  for (const [name, bytes] of cases) {
    await t.step(name, async () => {
      await using conn = await rawSession(srv.port);
      const payload = name === "invalid JSON"
        ? new Uint8Array([1, 0, 0, 0, 3, 0x7b, 0x7b, 0x7b])
        : bytes;
      await conn.writeAll(payload);
      const reply = await conn.readMessage();
      assert.equal(reply?.status, "error");
      assert.equal(reply?.code, "BAD_REQUEST");
      assert.equal(await conn.readMessage().catch(() => null), null, "connection is closed");
    });
  }
  // The server goes on serving everyone else.
  assert.deepEqual(await good.list(""), []);
  const errors = (await srv.logLines()).filter((l) => l.event === "error");
  assert.ok(errors.length >= cases.length);
});

Deno.test("a newer-only client gets VERSION and a stranger gets BAD_REQUEST", async () => {
  await using srv = await startServer();
  for (
    const [hello, code] of [
      [{ op: "hello", protocol: "fileshare", versions: [7], client: "future" }, "VERSION"],
      [{ op: "hello", protocol: "ftp", versions: [1], client: "x" }, "BAD_REQUEST"],
    ] as const
  ) {
    const raw = await openConn(srv.port);
    await raw.write(encodeMessage(hello));
    const buf = new Uint8Array(4096);
    const n = await raw.read(buf);
    assert.equal(JSON.parse(new TextDecoder().decode(buf.subarray(5, n!))).code, code);
    raw.close();
  }
});

Deno.test("several clients at once all verify, and a stalled client stalls nobody", async () => {
  await using srv = await startServer();
  // A client that logs in and then sends half a frame and stops.
  const stalled = await rawSession(srv.port);
  await stalled.writeAll(new Uint8Array([1, 0, 0]));
  const clients = await Promise.all(Array.from({ length: 8 }, () => srv.connect("alice")));
  try {
    const payloads = clients.map((_, i) => new Uint8Array(3 * 1024 * 1024 + i).fill(i + 1));
    await Promise.all(
      clients.map((c, i) => c.upload(bytesSource(payloads[i]), payloads[i].length, `f${i}`)),
    );
    const back = await Promise.all(clients.map((c, i) => download(srv, c, `f${(i + 1) % 8}`)));
    back.forEach((data, i) => assert.equal(sha(data), sha(payloads[(i + 1) % 8])));
  } finally {
    for (const c of clients) c.close();
    stalled.close();
  }
});

Deno.test("a download racing with a replacement gets the old or the new file whole", async () => {
  await using srv = await startServer();
  await using writer = await srv.connect("alice");
  await using reader = await srv.connect("alice");
  const versions = [
    new Uint8Array(4 * 1024 * 1024).fill(1),
    new Uint8Array(5 * 1024 * 1024).fill(2),
  ];
  const hashes = versions.map(sha);
  await writer.upload(bytesSource(versions[0]), versions[0].length, "race.bin");
  for (let i = 0; i < 6; i++) {
    const v = versions[(i + 1) % 2];
    const [got] = await Promise.all([
      download(srv, reader, "race.bin"),
      writer.upload(bytesSource(v), v.length, "race.bin", { overwrite: true }),
    ]);
    assert.ok(hashes.includes(sha(got)), "download is one whole version");
  }
});

Deno.test("a cancelled upload leaves nothing and the connection stays usable", async () => {
  await using srv = await startServer();
  await using c = await srv.connect("alice");
  const ac = new AbortController();
  const p = c.upload(slowSource(64 * 1024 * 1024, 5), 64 * 1024 * 1024, "cancel.bin", {
    signal: ac.signal,
    onProgress: (done) => {
      if (done >= 1024 * 1024) ac.abort();
    },
  });
  await rejects(p, "CANCELLED");
  assert.deepEqual(await listTree(srv.root), []);
  await c.upload(bytesSource(enc.encode("after")), 5, "after.txt");
  assert.deepEqual(await listTree(srv.root), ["after.txt"]);
});

Deno.test("download never replaces a local file unless asked", async () => {
  await using srv = await startServer();
  await Deno.writeTextFile(`${srv.root}/r.txt`, "remote");
  const local = `${srv.dir}/r.txt`;
  await Deno.writeTextFile(local, "local");
  await using c = await srv.connect("alice");
  await rejects(c.downloadFile("r.txt", local), "EXISTS", /--overwrite/);
  assert.equal(await Deno.readTextFile(local), "local");
  await c.downloadFile("r.txt", local, { overwrite: true });
  assert.equal(await Deno.readTextFile(local), "remote");
  await rejects(c.downloadFile("missing", `${srv.dir}/m.txt`), "NOT_FOUND");
  assert.equal(await Deno.stat(`${srv.dir}/m.txt`).then(() => true, () => false), false);
  await rejects(c.downloadFile("r.txt", `${srv.dir}/no/such/dir/x`), "BAD_REQUEST");
  // The connection is still in step after the local failure.
  assert.equal((await c.list("")).length, 1);
});

Deno.test("the activity log records every action with documented fields and no secrets", async () => {
  await using srv = await startServer();
  await using c = await srv.connect("alice");
  await c.upload(bytesSource(enc.encode("data")), 4, "x.txt");
  await download(srv, c, "x.txt");
  await c.list("");
  await c.mkdir("d");
  await c.rmdir("d");
  await c.delete("x.txt");
  await rejects(c.delete("x.txt"), "NOT_FOUND");
  c.close();
  await waitFor(async () => (await srv.logLines()).some((l) => l.event === "disconnect"));
  const lines = await srv.logLines();
  const events = lines.map((l) => l.event);
  for (
    const e of [
      "connect",
      "auth_ok",
      "upload",
      "download",
      "dir",
      "mkdir",
      "rmdir",
      "delete",
      "disconnect",
    ]
  ) {
    assert.ok(events.includes(e), `missing ${e}`);
  }
  for (const l of lines) {
    assert.match(String(l.ts), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(typeof l.ok, "boolean");
    assert.equal(typeof l.conn, "number");
    assert.match(String(l.remote), /^127\.0\.0\.1:\d+$/);
  }
  const up = lines.find((l) => l.event === "upload")!;
  assert.equal(up.user, "alice");
  assert.equal(up.path, "x.txt");
  assert.equal(up.bytes, 4);
  assert.equal(up.sha256, sha(enc.encode("data")));
  assert.equal(typeof up.ms, "number");
  const failed = lines.filter((l) => l.event === "delete" && l.ok === false);
  assert.equal(failed.length, 1);
  assert.equal(failed[0].code, "NOT_FOUND");
  const text = await Deno.readTextFile(srv.logPath);
  assert.ok(!text.includes("alice-pw"), "no password in the log");
  assert.ok(!/p=[A-Za-z0-9+/]{20,}/.test(text), "no SCRAM proof in the log");
});

Deno.test("connections over the limit are refused with LIMIT", async () => {
  await using srv = await startServer({ maxConnections: 2 });
  await using a = await srv.connect("alice");
  await using b = await srv.connect("alice");
  await rejects(srv.connect("alice"), "LIMIT");
  a.close();
  await waitFor(() => srv.server.connections < 2);
  await using c = await srv.connect("alice");
  assert.deepEqual(await c.list(""), []);
  assert.deepEqual(await b.list(""), []);
});

Deno.test("idle connections time out", async () => {
  await using srv = await startServer({ idleTimeoutMs: 200 });
  await using conn = await rawSession(srv.port);
  assert.equal(await conn.readMessage().catch(() => null), null);
  await waitFor(async () => (await srv.logLines()).some((l) => l.event === "disconnect"));
  const err = (await srv.logLines()).find((l) => l.event === "error");
  assert.match(String(err?.message), /No data for 0.2 s/);
});

Deno.test("shutdown lets a running upload finish and refuses new connections", async () => {
  const srv = await startServer({ graceMs: 5000 });
  try {
    const c = await srv.connect("alice");
    const size = 8 * 1024 * 1024;
    const upload = c.upload(slowSource(size, 10), size, "slow.bin");
    await waitFor(async () => (await tempFiles(srv)).length === 1);
    const stopping = srv.server.shutdown();
    await upload;
    await stopping;
    c.close();
    assert.equal((await Deno.stat(`${srv.root}/slow.bin`)).size, size);
    await assert.rejects(srv.connect("alice"), /Cannot connect/);
  } finally {
    await srv.close();
  }
});

Deno.test("shutdown cuts transfers that outlast the grace period and removes their temp files", async () => {
  const srv = await startServer({ graceMs: 100 });
  try {
    const c = await srv.connect("alice");
    const size = 64 * 1024 * 1024;
    const upload = c.upload(slowSource(size, 20), size, "never.bin").catch((e) => e);
    await waitFor(async () => (await tempFiles(srv)).length === 1);
    await srv.server.shutdown();
    assert.ok((await upload) instanceof Error);
    c.close();
    assert.deepEqual(await listTree(srv.root), []);
  } finally {
    await srv.close();
  }
});
