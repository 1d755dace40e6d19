import assert from "node:assert/strict";
import { encodeData } from "./_frames.ts";
import { createHash } from "node:crypto";
import type { FileshareClient } from "../lib/client/client.ts";
import { FileshareError } from "../lib/protocol/errors.ts";
import { TEMP_PREFIX } from "../lib/store/paths.ts";
import type { ByteSource } from "../lib/transfer.ts";
import {
  listTree,
  rawSession,
  runTool,
  sha256File,
  startServer,
  USERS,
  waitFor,
  writeRandomFile,
} from "./_helpers.ts";

const enc = new TextEncoder();

function sha(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

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

function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, i + 65536));
  return out;
}

async function upload(
  client: FileshareClient,
  remote: string,
  data: Uint8Array,
  overwrite = false,
) {
  return await client.upload(bytesSource(data), data.length, remote, { overwrite });
}

/** Downloads into memory through the client's own verified path. */
async function download(client: FileshareClient, remote: string): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  await client.download(remote, () =>
    Promise.resolve({
      write(p: Uint8Array) {
        parts.push(p.slice());
        return Promise.resolve(p.length);
      },
    }));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

async function rejectsCode(p: Promise<unknown>, code: string, message?: RegExp) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof FileshareError, `expected FileshareError ${code}, got ${err}`);
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return true;
  });
}

async function tempFiles(dir: string): Promise<string[]> {
  return (await listTree(dir)).filter((p) => p.split("/").some((s) => s.startsWith(TEMP_PREFIX)));
}

async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

Deno.test("FileshareClient runs every command against a real server", async (t) => {
  await using srv = await startServer();
  await using client = await srv.connect("alice");

  await t.step("upload then download gives the same bytes", async () => {
    const data = randomBytes(300_000); // over the eager limit: the ready round trip
    const r = await upload(client, "a.bin", data);
    assert.equal(r.bytes, data.length);
    assert.equal(r.sha256, sha(data));
    assert.deepEqual(await Deno.readFile(`${srv.root}/a.bin`), data);
    assert.deepEqual(await download(client, "a.bin"), data);
  });
  await t.step("a 0-byte file", async () => {
    const r = await upload(client, "empty", new Uint8Array(0));
    assert.equal(r.sha256, sha(new Uint8Array(0)));
    assert.equal((await Deno.stat(`${srv.root}/empty`)).size, 0);
    assert.equal((await download(client, "empty")).length, 0);
  });
  await t.step("a file containing the bytes <EOF> is not cut there", async () => {
    const data = enc.encode("before<EOF>after<EOF>\n<EOF>");
    await upload(client, "eof.txt", data);
    assert.deepEqual(await Deno.readFile(`${srv.root}/eof.txt`), data);
    assert.deepEqual(await download(client, "eof.txt"), data);
  });
  await t.step("names with spaces and unicode", async () => {
    await client.mkdir("dossier été/日本");
    const name = "dossier été/日本/rapport final ü 😀.txt";
    await upload(client, name, enc.encode("ü"));
    assert.equal(await Deno.readTextFile(`${srv.root}/${name}`), "ü");
    assert.deepEqual(await download(client, name), enc.encode("ü"));
    assert.deepEqual((await client.list("dossier été/日本")).map((e) => e.name), [
      "rapport final ü 😀.txt",
    ]);
  });
  await t.step("dir lists name, type, size and mtime, sorted by name", async () => {
    const before = Date.now();
    await upload(client, "z.txt", enc.encode("12345"));
    const entries = await client.list("");
    assert.deepEqual(entries.map((e) => [e.name, e.type]), [
      ["a.bin", "file"],
      ["dossier été", "dir"],
      ["empty", "file"],
      ["eof.txt", "file"],
      ["z.txt", "file"],
    ]);
    const z = entries.find((e) => e.name === "z.txt")!;
    assert.equal(z.size, 5);
    assert.match(z.mtime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(Math.abs(Date.parse(z.mtime) - before) < 60_000, z.mtime);
    const real = (await Deno.stat(`${srv.root}/z.txt`)).mtime!;
    assert.equal(z.mtime, real.toISOString());
    assert.equal(entries.find((e) => e.name === "a.bin")!.size, 300_000);
    // "." and "" and "./" are all the root.
    assert.deepEqual(await client.list("."), entries);
    assert.deepEqual(await client.list("./"), entries);
  });
  await t.step("dir of a missing folder or of a file", async () => {
    await rejectsCode(client.list("nope"), "NOT_FOUND");
    await rejectsCode(client.list("z.txt"), "BAD_REQUEST", /not a folder/);
  });
  await t.step("mkdir creates parents and refuses an existing folder or file", async () => {
    await client.mkdir("p/q/r");
    assert.ok((await Deno.stat(`${srv.root}/p/q/r`)).isDirectory);
    await rejectsCode(client.mkdir("p/q/r"), "EXISTS");
    await rejectsCode(client.mkdir("z.txt"), "EXISTS");
    await rejectsCode(client.mkdir("z.txt/sub"), "EXISTS");
    await rejectsCode(client.mkdir(""), "EXISTS");
  });
  await t.step("upload into a missing folder is NOT_FOUND", async () => {
    await rejectsCode(upload(client, "missing/x.txt", enc.encode("x")), "NOT_FOUND");
    assert.equal(await exists(`${srv.root}/missing`), false);
  });
  await t.step("upload over a folder name is refused", async () => {
    await rejectsCode(upload(client, "p", enc.encode("x"), true), "EXISTS", /folder/);
    assert.ok((await Deno.stat(`${srv.root}/p`)).isDirectory);
  });
  await t.step("rmdir: non-empty refused without recursive, ok with it", async () => {
    await upload(client, "p/q/file.txt", enc.encode("x"));
    await rejectsCode(client.rmdir("p"), "NOT_EMPTY", /use --recursive/);
    assert.ok(await exists(`${srv.root}/p/q/file.txt`));
    await client.rmdir("p/q/r");
    assert.equal(await exists(`${srv.root}/p/q/r`), false);
    await client.rmdir("p", true);
    assert.equal(await exists(`${srv.root}/p`), false);
    await rejectsCode(client.rmdir("p"), "NOT_FOUND");
    await rejectsCode(client.rmdir("z.txt"), "BAD_REQUEST", /not a folder/);
  });
  await t.step("rmdir of the root is refused, even recursively", async () => {
    for (const root of ["", ".", "./", "a/.."]) {
      await rejectsCode(client.rmdir(root, true), root === "a/.." ? "BAD_REQUEST" : "DENIED");
    }
    assert.ok((await Deno.stat(srv.root)).isDirectory);
    assert.ok(await exists(`${srv.root}/z.txt`));
  });
  await t.step("delete removes a file and refuses a folder", async () => {
    await client.delete("z.txt");
    assert.equal(await exists(`${srv.root}/z.txt`), false);
    await rejectsCode(client.delete("z.txt"), "NOT_FOUND");
    await rejectsCode(client.delete("dossier été"), "BAD_REQUEST", /is a folder/);
    assert.ok((await Deno.stat(`${srv.root}/dossier été`)).isDirectory);
    await rejectsCode(client.delete(""), "BAD_REQUEST");
  });
  await t.step("download of a missing file or a folder", async () => {
    await rejectsCode(download(client, "nope.txt"), "NOT_FOUND", /not found/);
    await rejectsCode(download(client, "dossier été"), "BAD_REQUEST", /not a file/);
    // The connection is still in step afterwards.
    assert.deepEqual(await download(client, "eof.txt"), enc.encode("before<EOF>after<EOF>\n<EOF>"));
  });
});

Deno.test("upload of an existing file needs overwrite, and overwrite replaces it", async () => {
  await using srv = await startServer();
  await using client = await srv.connect("alice");
  for (const size of [10, 400_000]) { // eager and non-eager uploads
    const name = `f${size}`;
    const old = randomBytes(size);
    const fresh = randomBytes(size + 1);
    await upload(client, name, old);
    await rejectsCode(upload(client, name, fresh), "EXISTS", /use --overwrite/);
    assert.deepEqual(await Deno.readFile(`${srv.root}/${name}`), old, "file unchanged");
    assert.deepEqual(await tempFiles(srv.root), []);
    await upload(client, name, fresh, true);
    assert.deepEqual(await Deno.readFile(`${srv.root}/${name}`), fresh);
  }
  // The connection stayed usable through the refusals.
  assert.equal((await client.list("")).length, 2);
});

Deno.test("a 200 MiB file goes up and down intact (SHA-256)", async () => {
  await using srv = await startServer();
  const local = `${srv.dir}/big.bin`;
  const size = 200 * 1024 * 1024;
  await writeRandomFile(local, size);
  const expected = await sha256File(local);
  await using client = await srv.connect("alice");
  const up = await client.uploadFile(local, "big.bin");
  assert.equal(up.bytes, size);
  assert.equal(up.sha256, expected);
  assert.equal(await sha256File(`${srv.root}/big.bin`), expected);
  await Deno.remove(local);
  const back = `${srv.dir}/back.bin`;
  const down = await client.downloadFile("big.bin", back, { fsync: false });
  assert.equal(down.bytes, size);
  assert.equal(await sha256File(back), expected);
  assert.equal((await Deno.stat(back)).size, size);
});

Deno.test("wrong password and unknown user fail alike with AUTH_FAILED", async () => {
  await using srv = await startServer();
  const attempt = async (user: string, password: string) => {
    try {
      const c = await import("../lib/client/client.ts").then((m) =>
        m.FileshareClient.connect({
          hostname: "127.0.0.1",
          port: srv.port,
          user,
          password,
          tls: srv.tls,
        })
      );
      c.close();
      return null;
    } catch (err) {
      assert.ok(err instanceof FileshareError, String(err));
      return { code: err.code, message: err.message };
    }
  };
  const wrong = await attempt("alice", "not-the-password");
  const unknown = await attempt("mallory", "whatever");
  assert.ok(wrong !== null && unknown !== null);
  assert.equal(wrong.code, "AUTH_FAILED");
  assert.deepEqual(unknown, wrong);
  // The right password still works afterwards.
  assert.equal(await attempt("alice", USERS.alice.password), null);
});

Deno.test("a read-only user may list and download but every write is DENIED", async () => {
  await using srv = await startServer();
  await Deno.mkdir(`${srv.root}/keep`);
  await Deno.writeTextFile(`${srv.root}/keep/file.txt`, "keep me");
  await using bob = await srv.connect("bob");
  assert.equal(bob.readOnly, true);
  const before = await listTree(srv.root);
  assert.deepEqual((await bob.list("keep")).map((e) => e.name), ["file.txt"]);
  assert.deepEqual(await download(bob, "keep/file.txt"), enc.encode("keep me"));
  await rejectsCode(upload(bob, "new.txt", enc.encode("x")), "DENIED", /read-only/);
  await rejectsCode(upload(bob, "big.txt", randomBytes(300_000)), "DENIED");
  await rejectsCode(upload(bob, "keep/file.txt", enc.encode("x"), true), "DENIED");
  await rejectsCode(bob.delete("keep/file.txt"), "DENIED");
  await rejectsCode(bob.mkdir("newdir"), "DENIED");
  await rejectsCode(bob.rmdir("keep", true), "DENIED");
  assert.deepEqual(await listTree(srv.root), before, "nothing changed");
  assert.equal(await Deno.readTextFile(`${srv.root}/keep/file.txt`), "keep me");
  // Still logged in and in step.
  assert.deepEqual(await download(bob, "keep/file.txt"), enc.encode("keep me"));
});

Deno.test("traversal and escaping symlinks are refused and nothing outside the root is touched", async (t) => {
  await using srv = await startServer();
  // A sibling of the root that an escape would reach.
  const outside = `${srv.dir}/outside`;
  await Deno.mkdir(`${outside}/sub`, { recursive: true });
  await Deno.writeTextFile(`${outside}/secret.txt`, "secret");
  await Deno.writeTextFile(`${outside}/sub/deep.txt`, "deep");
  await Deno.symlink(outside, `${srv.root}/link`);
  await Deno.symlink(`${outside}/secret.txt`, `${srv.root}/secret-link`);
  await Deno.symlink(`${outside}/gone.txt`, `${srv.root}/dangling`);
  const snapshot = async () => {
    const tree = await listTree(outside);
    const contents = await Promise.all(
      tree.filter((p) => !p.endsWith("/")).map(async (
        p,
      ) => [p, await Deno.readTextFile(`${outside}/${p}`)]),
    );
    return { tree, contents };
  };
  const before = await snapshot();
  const siblingsBefore = await listTree(srv.dir);
  await using client = await srv.connect("alice");

  await t.step("'..' and absolute paths are BAD_REQUEST for every command", async () => {
    for (
      const p of [
        "../outside/secret.txt",
        "a/../../outside/secret.txt",
        "/etc/passwd",
        "..\\x",
        "C:x",
      ]
    ) {
      await rejectsCode(download(client, p), "BAD_REQUEST");
      await rejectsCode(upload(client, p, enc.encode("pwned"), true), "BAD_REQUEST");
      await rejectsCode(client.delete(p), "BAD_REQUEST");
      await rejectsCode(client.list(p), "BAD_REQUEST");
      await rejectsCode(client.mkdir(p), "BAD_REQUEST");
      await rejectsCode(client.rmdir(p, true), "BAD_REQUEST");
    }
    await rejectsCode(client.list(".."), "BAD_REQUEST");
  });
  await t.step("a symlinked folder leading outside is not followed", async () => {
    await rejectsCode(client.list("link"), "DENIED", /outside/);
    await rejectsCode(client.list("link/sub"), "DENIED");
    await rejectsCode(download(client, "link/secret.txt"), "DENIED");
    await rejectsCode(upload(client, "link/new.txt", enc.encode("pwned")), "DENIED");
    await rejectsCode(upload(client, "link/secret.txt", enc.encode("pwned"), true), "DENIED");
    await rejectsCode(upload(client, "link/big.bin", randomBytes(300_000), true), "DENIED");
    await rejectsCode(client.delete("link/secret.txt"), "DENIED");
    await rejectsCode(client.mkdir("link/newdir"), "DENIED");
    await rejectsCode(client.mkdir("link/sub/newdir"), "DENIED");
    await rejectsCode(client.rmdir("link/sub", true), "DENIED");
  });
  await t.step("a symlinked file leading outside is neither read nor written through", async () => {
    await rejectsCode(download(client, "secret-link"), "DENIED");
    await rejectsCode(upload(client, "secret-link", enc.encode("pwned")), "EXISTS");
    await rejectsCode(upload(client, "dangling", enc.encode("pwned")), "EXISTS");
  });
  await t.step("listing the root hides links that lead outside", async () => {
    const names = (await client.list("")).map((e) => e.name);
    assert.ok(!names.includes("link") && !names.includes("secret-link"), names.join(","));
  });
  await t.step("nothing outside the root changed", async () => {
    assert.deepEqual(await snapshot(), before);
    assert.deepEqual(await listTree(srv.dir), siblingsBefore);
    assert.deepEqual(await tempFiles(srv.dir), []);
  });
  await t.step("replacing or deleting the link itself stays inside the root", async () => {
    await upload(client, "secret-link", enc.encode("inside"), true);
    assert.equal((await Deno.lstat(`${srv.root}/secret-link`)).isSymlink, false);
    assert.equal(await Deno.readTextFile(`${srv.root}/secret-link`), "inside");
    await client.delete("dangling");
    assert.equal(await exists(`${srv.root}/dangling`), false);
    await rejectsCode(client.rmdir("link", true), "BAD_REQUEST", /not a folder/);
    assert.deepEqual(await snapshot(), before);
  });
});

Deno.test("an upload cut off mid-body leaves no file and no temporary file", async () => {
  await using srv = await startServer();
  const conn = await rawSession(srv.port, { user: "alice" });
  const size = 3 * 1024 * 1024;
  await conn.send({ op: "upload", path: "cut.bin", size, overwrite: false, eager: false });
  assert.equal((await conn.expectMessage()).status, "ready");
  await conn.writeAll(encodeData(randomBytes(1024 * 1024)));
  await conn.writeAll(encodeData(randomBytes(512 * 1024)));
  // The temp file exists while the body is half sent, and DIR does not show it.
  await waitFor(async () => (await tempFiles(srv.root)).length === 1);
  {
    await using other = await srv.connect("alice");
    assert.deepEqual(await other.list(""), []);
  }
  conn.close();
  await waitFor(async () => (await tempFiles(srv.root)).length === 0);
  assert.deepEqual(await listTree(srv.root), []);
  const lines = await srv.logLines();
  const up = lines.find((l) => l.event === "upload");
  assert.ok(up, "the failed upload is logged");
  assert.equal(up.ok, false);
  assert.equal(up.path, "cut.bin");
  assert.equal(up.bytes, 1.5 * 1024 * 1024);
});

Deno.test("a corrupt or mis-sized upload is refused and nothing is written", async (t) => {
  await using srv = await startServer();
  const data = randomBytes(2000);
  const cases: [string, (c: Awaited<ReturnType<typeof rawSession>>) => Promise<void>, string][] = [
    ["wrong SHA-256 in the end trailer", async (c) => {
      await c.writeAll(encodeData(data));
      await c.send({ op: "end", sha256: sha(enc.encode("something else")) });
    }, "INTEGRITY"],
    ["body longer than declared", async (c) => {
      await c.writeAll(encodeData(new Uint8Array([...data, 1, 2, 3])));
    }, "INTEGRITY"],
    ["more DATA after the declared size", async (c) => {
      await c.writeAll(encodeData(data));
      await c.writeAll(encodeData(new Uint8Array(1)));
    }, "BAD_REQUEST"],
    ["body shorter than declared", async (c) => {
      await c.writeAll(encodeData(data.subarray(0, 1000)));
      await c.send({ op: "end", sha256: sha(data.subarray(0, 1000)) });
    }, "INTEGRITY"],
    ["a malformed trailer", async (c) => {
      await c.writeAll(encodeData(data));
      await c.send({ op: "end", sha256: "XYZ" });
    }, "BAD_REQUEST"],
  ];
  for (const eager of [true, false]) {
    for (const [name, send, code] of cases) {
      await t.step(`${name} (${eager ? "eager" : "after ready"})`, async () => {
        await using conn = await rawSession(srv.port);
        await conn.send({
          op: "upload",
          path: "bad.bin",
          size: data.length,
          overwrite: false,
          eager,
        });
        if (!eager) assert.equal((await conn.expectMessage()).status, "ready");
        await send(conn);
        const reply = await conn.expectMessage();
        assert.equal(reply.status, "error");
        assert.equal(reply.code, code, String(reply.message));
        assert.deepEqual(await listTree(srv.root), [], "no file and no temp file");
      });
    }
  }
  await t.step("a good upload on the same server still works", async () => {
    await using client = await srv.connect("alice");
    await upload(client, "good.bin", data);
    assert.deepEqual(await Deno.readFile(`${srv.root}/good.bin`), data);
  });
});

Deno.test("a corrupt replacement leaves the existing file as it was", async () => {
  await using srv = await startServer();
  await Deno.writeTextFile(`${srv.root}/f.txt`, "original");
  await using conn = await rawSession(srv.port);
  const body = enc.encode("replacement");
  await conn.send({ op: "upload", path: "f.txt", size: body.length, overwrite: true, eager: true });
  await conn.writeAll(encodeData(body));
  await conn.send({ op: "end", sha256: sha(enc.encode("other")) });
  const reply = await conn.expectMessage();
  assert.equal(reply.code, "INTEGRITY");
  assert.equal(await Deno.readTextFile(`${srv.root}/f.txt`), "original");
  assert.deepEqual(await listTree(srv.root), ["f.txt"]);
  // INTEGRITY leaves the stream in step: the same connection goes on.
  await conn.send({ op: "dir", path: "" });
  const listing = await conn.expectMessage();
  assert.equal(listing.status, "ok");
  assert.deepEqual((listing.entries as { name: string }[]).map((e) => e.name), ["f.txt"]);
});

Deno.test("concurrent uploads of one new name: one wins whole, the others get EXISTS", async () => {
  await using srv = await startServer();
  const bodies = Array.from(
    { length: 6 },
    (_, i) => randomBytes(200_000 + i * 1000 + (i % 2) * 300_000),
  );
  const clients = await Promise.all(bodies.map(() => srv.connect("alice")));
  try {
    const results = await Promise.allSettled(
      clients.map((c, i) => upload(c, "same.bin", bodies[i])),
    );
    const won = results.flatMap((r, i) => (r.status === "fulfilled" ? [i] : []));
    assert.equal(won.length, 1, `winners: ${won}`);
    for (const r of results) {
      if (r.status === "rejected") {
        assert.ok(
          r.reason instanceof FileshareError && r.reason.code === "EXISTS",
          String(r.reason),
        );
      }
    }
    assert.equal(await sha256File(`${srv.root}/same.bin`), sha(bodies[won[0]]));
    assert.deepEqual(await listTree(srv.root), ["same.bin"]);
  } finally {
    for (const c of clients) c.close();
  }
});

Deno.test("calls made at once on one client are queued and all answered", async () => {
  await using srv = await startServer();
  await using client = await srv.connect("alice");
  const data = randomBytes(700_000);
  const [up, , list] = await Promise.all([
    upload(client, "q.bin", data),
    client.mkdir("q"),
    client.list(""),
    rejectsCode(client.delete("nope"), "NOT_FOUND"),
  ]);
  assert.equal(up.sha256, sha(data));
  assert.ok(list.length >= 1);
  const [back, again] = await Promise.all([download(client, "q.bin"), download(client, "q.bin")]);
  assert.equal(sha(back), sha(data));
  assert.equal(sha(again), sha(data));
});

Deno.test("dir of a folder with more entries than fit one response", async () => {
  await using srv = await startServer();
  const names = Array.from({ length: 250 }, (_, i) => `f${String(i).padStart(3, "0")} ü`);
  await Promise.all(names.map((n) => Deno.writeTextFile(`${srv.root}/${n}`, n)));
  await using client = await srv.connect("bob");
  const entries = await client.list("");
  assert.deepEqual(entries.map((e) => e.name), names);
  assert.ok(
    entries.every((e) => e.type === "file" && e.size === new TextEncoder().encode(e.name).length),
  );
});

Deno.test("eight clients upload and download at once, all verified", async () => {
  await using srv = await startServer();
  const files = Array.from({ length: 8 }, (_, i) => randomBytes(512 * 1024 + i * 4099));
  const clients = await Promise.all(files.map(() => srv.connect("alice")));
  try {
    await Promise.all(clients.map((c, i) => upload(c, `c${i}.bin`, files[i])));
    // Each client reads another client's file.
    const back = await Promise.all(clients.map((c, i) => download(c, `c${(i + 3) % 8}.bin`)));
    back.forEach((b, i) => assert.equal(sha(b), sha(files[(i + 3) % 8]), `client ${i}`));
    for (let i = 0; i < 8; i++) {
      assert.equal(await sha256File(`${srv.root}/c${i}.bin`), sha(files[i]));
    }
  } finally {
    for (const c of clients) c.close();
  }
});

Deno.test("a download racing with a replacement gets the old or the new file whole", async () => {
  await using srv = await startServer();
  const v1 = randomBytes(3 * 1024 * 1024);
  const v2 = randomBytes(3 * 1024 * 1024 + 17);
  await using writer = await srv.connect("alice");
  await upload(writer, "race.bin", v1);
  const readers = await Promise.all([1, 2, 3].map(() => srv.connect("bob")));
  try {
    const seen = new Set<string>();
    for (let round = 0; round < 4; round++) {
      const next = round % 2 === 0 ? v2 : v1;
      const [, ...got] = await Promise.all([
        upload(writer, "race.bin", next, true),
        ...readers.map((r) => download(r, "race.bin")),
      ]);
      for (const g of got as Uint8Array[]) {
        const h = sha(g);
        assert.ok(
          h === sha(v1) || h === sha(v2),
          `round ${round}: a mixed file of ${g.length} bytes`,
        );
        seen.add(h);
      }
    }
    assert.ok(seen.size >= 1);
  } finally {
    for (const r of readers) r.close();
  }
  assert.deepEqual(await tempFiles(srv.root), []);
});

Deno.test("an upload cancelled with an AbortSignal leaves nothing and the connection still works", async () => {
  await using srv = await startServer();
  await using client = await srv.connect("alice");
  const controller = new AbortController();
  let sent = 0;
  const size = 8 * 1024 * 1024;
  const source: ByteSource = {
    async read(p) {
      if (sent >= size) return null;
      await new Promise((r) => setTimeout(r, 5));
      const n = Math.min(p.length, size - sent, 256 * 1024);
      p.fill(1, 0, n);
      sent += n;
      return n;
    },
  };
  const pending = client.upload(source, size, "cancel.bin", {
    signal: controller.signal,
    onProgress: (done) => {
      if (done >= 2 * 1024 * 1024) controller.abort();
    },
  });
  await rejectsCode(pending, "CANCELLED");
  assert.ok(sent < size, "the upload stopped early");
  await waitFor(async () => (await tempFiles(srv.root)).length === 0);
  assert.deepEqual(await listTree(srv.root), []);
  // Same connection, next commands.
  assert.equal(client.closed, false);
  await upload(client, "after.txt", enc.encode("still here"));
  assert.deepEqual((await client.list("")).map((e) => e.name), ["after.txt"]);
  const up = (await srv.logLines()).find((l) => l.event === "upload" && l.path === "cancel.bin");
  assert.equal(up?.ok, false);
  assert.equal(up?.code, "CANCELLED");
});

Deno.test("a download cancelled with an AbortSignal leaves no local file", async () => {
  await using srv = await startServer();
  await writeRandomFile(`${srv.root}/big.bin`, 32 * 1024 * 1024);
  await using client = await srv.connect("alice");
  const controller = new AbortController();
  const local = `${srv.dir}/local.bin`;
  await rejectsCode(
    client.downloadFile("big.bin", local, {
      signal: controller.signal,
      onProgress: (done) => done > 1024 * 1024 && controller.abort(),
    }),
    "CANCELLED",
  );
  assert.equal(client.closed, true, "cancelling a download closes its connection");
  assert.equal(await exists(local), false);
  assert.deepEqual((await listTree(srv.dir)).filter((p) => p.includes("fileshare-part")), []);
});

Deno.test("downloadFile() never replaces a local file unless asked", async () => {
  await using srv = await startServer();
  await Deno.writeTextFile(`${srv.root}/r.txt`, "remote");
  await using client = await srv.connect("alice");
  const local = `${srv.dir}/r.txt`;
  await Deno.writeTextFile(local, "local");
  await rejectsCode(client.downloadFile("r.txt", local), "EXISTS", /use --overwrite/);
  assert.equal(await Deno.readTextFile(local), "local");
  await client.downloadFile("r.txt", local, { overwrite: true });
  assert.equal(await Deno.readTextFile(local), "remote");
  // A failed download leaves nothing under the final name.
  await rejectsCode(client.downloadFile("missing.txt", `${srv.dir}/m.txt`), "NOT_FOUND");
  assert.equal(await exists(`${srv.dir}/m.txt`), false);
  assert.deepEqual((await listTree(srv.dir)).filter((p) => p.includes("fileshare-part")), []);
});

Deno.test("the client as a child process moves files to and from an in-process server", async () => {
  await using srv = await startServer();
  const work = `${srv.dir}/work`;
  await Deno.mkdir(work);
  await writeRandomFile(`${work}/data file ü.bin`, 3 * 1024 * 1024 + 5);
  const expected = await sha256File(`${work}/data file ü.bin`);
  const run = (args: string[]) =>
    runTool("client", ["--server", `127.0.0.1:${srv.port}`, "--user", "alice", "-q", ...args], {
      cwd: work,
      env: { FILESHARE_PASSWORD: USERS.alice.password },
    });
  const up = await run(["upload", "data file ü.bin", "up/"]);
  assert.equal(up.code, 2 - 1, up.stderr); // "up/" does not exist yet: NOT_FOUND
  assert.match(up.stderr, /not found/);
  assert.equal((await run(["mkdir", "up"])).code, 0);
  const ok = await run(["upload", "data file ü.bin", "up/"]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(await sha256File(`${srv.root}/up/data file ü.bin`), expected);
  await Deno.mkdir(`${work}/down`);
  const down = await run(["download", "up/data file ü.bin", "down"]);
  assert.equal(down.code, 0, down.stderr);
  assert.equal(await sha256File(`${work}/down/data file ü.bin`), expected);
  const ls = await run(["dir", "up", "--json"]);
  assert.equal(ls.code, 0, ls.stderr);
  const entries = JSON.parse(ls.stdout);
  assert.deepEqual(entries.map((e: { name: string; size: number }) => [e.name, e.size]), [[
    "data file ü.bin",
    3 * 1024 * 1024 + 5,
  ]]);
});

Deno.test("names of the longest allowed length (255 bytes) go up, list and come down", async () => {
  await using srv = await startServer();
  await using client = await srv.connect("alice");
  for (const name of ["n".repeat(255), "ü".repeat(127), "😀".repeat(63) + "abc"]) {
    assert.ok(enc.encode(name).length <= 255 && enc.encode(name).length >= 252);
    await upload(client, name, enc.encode(name));
    assert.ok((await client.list("")).some((e) => e.name === name));
    const local = `${srv.dir}/${name}`;
    await client.downloadFile(name, local);
    assert.equal(await Deno.readTextFile(local), name);
    await Deno.remove(local);
  }
});
