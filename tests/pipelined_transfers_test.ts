/**
 * Uploads that run ahead of their answers: the server writes and commits the small files of
 * one connection while it reads the next ones, answers them in request order, fails only the
 * file whose commit fails, and leaves only whole files when it dies in the middle.
 */
import assert from "node:assert/strict";
import { AnswerQueue, type QueuedAnswer } from "../lib/server/answer_queue.ts";
import type { LocalStore } from "../lib/store/local_store.ts";
import { TEMP_PREFIX } from "../lib/store/paths.ts";
import { type Store, StoreError, type StoreWriter } from "../lib/store/store.ts";
import { FileshareClient } from "../lib/client/client.ts";
import {
  listTree,
  rawSession,
  spawnServer,
  startServer,
  USERS,
  writeTestUsers,
} from "./_helpers.ts";
import { encodeData } from "./_frames.ts";
import { createHash } from "node:crypto";
import { receiveBody } from "../lib/transfer.ts";

/** An answer that records when it was sent. */
function answer(name: string, sent: string[], keepOpen = true): QueuedAnswer {
  return {
    parts: [{ name }],
    keepOpen,
    after: (error) => sent.push(error === undefined ? name : `${name}!`),
  };
}

Deno.test({
  name: "AnswerQueue sends answers in push order, those ready together in one send",
  permissions: "none",
  async fn() {
    const writes: string[][] = [];
    const sent: string[] = [];
    const queue = new AnswerQueue(async (parts) => {
      writes.push(parts.map((m) => (m as { name: string }).name));
      await Promise.resolve();
    }, () => {});
    const first = Promise.withResolvers<QueuedAnswer>();
    queue.push(10, first.promise);
    queue.push(10, Promise.resolve(answer("b", sent)));
    queue.push(10, Promise.resolve(answer("c", sent)));
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(writes, [], "b and c wait for a");
    first.resolve(answer("a", sent));
    assert.equal(await queue.drain(), true);
    assert.deepEqual(writes, [["a", "b", "c"]]);
    assert.deepEqual(sent, ["a", "b", "c"]);
    assert.equal(queue.size, 0);
  },
});

/** Resolves after `n` turns of the microtask queue. */
async function microtasks(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await Promise.resolve();
}

Deno.test({
  name: "AnswerQueue answers an item pushed just as its send loop ends",
  permissions: "none",
  async fn() {
    // An item pushed a few microtasks after the last answer went out, at each depth in turn,
    // must start a new send loop rather than wait behind one that has ended.
    for (let depth = 0; depth < 12; depth++) {
      const sent: string[] = [];
      const queue = new AnswerQueue(() => Promise.resolve(), () => {});
      queue.push(
        1,
        Promise.resolve({
          ...answer("a", sent),
          after: () => {
            sent.push("a");
            void microtasks(depth).then(() => queue.push(1, Promise.resolve(answer("b", sent))));
          },
        }),
      );
      await microtasks(depth + 20);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const drained = await Promise.race([
        queue.drain().then(() => true),
        new Promise<false>((r) => (timer = setTimeout(() => r(false), 2000))),
      ]);
      clearTimeout(timer);
      assert.ok(drained, `pushed ${depth} microtasks after the last answer: never answered`);
      assert.deepEqual(sent, ["a", "b"]);
    }
  },
});

Deno.test({
  name: "AnswerQueue stops after an answer that ends the connection; room() holds the limits",
  permissions: "none",
  async fn() {
    const sent: string[] = [];
    let ended = 0;
    const queue = new AnswerQueue(() => Promise.resolve(), () => ended++, {
      depth: 2,
      bytes: 100,
    });
    assert.equal(queue.fits(100), true);
    assert.equal(queue.fits(101), false);
    const a = Promise.withResolvers<QueuedAnswer>();
    queue.push(60, a.promise);
    let roomy = false;
    const room = queue.room(60).then(() => (roomy = true));
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(roomy, false, "60 + 60 bytes is over the limit of 100");
    a.resolve(answer("a", sent, false));
    await room;
    queue.push(1, Promise.resolve(answer("b", sent)));
    assert.equal(await queue.drain(), false);
    assert.deepEqual(sent, ["a", "b!"]);
    assert.equal(ended, 1);
  },
});

/**
 * The real store, where the commit of `fail` throws as a full disk would and the commit of
 * `hold` waits until another file's commit has begun (or 10 s passed).
 */
function faultyCommits(
  store: LocalStore,
  fail: string,
  hold: string,
): { store: Store; overlapped: () => boolean } {
  let started = 0;
  let overlapped = false;
  let another: (() => void) | null = null;
  const real: Store = store;
  const wrapped = new Proxy(real, {
    get(target, prop) {
      if (prop === "createWrite") {
        return async (...args: Parameters<Store["createWrite"]>): Promise<StoreWriter> => {
          const [path] = args;
          const inner = await target.createWrite(...args);
          return {
            write: (chunk) => inner.write(chunk),
            abort: () => inner.abort(),
            offset: inner.offset,
            readKept: () => inner.readKept(),
            restart: () => inner.restart(),
            keep: () => inner.keep(),
            commit: async (sha256) => {
              started++;
              another?.();
              if (path.text === hold) {
                const begun = started;
                await new Promise<void>((resolve) => {
                  const timer = setTimeout(resolve, 10_000);
                  another = () => {
                    clearTimeout(timer);
                    resolve();
                  };
                });
                another = null;
                overlapped = started > begun;
              }
              if (path.text === fail) {
                throw new StoreError("storage_full", path.text, "no space left on the server");
              }
              await inner.commit(sha256);
            },
          };
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { store: wrapped, overlapped: () => overlapped };
}

Deno.test("server commits one connection's pipelined uploads while reading on, answers in order, fails only the file whose commit failed", async () => {
  let faults: ReturnType<typeof faultyCommits> | null = null;
  await using srv = await startServer({
    fsync: true,
    wrapStore: (store) => (faults = faultyCommits(store, "in/f03", "in/f00")).store,
  });
  await using client = await srv.connect("alice");
  await client.mkdir("in");
  const src = `${srv.dir}/src`;
  await Deno.mkdir(src);
  const names = Array.from({ length: 12 }, (_, i) => `f${String(i).padStart(2, "0")}`);
  for (const [i, name] of names.entries()) {
    // Each file its own content: an answer out of order would not match its file's SHA-256.
    await Deno.writeFile(`${src}/${name}`, new Uint8Array(1000 + i).fill(i + 1));
  }
  const outcomes = await client.uploadFiles(
    names.map((name) => ({ local: `${src}/${name}`, remote: `in/${name}` })),
  );
  assert.ok(faults!.overlapped(), "f00's commit was still running when a later one began");
  assert.deepEqual(outcomes.map((o) => o.job.remote), names.map((n) => `in/${n}`));
  for (const [i, o] of outcomes.entries()) {
    if (i === 3) {
      assert.match(String(o.error), /Cannot upload "in\/f03": no space left on the server/);
      assert.equal((o.error as { code?: string }).code, "LIMIT");
    } else {
      assert.equal(o.error, undefined, `${o.job.remote}: ${o.error}`);
      assert.equal(o.result?.bytes, 1000 + i);
    }
  }
  const stored = await listTree(`${srv.root}/in`);
  assert.deepEqual(stored, names.filter((n) => n !== "f03"));
  for (const name of stored) {
    assert.deepEqual(
      await Deno.readFile(`${srv.root}/in/${name}`),
      await Deno.readFile(`${src}/${name}`),
    );
  }
  // The connection goes on, and the log has one line per file in request order.
  assert.deepEqual((await client.list("in")).length, 11);
  const uploads = (await srv.logLines()).filter((l) => l.event === "upload");
  assert.deepEqual(uploads.map((l) => l.path), names.map((n) => `in/${n}`));
  assert.deepEqual(uploads.map((l) => l.ok), names.map((n) => n !== "f03"));
});

Deno.test("server killed in the middle of a pipelined batch leaves only whole files, each answered one among them", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fileshare-pipeline-kill-" });
  try {
    await writeTestUsers(`${dir}/users.json`);
    await Deno.mkdir(`${dir}/src`);
    const names = Array.from({ length: 400 }, (_, i) => `f${String(i).padStart(3, "0")}`);
    const body = new Uint8Array(4096);
    for (const name of names) {
      crypto.getRandomValues(body);
      await Deno.writeFile(`${dir}/src/${name}`, body);
    }
    const args = ["--root", "root", "--log", "log.jsonl"];
    const srv = await spawnServer(dir, args);
    const answered: string[] = [];
    let killed = false;
    try {
      const client = await FileshareClient.connect({
        hostname: "127.0.0.1",
        port: srv.port,
        user: USERS.alice.name,
        password: USERS.alice.password,
        tls: srv.tls,
      });
      try {
        await client.mkdir("in");
        const outcomes = await client.uploadFiles(
          names.map((name) => ({ local: `${dir}/src/${name}`, remote: `in/${name}` })),
          {
            onOutcome: (o) => {
              if (o.error !== undefined) return;
              answered.push((o.job as { remote: string }).remote.slice(3));
              if (answered.length === 40 && !killed) {
                killed = true;
                srv.process.kill("SIGKILL");
              }
            },
          },
        );
        assert.ok(killed, "the server was killed before the batch ended");
        assert.ok(outcomes.some((o) => o.error !== undefined), "the files after it failed");
      } finally {
        client.close();
      }
    } finally {
      await srv.stop().catch(() => {});
    }
    const root = await Deno.realPath(`${dir}/root/in`);
    const left = await listTree(root);
    const whole = left.filter((n) => !n.startsWith(TEMP_PREFIX));
    for (const name of answered) assert.ok(whole.includes(name), `${name} was answered`);
    for (const name of whole) {
      assert.deepEqual(
        await Deno.readFile(`${root}/${name}`),
        await Deno.readFile(`${dir}/src/${name}`),
      );
    }
    // A server started again removes the temporary files the dead one left.
    const again = await spawnServer(dir, args);
    await again.stop();
    assert.deepEqual(await listTree(root), whole);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("client downloadFiles: outcomes in order, a file that cannot be written fails alone, no temporary file is left", async () => {
  await using srv = await startServer();
  await Deno.mkdir(`${srv.root}/out`);
  const names = Array.from({ length: 40 }, (_, i) => `f${String(i).padStart(2, "0")}`);
  for (const [i, name] of names.entries()) {
    // One file bigger than what is held in memory: written as it comes, between the others.
    const size = i === 20 ? 700_000 : 100 + i;
    await Deno.writeFile(`${srv.root}/out/${name}`, new Uint8Array(size).fill(i + 1));
    await Deno.utime(`${srv.root}/out/${name}`, new Date(), new Date(Date.UTC(2020, 0, 1 + i)));
  }
  const into = `${srv.dir}/into`;
  await Deno.mkdir(into);
  await Deno.writeTextFile(`${into}/f05`, "mine");
  await using client = await srv.connect("alice");
  const outcomes = await client.downloadFiles(
    names.map((name) => ({
      remote: `out/${name}`,
      local: name === "f09" ? `${into}/missing/${name}` : `${into}/${name}`,
    })),
  );
  assert.deepEqual(outcomes.map((o) => o.job.remote), names.map((n) => `out/${n}`));
  for (const [i, o] of outcomes.entries()) {
    if (i === 5) assert.match(String(o.error), /local file ".*f05" exists \(use --overwrite\)/);
    else if (i === 9) assert.match(String(o.error), /cannot write ".*missing\/f09"/);
    else assert.equal(o.error, undefined, `${o.job.remote}: ${o.error}`);
  }
  assert.equal(await Deno.readTextFile(`${into}/f05`), "mine");
  const got = await listTree(into);
  assert.deepEqual(got, names.filter((n) => n !== "f09"));
  for (const [i, name] of names.entries()) {
    if (i === 5 || i === 9) continue;
    assert.deepEqual(
      await Deno.readFile(`${into}/${name}`),
      await Deno.readFile(`${srv.root}/out/${name}`),
    );
    assert.equal((await Deno.stat(`${into}/${name}`)).mtime?.getTime(), Date.UTC(2020, 0, 1 + i));
  }
  // The same connection goes on.
  assert.equal((await client.list("out")).length, 40);
});

Deno.test("client downloadFiles cut off in the middle leaves only whole files and no temporary ones", async () => {
  await using srv = await startServer();
  await Deno.mkdir(`${srv.root}/out`);
  const names = Array.from({ length: 300 }, (_, i) => `f${String(i).padStart(3, "0")}`);
  const body = new Uint8Array(4096);
  for (const name of names) {
    crypto.getRandomValues(body);
    await Deno.writeFile(`${srv.root}/out/${name}`, body);
  }
  const into = `${srv.dir}/into`;
  await Deno.mkdir(into);
  const client = await srv.connect("alice");
  const stop = new AbortController();
  let seen = 0;
  const outcomes = await client.downloadFiles(
    names.map((name) => ({ remote: `out/${name}`, local: `${into}/${name}` })),
    {
      signal: stop.signal,
      onOutcome: () => {
        if (++seen === 30) stop.abort();
      },
    },
  );
  client.close();
  assert.ok(outcomes.some((o) => o.error !== undefined), "the files after the cut failed");
  const got = await listTree(into);
  assert.deepEqual(got.filter((n) => n.includes("fileshare-part")), []);
  for (const name of got) {
    assert.deepEqual(
      await Deno.readFile(`${into}/${name}`),
      await Deno.readFile(`${srv.root}/out/${name}`),
    );
  }
  const ok = outcomes.filter((o) => o.error === undefined).map((o) =>
    o.job.local.slice(into.length + 1)
  );
  assert.deepEqual(got, ok);
});

Deno.test("server runs pipelined downloads ahead in order, and a download after an upload of the same path sees the upload", async () => {
  await using srv = await startServer();
  const big = new Uint8Array(300_000).fill(9);
  await Deno.writeFile(`${srv.root}/big.bin`, big);
  await Deno.writeTextFile(`${srv.root}/a.txt`, "old");
  await using conn = await rawSession(srv.port);
  const body = new TextEncoder().encode("new content");
  const sha = createHash("sha256").update(body).digest("hex");
  // All sent before any answer is read.
  await conn.send({ op: "upload", path: "a.txt", size: body.length, overwrite: true, eager: true });
  await conn.writeAll(encodeData(body));
  await conn.send({ op: "end", sha256: sha });
  for (const path of ["a.txt", "missing.txt", "big.bin", "a.txt"]) {
    await conn.send({ op: "download", path });
  }
  await conn.send({ op: "dir", path: "" });
  assert.equal((await conn.expectMessage()).status, "ok");
  // A body as text, or its length when it is the big file.
  const read = async () => {
    const head = await conn.expectMessage();
    if (head.status !== "ok") return head.code;
    const chunks: Uint8Array[] = [];
    const sink = { write: (p: Uint8Array) => (chunks.push(p.slice()), Promise.resolve(p.length)) };
    const body = await receiveBody(conn, head.size as number, sink);
    if (body.bytes > 1000) return body.bytes;
    return new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
  };
  assert.equal(await read(), "new content");
  assert.equal(await read(), "NOT_FOUND");
  assert.equal(await read(), 300_000);
  assert.equal(await read(), "new content");
  const listing = await conn.expectMessage();
  assert.deepEqual((listing.entries as { name: string }[]).map((e) => e.name), [
    "a.txt",
    "big.bin",
  ]);
});
