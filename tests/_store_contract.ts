/**
 * The contract every {@link Store} backend must pass, parameterised by a factory (rclone's
 * fstests idea): a backend is done when this suite passes unchanged. Used by
 * local_store_test.ts and nats_store_test.ts.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { parseRemotePath, type RemotePath } from "../lib/store/paths.ts";
import { type Store, StoreError, type StoreErrorKind } from "../lib/store/store.ts";

/** One backend under test: opens stores on one shared, initially empty storage. */
export interface StoreFixture {
  /** Opens a store (call again for a second server on the same storage). */
  open(): Promise<Store>;
  /** The backend's natural chunk size: sizes around it are tried. */
  chunk: number;
  /** Closes what it opened and removes the storage. */
  dispose(): Promise<void>;
}

const MiB = 1 << 20;

function p(text: string): RemotePath {
  return parseRemotePath(text);
}

/** Deterministic bytes: `size` bytes for `seed`, produced in pieces of at most `piece`. */
function* pattern(size: number, seed: number, piece: number): Generator<Uint8Array> {
  const buf = new Uint8Array(Math.max(1, Math.min(piece, size)));
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let done = 0; done < size;) {
    const n = Math.min(buf.length, size - done);
    const view = buf.subarray(0, n);
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      view[i] = x & 0xff;
    }
    done += n;
    yield view;
  }
}

function sha256Of(size: number, seed: number): string {
  const h = createHash("sha256");
  for (const c of pattern(size, seed, MiB)) h.update(c);
  return h.digest("hex");
}

/**
 * Writes `size` pattern bytes and commits. The same buffer is reused (and scribbled over)
 * after each write resolves, which a backend may allow because the caller owns it.
 */
async function put(
  store: Store,
  path: string,
  size: number,
  seed: number,
  overwrite = false,
  piece = 256 * 1024 + 7,
): Promise<string> {
  const w = await store.createWrite(p(path), { overwrite });
  const h = createHash("sha256");
  try {
    for (const c of pattern(size, seed, piece)) {
      h.update(c);
      await w.write(c);
      c.fill(0xee);
    }
  } catch (err) {
    await w.abort();
    throw err;
  }
  const sha = h.digest("hex");
  await w.commit(sha);
  return sha;
}

async function readAll(store: Store, path: string): Promise<{ size: number; sha256: string }> {
  await using r = await store.openRead(p(path));
  const h = createHash("sha256");
  const buf = new Uint8Array(300_001);
  let size = 0;
  for (;;) {
    const n = await r.read(buf);
    if (n === null) break;
    h.update(buf.subarray(0, n));
    size += n;
  }
  assert.equal(size, r.size, "served exactly the size announced at open");
  return { size, sha256: h.digest("hex") };
}

async function names(store: Store, path: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of store.list(p(path))) out.push(`${e.name}${e.kind === "folder" ? "/" : ""}`);
  return out;
}

async function rejectsKind(promise: Promise<unknown>, kind: StoreErrorKind): Promise<void> {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof StoreError, `expected StoreError, got ${err}`);
    assert.equal(err.kind, kind, err.message);
    return true;
  });
}

async function drain(iter: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of iter) { /* consume */ }
}

/**
 * Registers the contract tests for one backend. `name` prefixes every test. `sanitize` turns
 * Deno's op/resource sanitizers off for backends whose client keeps timers between tests
 * (the default keeps them on).
 */
export function storeContract(
  name: string,
  factory: () => Promise<StoreFixture>,
  options: { sanitize?: boolean; ignore?: boolean } = {},
): void {
  const test = (title: string, fn: (fx: StoreFixture, store: Store) => Promise<void>) =>
    Deno.test({
      name: `${name}: ${title}`,
      ignore: options.ignore ?? false,
      sanitizeOps: options.sanitize ?? true,
      sanitizeResources: options.sanitize ?? true,
      fn: async () => {
        const fx = await factory();
        const store = await fx.open();
        try {
          await fn(fx, store);
        } finally {
          await store.close();
          await fx.dispose();
        }
      },
    });

  test("round trips sizes 0, 1, chunk-1, chunk, chunk+1 and 100 MiB", async (fx, store) => {
    const sizes = [0, 1, fx.chunk - 1, fx.chunk, fx.chunk + 1, 100 * MiB];
    for (const [i, size] of sizes.entries()) {
      const sha = await put(store, `f${i}.bin`, size, i + 1);
      assert.equal(sha, sha256Of(size, i + 1));
      assert.deepEqual(await readAll(store, `f${i}.bin`), { size, sha256: sha }, `size ${size}`);
    }
    const listed = [];
    for await (const e of store.list(p(""))) listed.push([e.name, e.kind, e.size]);
    assert.deepEqual(listed, sizes.map((s, i) => [`f${i}.bin`, "file", s]));
  });

  test("a write is invisible until commit, and abort leaves nothing", async (fx, store) => {
    const w = await store.createWrite(p("pending.bin"), { overwrite: false });
    await w.write(new Uint8Array(fx.chunk + 10).fill(1));
    assert.deepEqual(await names(store, ""), []);
    await rejectsKind(store.openRead(p("pending.bin")), "not_found");
    await w.abort();
    await w.abort();
    assert.deepEqual(await names(store, ""), []);
    const other = await fx.open();
    try {
      assert.deepEqual(await names(other, ""), []);
      await rejectsKind(other.openRead(p("pending.bin")), "not_found");
    } finally {
      await other.close();
    }
    // After an abort the name is free.
    await put(store, "pending.bin", 5, 9);
    assert.equal((await readAll(store, "pending.bin")).size, 5);
  });

  test("rename() moves files and folders, refuses to replace unless asked", async (_fx, store) => {
    const sha = await put(store, "a.txt", 10, 1);
    await store.rename(p("a.txt"), p("b.txt"), { overwrite: false });
    assert.deepEqual(await names(store, ""), ["b.txt"]);
    assert.deepEqual(await readAll(store, "b.txt"), { size: 10, sha256: sha });
    await rejectsKind(store.rename(p("a.txt"), p("c.txt"), { overwrite: false }), "not_found");
    // A folder with a file and a sub-folder moves whole, into another folder.
    await store.mkdir(p("d/sub"));
    const inner = await put(store, "d/sub/x.bin", 3000, 2);
    await put(store, "d/y.txt", 1, 3);
    await store.mkdir(p("archive"));
    await store.rename(p("d"), p("archive/d2"), { overwrite: false });
    assert.deepEqual(await names(store, ""), ["archive/", "b.txt"]);
    assert.deepEqual(await names(store, "archive/d2"), ["sub/", "y.txt"]);
    assert.deepEqual(await readAll(store, "archive/d2/sub/x.bin"), { size: 3000, sha256: inner });
    await rejectsKind(store.openRead(p("d/y.txt")), "not_found");
    // An existing file is replaced only with overwrite; a folder never; no folder into itself.
    const other = await put(store, "c.txt", 5, 4);
    await rejectsKind(store.rename(p("b.txt"), p("c.txt"), { overwrite: false }), "exists_file");
    assert.deepEqual(await readAll(store, "c.txt"), { size: 5, sha256: other });
    await store.rename(p("b.txt"), p("c.txt"), { overwrite: true });
    assert.deepEqual(await readAll(store, "c.txt"), { size: 10, sha256: sha });
    await rejectsKind(store.rename(p("c.txt"), p("archive"), { overwrite: true }), "exists_folder");
    await rejectsKind(
      store.rename(p("archive"), p("archive/d2/inside"), { overwrite: false }),
      "denied",
    );
    await rejectsKind(store.rename(p("c.txt"), p("nope/c.txt"), { overwrite: false }), "not_found");
    await rejectsKind(store.rename(p(""), p("x"), { overwrite: false }), "denied");
    assert.deepEqual(await names(store, ""), ["archive/", "c.txt"]);
  });

  test("createWrite() with mtime: the file lists and opens with that time", async (_fx, store) => {
    const mtime = new Date("2021-03-04T05:06:07.000Z");
    const w = await store.createWrite(p("old.txt"), { overwrite: false, mtime });
    await w.write(new Uint8Array([1, 2, 3]));
    await w.commit(createHash("sha256").update(new Uint8Array([1, 2, 3])).digest("hex"));
    const listed = [];
    for await (const e of store.list(p(""))) listed.push(e.mtime.toISOString());
    assert.deepEqual(listed, [mtime.toISOString()]);
    await using r = await store.openRead(p("old.txt"));
    assert.equal(r.mtime.toISOString(), mtime.toISOString());
  });

  test("overwrite rules: refuse without overwrite, replace with it", async (_fx, store) => {
    await put(store, "a.txt", 10, 1);
    await rejectsKind(store.createWrite(p("a.txt"), { overwrite: false }), "exists_file");
    const sha = await put(store, "a.txt", 20, 2, true);
    assert.deepEqual(await readAll(store, "a.txt"), { size: 20, sha256: sha });
    await store.mkdir(p("dir"));
    await rejectsKind(store.createWrite(p("dir"), { overwrite: true }), "exists_folder");
    await rejectsKind(store.createWrite(p("missing/x.txt"), { overwrite: false }), "not_found");
    assert.deepEqual(await names(store, ""), ["a.txt", "dir/"]);
  });

  test(
    "a name taken between create and commit fails the commit, not the file",
    async (_fx, store) => {
      const w = await store.createWrite(p("late.txt"), { overwrite: false });
      await w.write(new Uint8Array(3).fill(7));
      const sha = await put(store, "late.txt", 4, 4);
      await rejectsKind(
        w.commit(createHash("sha256").update(new Uint8Array(3).fill(7)).digest("hex")),
        "exists_file",
      );
      assert.deepEqual(await readAll(store, "late.txt"), { size: 4, sha256: sha });
    },
  );

  test("concurrent writers to one path end with exactly one complete file", async (fx, store) => {
    const other = await fx.open();
    try {
      const size = 3 * fx.chunk + 5;
      // Without overwrite: one wins, the other is told the file exists.
      const results = await Promise.allSettled([
        put(store, "race.bin", size, 11),
        put(other, "race.bin", size, 12),
      ]);
      const won = results.filter((r) => r.status === "fulfilled");
      assert.equal(won.length, 1, JSON.stringify(results.map((r) => r.status)));
      const lost = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
      assert.ok(lost.reason instanceof StoreError && lost.reason.kind === "exists_file");
      const final = await readAll(other, "race.bin");
      assert.equal(final.sha256, (won[0] as PromiseFulfilledResult<string>).value);
      // With overwrite: both succeed, the file is one of them, whole.
      const shas = await Promise.all([
        put(store, "race.bin", size, 13, true),
        put(other, "race.bin", size + 1, 14, true),
      ]);
      const after = await readAll(store, "race.bin");
      assert.ok(shas.includes(after.sha256), "the file is one complete upload");
      assert.deepEqual(await names(other, ""), ["race.bin"]);
    } finally {
      await other.close();
    }
  });

  test("folders: create with parents, list nested and empty, remove", async (_fx, store) => {
    await store.mkdir(p("a/b/c"));
    await store.mkdir(p("empty"));
    await put(store, "a/b/file.txt", 3, 1);
    await put(store, "a/top.txt", 3, 2);
    assert.deepEqual(await names(store, ""), ["a/", "empty/"]);
    assert.deepEqual(await names(store, "a"), ["b/", "top.txt"]);
    assert.deepEqual(await names(store, "a/b"), ["c/", "file.txt"]);
    assert.deepEqual(await names(store, "a/b/c"), []);
    assert.deepEqual(await names(store, "empty"), []);
    for await (const e of store.list(p("a"))) {
      if (e.kind === "folder") assert.equal(e.size, 0);
      assert.ok(e.mtime instanceof Date && !Number.isNaN(e.mtime.getTime()));
    }
    await rejectsKind(store.mkdir(p("a/b")), "exists_folder");
    await rejectsKind(store.mkdir(p("a/top.txt")), "exists_file");
    await rejectsKind(store.mkdir(p("a/top.txt/x")), "exists_file");
    await rejectsKind(store.mkdir(p("")), "exists_folder");
    await rejectsKind(store.rmdir(p("a"), false), "not_empty");
    await rejectsKind(store.rmdir(p("a/top.txt"), false), "not_folder");
    await rejectsKind(store.rmdir(p("nope"), false), "not_found");
    await rejectsKind(store.rmdir(p(""), true), "denied");
    await store.rmdir(p("a/b/c"), false);
    assert.deepEqual(await names(store, "a/b"), ["file.txt"]);
    await store.rmdir(p("a"), true);
    await rejectsKind(store.openRead(p("a/b/file.txt")), "not_found");
    assert.deepEqual(await names(store, ""), ["empty/"]);
    // A folder whose last file is deleted stays (it was created, or held files).
    await put(store, "empty/only.txt", 1, 3);
    await store.remove(p("empty/only.txt"));
    assert.deepEqual(await names(store, ""), ["empty/"]);
    assert.deepEqual(await names(store, "empty"), []);
  });

  test("uploading into a folder path creates no phantom entries", async (_fx, store) => {
    await store.mkdir(p("d"));
    await put(store, "d/x.bin", 2, 1);
    await store.remove(p("d/x.bin"));
    await rejectsKind(store.remove(p("d/x.bin")), "not_found");
    assert.deepEqual(await names(store, "d"), []);
  });

  test(
    "listing is sorted, complete past page sizes, and hides nothing committed",
    async (_fx, store) => {
      await store.mkdir(p("many"));
      const expected: string[] = [];
      for (let i = 0; i < 130; i++) {
        const n = `n${String((i * 37) % 130).padStart(3, "0")}`;
        expected.push(n);
        await put(store, `many/${n}`, 1, i);
      }
      await store.mkdir(p("many/sub"));
      expected.push("sub/");
      expected.sort();
      assert.deepEqual(await names(store, "many"), expected);
    },
  );

  test("names outside ASCII round trip in files and folders", async (_fx, store) => {
    await store.mkdir(p("dossier été/日本"));
    const sha = await put(store, "dossier été/日本/naïve ✓.txt", 12, 1);
    assert.deepEqual(await names(store, ""), ["dossier été/"]);
    assert.deepEqual(await names(store, "dossier été"), ["日本/"]);
    assert.deepEqual(await names(store, "dossier été/日本"), ["naïve ✓.txt"]);
    assert.deepEqual(await readAll(store, "dossier été/日本/naïve ✓.txt"), {
      size: 12,
      sha256: sha,
    });
    await store.rmdir(p("dossier été"), true);
    assert.deepEqual(await names(store, ""), []);
  });

  test("typed errors for wrong kinds and missing paths", async (_fx, store) => {
    await put(store, "f.txt", 1, 1);
    await store.mkdir(p("d"));
    await rejectsKind(store.openRead(p("nope")), "not_found");
    await rejectsKind(store.openRead(p("d")), "not_file");
    await rejectsKind(store.remove(p("d")), "not_file");
    await rejectsKind(store.remove(p("nope")), "not_found");
    await rejectsKind(drain(store.list(p("f.txt"))), "not_folder");
    await rejectsKind(drain(store.list(p("nope"))), "not_found");
    await rejectsKind(drain(store.list(p("f.txt/x"))), "not_found");
    await rejectsKind(store.openRead(p("f.txt/x")), "not_found");
  });

  test("a reader keeps its open-time view or fails; never mixes versions", async (_fx, store) => {
    const first = await put(store, "v.bin", 3 * MiB, 1);
    const r = await store.openRead(p("v.bin"));
    try {
      const h = createHash("sha256");
      const buf = new Uint8Array(64 * 1024);
      const n = await r.read(buf);
      h.update(buf.subarray(0, n ?? 0));
      await put(store, "v.bin", 3 * MiB, 2, true);
      let ok = true;
      try {
        for (;;) {
          const m = await r.read(buf);
          if (m === null) break;
          h.update(buf.subarray(0, m));
        }
      } catch (err) {
        assert.ok(err instanceof StoreError, String(err));
        ok = false;
      }
      if (ok) assert.equal(h.digest("hex"), first);
    } finally {
      await r.close();
      await r.close();
    }
  });

  test("opening a second store does not disturb the first one's write", async (fx, store) => {
    const w = await store.createWrite(p("live.bin"), { overwrite: false });
    const h = createHash("sha256");
    for (const c of pattern(fx.chunk * 2 + 3, 5, 64 * 1024)) {
      h.update(c);
      await w.write(c);
    }
    const second = await fx.open(); // runs its clean-up of stale writes
    try {
      for (const c of pattern(7, 6, 7)) {
        h.update(c);
        await w.write(c);
      }
      const sha = h.digest("hex");
      await w.commit(sha);
      assert.deepEqual(await readAll(second, "live.bin"), { size: fx.chunk * 2 + 10, sha256: sha });
    } finally {
      await second.close();
    }
  });

  test(
    "keep() keeps a partial per owner and path, unseen; resume continues it",
    async (fx, store) => {
      const size = fx.chunk * 2 + 17;
      const bytes = [...pattern(size, 7, size)][0].slice();
      const half = fx.chunk + 5;
      const w = await store.createWrite(p("big.bin"), { overwrite: false, owner: "alice" });
      assert.equal(w.offset, 0);
      await w.write(bytes.subarray(0, half));
      await w.keep();
      await w.abort(); // after keep: nothing more happens
      // Never listed, never read, not a file of anyone.
      assert.deepEqual(await names(store, ""), []);
      await rejectsKind(store.openRead(p("big.bin")), "not_found");
      // Another owner, or no resume: a fresh write.
      const other = await store.createWrite(p("big.bin"), {
        overwrite: false,
        owner: "bob",
        resume: true,
      });
      assert.equal(other.offset, 0);
      await other.abort();
      const r = await store.createWrite(p("big.bin"), {
        overwrite: false,
        owner: "alice",
        resume: true,
      });
      if (!store.capabilities.resume) {
        assert.equal(r.offset, 0, "a backend without resume offers nothing");
        await r.abort();
        return;
      }
      assert.equal(r.offset, half);
      // While one write continues the partial, no other write gets it.
      const second = await store.createWrite(p("big.bin"), {
        overwrite: false,
        owner: "alice",
        resume: true,
      });
      assert.equal(second.offset, 0);
      await second.abort();
      {
        await using kept = await r.readKept();
        const buf = new Uint8Array(size);
        let got = 0;
        for (;;) {
          const n = await kept.read(buf.subarray(got));
          if (n === null) break;
          got += n;
        }
        assert.equal(got, half);
        assert.deepEqual(buf.subarray(0, got), bytes.subarray(0, half));
      }
      await r.write(bytes.subarray(half));
      await r.commit(createHash("sha256").update(bytes).digest("hex"));
      assert.deepEqual(await readAll(store, "big.bin"), {
        size,
        sha256: createHash("sha256").update(bytes).digest("hex"),
      });
      // The partial became the file: nothing is left to resume.
      const again = await store.createWrite(p("big.bin"), {
        overwrite: true,
        owner: "alice",
        resume: true,
      });
      assert.equal(again.offset, 0);
      await again.abort();
    },
  );

  test("restart() drops the kept bytes; a second store sees kept partials", async (fx, store) => {
    const w = await store.createWrite(p("r.bin"), { overwrite: false, owner: "alice" });
    await w.write(new Uint8Array(1000).fill(1));
    await w.keep();
    const second = await fx.open();
    try {
      const r = await second.createWrite(p("r.bin"), {
        overwrite: false,
        owner: "alice",
        resume: true,
      });
      assert.equal(r.offset, store.capabilities.resume ? 1000 : 0);
      await r.restart();
      assert.equal(r.offset, 0);
      const fresh = new Uint8Array(10).fill(2);
      await r.write(fresh);
      await r.commit(createHash("sha256").update(fresh).digest("hex"));
      assert.deepEqual(await readAll(second, "r.bin"), {
        size: 10,
        sha256: createHash("sha256").update(fresh).digest("hex"),
      });
    } finally {
      await second.close();
    }
  });

  test("expirePartials() removes partials last written before the cutoff", async (_fx, store) => {
    const w = await store.createWrite(p("old.bin"), { overwrite: false, owner: "alice" });
    await w.write(new Uint8Array(100).fill(3));
    await w.keep();
    assert.equal(await store.expirePartials(new Date(Date.now() - 3_600_000)), 0);
    const r = await store.createWrite(p("old.bin"), {
      overwrite: false,
      owner: "alice",
      resume: true,
    });
    assert.equal(r.offset, store.capabilities.resume ? 100 : 0);
    // Being continued: not expired even with a cutoff in the future.
    assert.equal(await store.expirePartials(new Date(Date.now() + 60_000)), 0);
    await r.keep();
    assert.equal(
      await store.expirePartials(new Date(Date.now() + 60_000)),
      store.capabilities.resume ? 1 : 0,
    );
    const gone = await store.createWrite(p("old.bin"), {
      overwrite: false,
      owner: "alice",
      resume: true,
    });
    assert.equal(gone.offset, 0);
    await gone.abort();
    assert.deepEqual(await names(store, ""), []);
  });

  test("abortAll() aborts writes in progress", async (fx, store) => {
    const w = await store.createWrite(p("cut.bin"), { overwrite: false });
    await w.write(new Uint8Array(100));
    await store.abortAll();
    await assert.rejects(w.commit("00"));
    const other = await fx.open();
    try {
      assert.deepEqual(await names(other, ""), []);
    } finally {
      await other.close();
    }
  });

  test(
    "usage() counts the bytes of files at and below a path, not in-progress writes",
    async (_fx, store) => {
      await store.mkdir(p("a/b"));
      await put(store, "top.bin", 10, 1);
      await put(store, "a/one.bin", 100, 2);
      await put(store, "a/b/two.bin", 1000, 3);
      const pending = await store.createWrite(p("a/pending.bin"), { overwrite: false });
      await pending.write(new Uint8Array(5000));
      try {
        assert.equal(await store.usage(p("")), 1110);
        assert.equal(await store.usage(p("a")), 1100);
        assert.equal(await store.usage(p("a/b/two.bin")), 1000);
        assert.equal(await store.usage(p("missing")), 0);
        assert.equal(await store.usage(p("a/missing/deeper")), 0);
      } finally {
        await pending.abort();
      }
    },
  );

  test(
    "within() is a store rooted at a home, created if missing, that cannot leave it",
    async (_fx, store) => {
      await store.mkdir(p("bob"));
      await put(store, "bob/secret.bin", 50, 1);
      await put(store, "root.bin", 7, 2);
      const alice = await store.within(p("homes/alice"));
      try {
        assert.deepEqual(await names(store, "homes"), ["alice/"], "home created");
        assert.deepEqual(await names(alice, ""), []);
        const sha = await put(alice, "mine.bin", 30, 3);
        await alice.mkdir(p("sub"));
        assert.deepEqual(await names(alice, ""), ["mine.bin", "sub/"]);
        assert.deepEqual(await readAll(store, "homes/alice/mine.bin"), { size: 30, sha256: sha });
        assert.equal(await alice.usage(p("")), 30);
        // Paths name the home's contents only: the other user's file is simply not there.
        await rejectsKind(alice.openRead(p("bob/secret.bin")), "not_found");
        await rejectsKind(alice.remove(p("root.bin")), "not_found");
        await rejectsKind(alice.rmdir(p(""), true), "denied");
        const err = await alice.openRead(p("nope/x")).catch((e) => e);
        assert.ok(err instanceof StoreError && !err.message.includes("homes"), String(err));
        assert.deepEqual(await readAll(store, "bob/secret.bin"), {
          size: 50,
          sha256: sha256Of(50, 1),
        });
        // An existing home is reused.
        const again = await store.within(p("homes/alice"));
        assert.deepEqual(await names(again, ""), ["mine.bin", "sub/"]);
        await put(store, "afile", 1, 4);
        await rejectsKind(store.within(p("afile")), "exists_file");
      } finally {
        await alice.close();
      }
      assert.deepEqual(
        await names(store, ""),
        ["afile", "bob/", "homes/", "root.bin"],
        "parent open",
      );
    },
  );
}
