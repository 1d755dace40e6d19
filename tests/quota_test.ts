/**
 * Quotas and the largest upload: exact at the boundary, before and during an upload, with
 * nothing kept of a refused one; `df` in the library, the CLI and the shell.
 */
import assert from "node:assert/strict";
import { FileshareError } from "../lib/protocol/errors.ts";
import { EAGER_MAX_BYTES } from "../lib/protocol/messages.ts";
import { UploadAdmission, UploadLedger } from "../lib/server/quota.ts";
import { LocalStore } from "../lib/store/local_store.ts";
import { parseRemotePath, TEMP_PREFIX } from "../lib/store/paths.ts";
import { Shell } from "../lib/shell/shell.ts";
import { createHash } from "node:crypto";
import type { Store } from "../lib/store/store.ts";
import { encodeData } from "./_frames.ts";
import {
  listTree,
  rawSession,
  runTool,
  setUser,
  spawnServer,
  startServer,
  USERS,
  writeTestUsers,
} from "./_helpers.ts";
import type { FileshareClient } from "../lib/client/client.ts";

/** Uploads `size` bytes of `fill` from memory. */
function put(client: FileshareClient, path: string, size: number, overwrite = false, fill = 1) {
  const bytes = new Uint8Array(size).fill(fill);
  let done = false;
  return client.upload(
    {
      read: (p) => {
        if (done) return Promise.resolve(null);
        p.set(bytes.subarray(0, p.length));
        done = true;
        return Promise.resolve(size);
      },
    },
    size,
    path,
    { overwrite },
  );
}

async function limitError(promise: Promise<unknown>, reason: string): Promise<FileshareError> {
  const err = await promise.then(() => null, (e) => e);
  assert.ok(err instanceof FileshareError, `expected a refusal, got ${err}`);
  assert.equal(err.code, "LIMIT", err.message);
  assert.equal(err.reason, reason, err.message);
  assert.ok(!err.message.includes("\n"));
  return err;
}

async function noTemps(root: string): Promise<void> {
  const left = (await listTree(root)).filter((p) =>
    p.split("/").some((s) => s.startsWith(TEMP_PREFIX))
  );
  assert.deepEqual(left, [], "no temporary files left");
}

for (const size of [1000, EAGER_MAX_BYTES + 1000]) {
  Deno.test(`handleUpload() holds a quota of ${size} bytes exactly at the boundary`, async () => {
    await using srv = await startServer();
    await setUser(srv, "alice", { home: "alice", quota: size });
    await using alice = await srv.connect("alice");
    const part = Math.floor(size * 0.6);
    await put(alice, "a.bin", part);
    await put(alice, "b.bin", size - part);
    assert.deepEqual(await alice.df(), { used: size, quota: size, free: 0, maxUpload: null });
    // One byte more is refused, before any body is kept, and the file is not there.
    const err = await limitError(put(alice, "c.bin", 1), "quota");
    assert.match(
      err.message,
      /^Cannot upload "c\.bin": 1 B is more than the 0 B left of your .* quota \(df shows your usage\)$/,
    );
    assert.deepEqual((await alice.list()).map((e) => e.name), ["a.bin", "b.bin"]);
    // An empty file fits a full quota; an overwrite counts the replaced file as freed.
    await put(alice, "empty.bin", 0);
    await put(alice, "a.bin", part, true, 2);
    await limitError(put(alice, "a.bin", part + 1, true), "quota");
    assert.equal((await alice.list()).find((e) => e.name === "a.bin")!.size, part);
    await alice.delete("b.bin");
    await put(alice, "c.bin", size - part);
    await limitError(put(alice, "d.bin", 1), "quota");
    await noTemps(srv.root);
    const logs = await srv.logLines();
    const refused = logs.filter((l) => l.event === "upload" && l.ok === false);
    assert.equal(refused.length, 3);
    assert.ok(refused.every((l) => l.code === "LIMIT"));
    const df = logs.find((l) => l.event === "df")!;
    assert.deepEqual([df.used, df.quota, df.free], [size, size, 0]);
  });
}

Deno.test("handleUpload() admits concurrent uploads against one quota only while they fit", async () => {
  await using srv = await startServer();
  await setUser(srv, "alice", { quota: 1_000_000 });
  const clients = await Promise.all([1, 2, 3, 4].map(() => srv.connect("alice")));
  try {
    const results = await Promise.allSettled(
      clients.map((c, i) => put(c, `p${i}.bin`, 400_000)),
    );
    const ok = results.filter((r) => r.status === "fulfilled").length;
    assert.equal(ok, 2, "two of 400 000 fit in 1 000 000, a third would not");
    for (const r of results) {
      if (r.status === "rejected") assert.equal((r.reason as FileshareError).code, "LIMIT");
    }
    assert.equal((await clients[0].df()).used, 800_000);
  } finally {
    for (const c of clients) c.close();
  }
  await noTemps(srv.root);
});

Deno.test("handleUpload() counts an upload that commits while another is being admitted", async () => {
  // The second admission measures the root (before the first file is there) and only then
  // reads the ledger (after the first upload gave its reservation back): counted by neither,
  // both 600 000 bytes were admitted under a 1 000 000 quota (seen once in a loaded run).
  let calls = 0;
  const gate = Promise.withResolvers<void>();
  const slowUsage = (store: LocalStore): Store =>
    new Proxy(store, {
      get(target, key) {
        if (key === "usage") {
          return async (path: Parameters<Store["usage"]>[0]) => {
            const used = await target.usage(path);
            if (path.text === "" && ++calls === 2) await gate.promise;
            return used;
          };
        }
        const v = Reflect.get(target, key, target);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
  await using srv = await startServer({ wrapStore: slowUsage });
  await setUser(srv, "alice", { quota: 1_000_000 });
  await using a = await srv.connect("alice");
  await using b = await srv.connect("alice");
  const first = put(a, "a.bin", 600_000);
  // The first admission has measured (call 1) before the second starts measuring (call 2).
  while (calls < 1) await new Promise((r) => setTimeout(r, 5));
  const second = put(b, "b.bin", 600_000).then(() => "ok", (err) => (err as FileshareError).code);
  while (calls < 2) await new Promise((r) => setTimeout(r, 5));
  await first;
  // The first upload's answer is out; its reservation goes right after it.
  await new Promise((r) => setTimeout(r, 200));
  gate.resolve();
  assert.equal(await second, "LIMIT", "600 000 + 600 000 do not fit in 1 000 000");
  assert.equal((await a.df()).used, 600_000);
  await noTemps(srv.root);
});

/** The real store, claiming to be shared by several servers (so commits are checked again). */
function sharedView(store: LocalStore): Store {
  const real: Store = store;
  return {
    capabilities: { ...real.capabilities, shared: true },
    location: real.location,
    list: (path) => real.list(path),
    openRead: (path) => real.openRead(path),
    createWrite: (path, options) => real.createWrite(path, options),
    remove: (path) => real.remove(path),
    mkdir: (path) => real.mkdir(path),
    rmdir: (path, recursive) => real.rmdir(path, recursive),
    rename: (from, to, options) => real.rename(from, to, options),
    usage: (path) => real.usage(path),
    within: (home) => real.within(home),
    expirePartials: (before) => real.expirePartials(before),
    abortAll: () => real.abortAll(),
    close: () => real.close(),
  };
}

Deno.test("handleUpload() on a shared store checks the quota again before the commit", async () => {
  await using srv = await startServer({ wrapStore: sharedView });
  await setUser(srv, "alice", { quota: 1000 });
  const conn = await rawSession(srv.port, { user: "alice" });
  try {
    const body = new Uint8Array(600).fill(7);
    await conn.send({ op: "upload", path: "late.bin", size: 600, overwrite: false, eager: false });
    assert.equal((await conn.expectMessage()).status, "ready", "admitted: 600 of 1000 free");
    // Another server sharing the store commits 600 bytes of the same root meanwhile.
    await Deno.writeFile(`${srv.root}/other-server.bin`, new Uint8Array(600));
    await conn.writeAll(encodeData(body));
    await conn.send({ op: "end", sha256: createHash("sha256").update(body).digest("hex") });
    const answer = await conn.expectMessage();
    assert.equal(answer.code, "LIMIT", JSON.stringify(answer));
    assert.equal(answer.reason, "quota");
    assert.match(String(answer.message), /600 B is more than the 400 B left of your 1000 B quota/);
    // Nothing kept, and the connection is still in step.
    await conn.send({ op: "dir", path: "" });
    const dir = await conn.expectMessage();
    assert.deepEqual((dir.entries as { name: string }[]).map((e) => e.name), ["other-server.bin"]);
  } finally {
    conn.close();
  }
  await noTemps(srv.root);
});

Deno.test("handleUpload() without a home counts the whole root against the quota", async () => {
  await using srv = await startServer();
  await Deno.writeTextFile(`${srv.root}/others.txt`, "x".repeat(600));
  await setUser(srv, "alice", { quota: 1000 });
  await using alice = await srv.connect("alice");
  assert.deepEqual(await alice.df(), { used: 600, quota: 1000, free: 400, maxUpload: null });
  await limitError(put(alice, "a.bin", 401), "quota");
  await put(alice, "a.bin", 400);
  // Bob has no quota: his df shows usage only.
  await using bob = await srv.connect("bob");
  assert.deepEqual(await bob.df(), { used: 1000, quota: null, free: null, maxUpload: null });
});

Deno.test("handleUpload() refuses an upload over --max-upload up front, exactly at the limit", async () => {
  await using srv = await startServer({ maxUploadBytes: EAGER_MAX_BYTES + 10 });
  await using alice = await srv.connect("alice");
  await put(alice, "max.bin", EAGER_MAX_BYTES + 10);
  const err = await limitError(put(alice, "over.bin", EAGER_MAX_BYTES + 11), "too_large");
  assert.match(
    err.message,
    /: 256 KiB \(262155 bytes\) is over the server's limit of 256 KiB \(262154 bytes\) per upload$/,
  );
  assert.deepEqual((await alice.list()).map((e) => e.name), ["max.bin"]);
  assert.equal((await alice.df()).maxUpload, EAGER_MAX_BYTES + 10);
  await noTemps(srv.root);
});

Deno.test("handleUpload() refuses an eager upload over --max-upload and stays in step", async () => {
  await using srv = await startServer({ maxUploadBytes: 100 });
  await using alice = await srv.connect("alice");
  await limitError(put(alice, "small.bin", 101), "too_large");
  await put(alice, "ok.bin", 100);
  assert.deepEqual((await alice.list()).map((e) => e.name), ["ok.bin"]);
});

Deno.test({
  name: "UploadLedger.serial() runs one turn per key at a time and reserves until disposed",
  permissions: "none",
  async fn() {
    const ledger = new UploadLedger();
    const order: string[] = [];
    const slow = ledger.serial("k", async () => {
      order.push("a start");
      await new Promise((r) => setTimeout(r, 20));
      order.push("a end");
    });
    const other = ledger.serial("other", () => Promise.resolve(order.push("other")));
    const next = ledger.serial("k", () => Promise.resolve(order.push("b")));
    await Promise.all([slow, other, next]);
    assert.deepEqual(order, ["a start", "other", "a end", "b"]);
    {
      using _a = ledger.reserve("k", 10);
      using _b = ledger.reserve("k", 5);
      assert.equal(ledger.inflight("k"), 15);
    }
    // Given back in a turn of its own: after every turn before it.
    await ledger.serial("k", () => Promise.resolve());
    assert.equal(ledger.inflight("k"), 0);
    {
      const measuring = Promise.withResolvers<void>();
      const turn = ledger.serial("k", () => measuring.promise);
      ledger.reserve("k", 3)[Symbol.dispose]();
      await new Promise((r) => setTimeout(r, 10));
      assert.equal(ledger.inflight("k"), 3, "kept while a turn measures");
      measuring.resolve();
      await turn;
      await ledger.serial("k", () => Promise.resolve());
      assert.equal(ledger.inflight("k"), 0);
    }
    await assert.rejects(ledger.serial("k", () => Promise.reject(new Error("boom"))), /boom/);
    assert.equal(
      await ledger.serial("k", () => Promise.resolve(7)),
      7,
      "a failed turn frees the key",
    );
  },
});

Deno.test("UploadAdmission.checkWritten() stops a write past what was admitted", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fileshare-admit-" });
  try {
    const store = await LocalStore.open(dir, { fsync: false });
    await Deno.writeFile(`${dir}/old.bin`, new Uint8Array(30));
    const ledger = new UploadLedger();
    const upload = (size: number) => ({
      path: parseRemotePath("new.bin"),
      size,
      overwrite: false,
      what: 'Cannot upload "new.bin"',
    });
    // Bytes written count, whatever size was announced (a stream of unknown length).
    using quota = await UploadAdmission.admit(
      store,
      ledger,
      { quota: 100, maxUpload: null },
      upload(0),
    );
    assert.equal(quota.maxBytes, 70);
    quota.checkWritten(70);
    assert.throws(() => quota.checkWritten(71), (e: FileshareError) => e.reason === "quota");
    using max = await UploadAdmission.admit(
      store,
      ledger,
      { quota: null, maxUpload: 50 },
      upload(0),
    );
    max.checkWritten(50);
    assert.throws(() => max.checkWritten(51), (e: FileshareError) => e.reason === "too_large");
    await store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("client df (alias quota) and the shell's df show used, quota and free", async () => {
  await using srv = await startServer({ maxUploadBytes: 4096 });
  await setUser(srv, "alice", { home: "alice", quota: 2048 });
  {
    await using alice = await srv.connect("alice");
    await put(alice, "a.bin", 1500);
  }
  const env = {
    FILESHARE_SERVER: `127.0.0.1:${srv.port}`,
    FILESHARE_USER: "alice",
    FILESHARE_PASSWORD: USERS.alice.password,
  };
  const df = await runTool("client", ["df"], { cwd: srv.dir, env });
  assert.equal(df.code, 0, df.stderr);
  assert.match(df.stdout, /used +1\.5 KiB \(1500 bytes\)/);
  assert.match(df.stdout, /quota +2\.0 KiB \(2048 bytes\)/);
  assert.match(df.stdout, /free +548 B/);
  assert.match(df.stdout, /largest upload +4\.0 KiB \(4096 bytes\)/);
  const json = await runTool("client", ["quota", "--json"], { cwd: srv.dir, env });
  assert.equal(json.code, 0, json.stderr);
  assert.deepEqual(JSON.parse(json.stdout), {
    op: "df",
    used: 1500,
    quota: 2048,
    free: 548,
    maxUpload: 4096,
  });
  const big = `${srv.dir}/big.bin`;
  await Deno.writeFile(big, new Uint8Array(549));
  const over = await runTool("client", ["upload", big], { cwd: srv.dir, env });
  assert.equal(over.code, 1);
  assert.equal(
    over.stderr.trim(),
    'Cannot upload "big.bin": 549 B is more than the 548 B left of your 2.0 KiB (2048 bytes) quota (df shows your usage)',
  );
  const out: string[] = [];
  const shell = new Shell({
    login: {
      hostname: "127.0.0.1",
      port: srv.port,
      user: "alice",
      password: USERS.alice.password,
      tls: srv.tls,
    },
    localCwd: srv.dir,
    progress: null,
    color: false,
    out: (t: string) => out.push(t),
    err: (t: string) => out.push(t),
  });
  try {
    await shell.execute("df");
    await shell.execute("quota");
  } finally {
    shell.close();
  }
  const text = out.join("\n");
  assert.equal(text.match(/free +548 B/g)?.length, 2, text);
});

Deno.test("server --max-upload refuses a bigger upload from the CLI with one line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fileshare-maxup-" });
  try {
    await writeTestUsers(`${dir}/users.json`);
    await using srv = await spawnServer(dir, ["--max-upload", "1KiB", "--no-fsync"]);
    const env = {
      FILESHARE_SERVER: `127.0.0.1:${srv.port}`,
      FILESHARE_USER: "alice",
      FILESHARE_PASSWORD: USERS.alice.password,
    };
    await Deno.writeFile(`${dir}/ok.bin`, new Uint8Array(1024));
    await Deno.writeFile(`${dir}/over.bin`, new Uint8Array(1025));
    const ok = await runTool("client", ["upload", "ok.bin"], { cwd: dir, env });
    assert.equal(ok.code, 0, ok.stderr);
    const over = await runTool("client", ["upload", "over.bin"], { cwd: dir, env });
    assert.equal(over.code, 1);
    assert.equal(
      over.stderr.trim(),
      `Cannot upload "over.bin": 1.0 KiB (1025 bytes) is over the server's limit of 1.0 KiB (1024 bytes) per upload`,
    );
    const bad = await runTool("server", ["--max-upload", "lots"], { cwd: dir });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^Invalid --max-upload "lots": expected a size/);
    assert.deepEqual(await listTree(`${dir}/server_docs`), ["ok.bin"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
