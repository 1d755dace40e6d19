/**
 * NatsStore on a real 3-node JetStream cluster on loopback, shared by every test here: the
 * store contract, two fileshare servers on one bucket, NATS nodes and fileshare servers
 * killed with SIGKILL. CI installs nats-server (.ci/run), so these always run there.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { NatsCluster, natsServerPath } from "./_nats.ts";
import { storeContract } from "./_store_contract.ts";
import { NatsStore, type NatsStoreOptions } from "../lib/store/nats_store.ts";
import { KvUsersStorage } from "../lib/auth/kv_users_storage.ts";
import { UsersFile } from "../lib/auth/users.ts";
import { ActivityLog } from "../lib/log/activity_log.ts";
import { FileshareServer } from "../lib/server/server.ts";
import { FileshareClient } from "../lib/client/client.ts";
import { FileshareError } from "../lib/protocol/errors.ts";
import { encodeData } from "./_frames.ts";
import { rawSession, runTool, spawnServer, testCertificate, USERS } from "./_helpers.ts";

const installed = natsServerPath() !== null;
if (!installed) console.warn("nats-server is not installed: NATS tests are ignored");
const cluster = installed ? await NatsCluster.start(3) : null;
const ignore = !installed;
// The NATS client keeps timers and sockets across awaits of its own; every test closes its
// connections, but the bookkeeping of the client spans tests, so sanitizers are off here.
const loose = { ignore, sanitizeOps: false, sanitizeResources: false };

let buckets = 0;
function bucketName(): string {
  return `t${++buckets}-${crypto.randomUUID().slice(0, 8)}`;
}

function options(bucket: string, extra: Partial<NatsStoreOptions> = {}): NatsStoreOptions {
  // Short request timeouts make a failover show quickly; lookups retry through it.
  return {
    servers: cluster!.servers,
    bucket,
    replicas: 3,
    sweepIntervalMs: 0,
    timeoutMs: 3_000,
    ...extra,
  };
}

async function destroyBuckets(bucket: string): Promise<void> {
  const { connect } = await import("@nats-io/transport-node");
  const { jetstreamManager } = await import("@nats-io/jetstream");
  const nc = await connect({ servers: cluster!.servers });
  try {
    const jsm = await jetstreamManager(nc);
    for (
      const s of [
        `OBJ_${bucket}`,
        `KV_${bucket}-live`,
        `KV_${bucket}-users`,
        `KV_${bucket}-partials`,
      ]
    ) {
      await jsm.streams.delete(s).catch(() => {});
    }
  } finally {
    await nc.close();
  }
}

storeContract("NatsStore", () => {
  const bucket = bucketName();
  return Promise.resolve({
    // One replica keeps the contract quick; the failover tests below use three.
    open: () => NatsStore.open(options(bucket, { replicas: 1 })),
    chunk: 1 << 20,
    dispose: () => destroyBuckets(bucket),
  });
}, { ignore, sanitize: false });

/** An in-process fileshare server on a NATS bucket (users in the bucket's KV). */
async function natsServer(bucket: string, extra: Partial<NatsStoreOptions> = {}) {
  const dir = await Deno.makeTempDir({ prefix: "fileshare-nats-srv-" });
  const store = await NatsStore.open(options(bucket, extra));
  const usersStorage = await KvUsersStorage.open({
    servers: cluster!.servers,
    bucket,
    replicas: 3,
  });
  let users = await UsersFile.loadFrom(usersStorage);
  if (users === null) {
    users = UsersFile.createIn(usersStorage);
    for (const u of Object.values(USERS)) {
      await users.add(u.name, u.password, { readOnly: u.readOnly, iterations: 4096 });
    }
    await users.save();
  }
  const log = await ActivityLog.open(`${dir}/log.jsonl`);
  const cert = await testCertificate();
  const server = FileshareServer.listen({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeoutMs: 30_000,
    graceMs: 1_000,
    maxConnections: 64,
    serverName: "fileshare/test",
    defaultIterations: 4096,
    authFailDelayMs: 0,
    tls: { cert: cert.cert, key: cert.key },
  }, { store, users, log });
  const port = server.addr.port;
  return {
    store,
    port,
    connect: (user: keyof typeof USERS = "alice", password?: string) =>
      FileshareClient.connect({
        hostname: "127.0.0.1",
        port,
        user: USERS[user]?.name ?? user,
        password: password ?? USERS[user].password,
        tls: { ca: cert.cert },
      }),
    close: async () => {
      await server.shutdown();
      await store.close();
      await usersStorage.close();
      await log.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** A pattern source of `size` bytes; returns it with its SHA-256. */
function source(
  size: number,
  seed: number,
): { read(p: Uint8Array): Promise<number | null>; sha256: string } {
  const gen = (offset: number, p: Uint8Array) => {
    for (let i = 0; i < p.length; i++) {
      p[i] = ((offset + i) * 31 + seed * 7 + ((offset + i) >> 11)) & 0xff;
    }
  };
  const h = createHash("sha256");
  const tmp = new Uint8Array(1 << 20);
  for (let off = 0; off < size; off += tmp.length) {
    const n = Math.min(tmp.length, size - off);
    gen(off, tmp.subarray(0, n));
    h.update(tmp.subarray(0, n));
  }
  let done = 0;
  return {
    sha256: h.digest("hex"),
    read: (p) => {
      if (done >= size) return Promise.resolve(null);
      const n = Math.min(p.length, size - done);
      gen(done, p.subarray(0, n));
      done += n;
      return Promise.resolve(n);
    },
  };
}

async function download(
  client: FileshareClient,
  path: string,
): Promise<{ bytes: number; sha256: string }> {
  const r = await client.download(
    path,
    () => Promise.resolve({ write: (p) => Promise.resolve(p.length) }),
  );
  return { bytes: r.bytes, sha256: r.sha256 };
}

Deno.test({
  name: "NatsStore: two servers on one bucket share files, folders and users",
  ...loose,
  fn: async () => {
    const bucket = bucketName();
    const a = await natsServer(bucket);
    const b = await natsServer(bucket);
    try {
      const ca = await a.connect();
      const cb = await b.connect();
      try {
        await ca.mkdir("docs/deep");
        const src = source(5 * (1 << 20) + 3, 1);
        const up = await ca.upload(src, 5 * (1 << 20) + 3, "docs/report.bin");
        assert.equal(up.sha256, src.sha256);
        assert.deepEqual((await cb.list("docs")).map((e) => [e.name, e.type, e.size]), [
          ["deep", "dir", 0],
          ["report.bin", "file", 5 * (1 << 20) + 3],
        ]);
        assert.deepEqual(await download(cb, "docs/report.bin"), {
          bytes: 5 * (1 << 20) + 3,
          sha256: src.sha256,
        });
        // Overwrite rules hold across servers, with the client's advice.
        await assert.rejects(
          cb.upload(source(10, 2), 10, "docs/report.bin"),
          (e) =>
            e instanceof FileshareError && e.code === "EXISTS" && /use --overwrite/.test(e.message),
        );
        await assert.rejects(
          ca.rmdir("docs"),
          (e) =>
            e instanceof FileshareError && e.code === "NOT_EMPTY" &&
            /use --recursive/.test(e.message),
        );
        await cb.rmdir("docs", true);
        assert.deepEqual(await ca.list(""), []);
      } finally {
        ca.close();
        cb.close();
      }
      // A user added through the CLI against the cluster logs in through both servers at once.
      const cwd = await Deno.makeTempDir();
      try {
        const add = await runTool("server", [
          "user",
          "add",
          "carol",
          "--password-stdin",
          "--iterations",
          "4096",
          "--store",
          cluster!.url,
          "--bucket",
          bucket,
        ], { cwd, stdin: "carol-password\n" });
        assert.equal(add.code, 0, add.stderr);
        const list = await runTool("server", [
          "user",
          "list",
          "--store",
          cluster!.url,
          "--bucket",
          bucket,
        ], { cwd });
        assert.match(list.stdout, /^carol$/m);
      } finally {
        await Deno.remove(cwd, { recursive: true });
      }
      for (const srv of [a, b]) {
        const c = await FileshareClient.connect({
          hostname: "127.0.0.1",
          port: srv.port,
          user: "carol",
          password: "carol-password",
          tls: { ca: (await testCertificate()).cert },
        });
        assert.deepEqual(await c.list(""), []);
        c.close();
      }
    } finally {
      await a.close();
      await b.close();
      await destroyBuckets(bucket);
    }
  },
});

/** A JSON document from node `i`'s monitoring port. */
async function monitor<T>(i: number, path: string): Promise<T> {
  const res = await fetch(`${cluster!.monitor(i)}${path}`);
  return await res.json() as T;
}

Deno.test({
  name: "NatsStore.open() sends upload chunks through the stream leader's node",
  ...loose,
  async fn() {
    const bucket = bucketName();
    const first = await NatsStore.open(options(bucket));
    try {
      const { connect } = await import("@nats-io/transport-node");
      const { jetstreamManager } = await import("@nats-io/jetstream");
      const nc = await connect({ servers: cluster!.servers });
      const leader = await jetstreamManager(nc)
        .then((jsm) => jsm.streams.info(`OBJ_${bucket}`))
        .then((si) => si.cluster?.leader)
        .finally(() => nc.close());
      const names = await Promise.all(
        cluster!.servers.map((_, i) => monitor<{ server_name: string }>(i, "/varz")),
      );
      const l = names.findIndex((v) => v.server_name === leader);
      assert.ok(l >= 0, `leader ${leader} not among ${names.map((v) => v.server_name)}`);
      // Given only a follower's address, the store finds the leader among the advertised ones.
      const follower = (l + 1) % names.length;
      await using store = await NatsStore.open(
        options(bucket, { servers: [cluster!.servers[follower]], name: "via-follower" }),
      );
      const body = new Uint8Array(3 * store.chunkBytes).map((_, i) => i * 7);
      const w = await store.createWrite({ segments: ["a.bin"], text: "a.bin" }, {
        overwrite: false,
      });
      await w.write(body);
      await w.commit(createHash("sha256").update(body).digest("hex"));
      type Connz = { connections: { name?: string; in_bytes: number }[] };
      const chunks = (await monitor<Connz>(l, "/connz")).connections
        .find((c) => c.name === "via-follower chunks");
      assert.ok(chunks, "no chunk connection on the leader's node");
      assert.ok(chunks.in_bytes >= body.length, `${chunks.in_bytes} bytes through the leader`);
      const r = await store.openRead({ segments: ["a.bin"], text: "a.bin" });
      const back = new Uint8Array(body.length);
      for (let off = 0; off < back.length;) off += (await r.read(back.subarray(off)))!;
      await r.close();
      assert.deepEqual(back, body);
    } finally {
      await first.close();
      await destroyBuckets(bucket);
    }
  },
});

Deno.test({
  name: "server --store: clear error when NATS is unreachable at start",
  ignore,
  fn: async () => {
    const cwd = await Deno.makeTempDir();
    try {
      const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const dead = (l.addr as Deno.NetAddr).port;
      l.close();
      const r = await runTool("server", ["--port", "0", "--store", `nats://127.0.0.1:${dead}`], {
        cwd,
      });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /cannot reach NATS at 127\.0\.0\.1:\d+/i);
      const bad = await runTool("server", ["--store", "http://x"], { cwd });
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /Invalid --store "http:\/\/x"/);
      assert.deepEqual(
        [...Deno.readDirSync(cwd)].map((e) => e.name).filter((n) => n !== "fileshare.jsonl"),
        [],
      );
    } finally {
      await Deno.remove(cwd, { recursive: true });
    }
  },
});

Deno.test({
  name: "NatsStore: a full bucket fails the upload clearly and leaves nothing",
  ...loose,
  fn: async () => {
    const bucket = bucketName();
    const a = await natsServer(bucket, { maxBytes: 4 << 20, replicas: 1 });
    try {
      const c = await a.connect();
      try {
        await assert.rejects(
          c.upload(source(8 << 20, 3), 8 << 20, "big.bin"),
          (e) => e instanceof FileshareError && e.code === "LIMIT" && /full/.test(e.message),
        );
        assert.deepEqual(await c.list(""), []);
        // The space of the failed upload is given back: a small file fits.
        const small = source(1000, 4);
        assert.equal((await c.upload(small, 1000, "small.bin")).sha256, small.sha256);
      } finally {
        c.close();
      }
    } finally {
      await a.close();
      await destroyBuckets(bucket);
    }
  },
});

async function streamCaughtUp(bucket: string): Promise<boolean> {
  const { connect } = await import("@nats-io/transport-node");
  const { jetstreamManager } = await import("@nats-io/jetstream");
  const nc = await connect({ servers: cluster!.servers });
  try {
    const si = await (await jetstreamManager(nc)).streams.info(`OBJ_${bucket}`);
    const replicas = si.cluster?.replicas ?? [];
    return si.cluster?.leader !== undefined && replicas.length === 2 &&
      replicas.every((r) => r.current && !r.offline);
  } catch {
    return false;
  } finally {
    await nc.close();
  }
}

Deno.test({
  name: "NatsStore: a NATS node killed between and during transfers loses no acknowledged file",
  ...loose,
  fn: async () => {
    const bucket = bucketName();
    const a = await natsServer(bucket);
    const b = await natsServer(bucket);
    const acked = new Map<string, string>();
    try {
      const ca = await a.connect();
      const cb = await b.connect();
      try {
        const s1 = source(3 << 20, 10);
        await ca.upload(s1, 3 << 20, "before.bin");
        acked.set("before.bin", s1.sha256);
        // Between transfers.
        await cluster!.kill(0);
        const s2 = source(3 << 20, 11);
        await ca.upload(s2, 3 << 20, "between.bin");
        acked.set("between.bin", s2.sha256);
        assert.deepEqual(await download(cb, "before.bin"), { bytes: 3 << 20, sha256: s1.sha256 });
        await cluster!.restart(0);
        await waitForCatchUp(bucket);
        // During a transfer, at a fixed point: once its first chunks are stored, the node that
        // leads the bucket's stream dies (the hardest case: the election happens mid-upload).
        // The upload completes or fails clearly, and nothing partial is visible.
        const s3 = gated(source(24 << 20, 12), 4 << 20);
        const stored = (await chunkSubjects(bucket)).length;
        const during = ca.upload(s3, 24 << 20, "during.bin").then(
          () => "ok",
          (e) => e,
        );
        await waitChunks(bucket, (n) => n > stored);
        const leader = await streamLeader(bucket);
        await cluster!.kill(leader);
        s3.open();
        const outcome = await during;
        if (outcome === "ok") acked.set("during.bin", s3.sha256);
        else {
          assert.ok(outcome instanceof FileshareError, String(outcome));
          assert.match(outcome.message, /unavailable|cancel/i);
        }
        const cc = outcome === "ok" ? ca : await a.connect();
        const names = (await cb.list("")).map((e) => e.name).sort();
        assert.deepEqual(names, [...acked.keys()].sort());
        // Service continues with a node down.
        const s4 = source(1 << 20, 13);
        await cc.upload(s4, 1 << 20, "after.bin");
        acked.set("after.bin", s4.sha256);
        if (cc !== ca) cc.close();
        await cluster!.restart(leader);
        await waitForCatchUp(bucket);
        for (const [name, sha] of acked) {
          assert.equal((await download(cb, name)).sha256, sha, name);
        }
      } finally {
        ca.close();
        cb.close();
      }
    } finally {
      for (const i of [0, 1, 2]) await cluster!.restart(i);
      await a.close();
      await b.close();
      await destroyBuckets(bucket);
    }
  },
});

/**
 * A source that gives its first `first` bytes at once and then waits for {@link open}: a test
 * can act at a fixed point of an upload, whatever the machine's speed.
 */
function gated(
  src: { read(p: Uint8Array): Promise<number | null>; sha256: string },
  first: number,
): { read(p: Uint8Array): Promise<number | null>; sha256: string; open(): void } {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  let done = 0;
  return {
    sha256: src.sha256,
    open,
    read: async (p) => {
      if (done >= first) await gate;
      const n = await src.read(done < first ? p.subarray(0, Math.min(p.length, first - done)) : p);
      done += n ?? 0;
      return n;
    },
  };
}

/** Index of the cluster node (n1 = 0) leading the bucket's stream. */
async function streamLeader(bucket: string): Promise<number> {
  const { connect } = await import("@nats-io/transport-node");
  const { jetstreamManager } = await import("@nats-io/jetstream");
  const nc = await connect({ servers: cluster!.servers });
  try {
    const si = await (await jetstreamManager(nc)).streams.info(`OBJ_${bucket}`);
    const m = /^n(\d+)$/.exec(si.cluster?.leader ?? "");
    if (m === null) throw new Error(`no leader for OBJ_${bucket}`);
    return Number(m[1]) - 1;
  } finally {
    await nc.close();
  }
}

async function waitForCatchUp(bucket: string): Promise<void> {
  const end = Date.now() + 20_000;
  while (!(await streamCaughtUp(bucket))) {
    if (Date.now() > end) throw new Error("restarted node did not catch up");
    await new Promise((r) => setTimeout(r, 200));
  }
}

Deno.test({
  name:
    "NatsStore: a fileshare server killed mid-upload leaves nothing visible; its leftovers are swept, others' uploads kept",
  ...loose,
  fn: async () => {
    const bucket = bucketName();
    // The live list is created here with a short TTL so a dead server is noticed quickly.
    const b = await natsServer(bucket, { liveTtlMs: 1500 });
    const cwd = await Deno.makeTempDir();
    const child = await spawnServer(cwd, ["--store", cluster!.url, "--bucket", bucket]);
    try {
      const conn = await rawSession(child.port);
      try {
        await conn.send({
          op: "upload",
          path: "crash.bin",
          size: 8 << 20,
          overwrite: false,
          eager: false,
        });
        assert.equal((await conn.expectMessage()).status, "ready");
        for (let i = 0; i < 3; i++) {
          await conn.writeAll(encodeData(new Uint8Array(1 << 20).fill(i)));
        }
        // Wait until chunks of the upload are in the bucket, then kill the server.
        await waitChunks(bucket, (n) => n > 0);
        child.process.kill("SIGKILL");
        await child.stop();
      } finally {
        conn.close();
      }
      const cb = await b.connect();
      try {
        assert.deepEqual(await cb.list(""), []);
        // An upload of this server is in flight while it sweeps: it must survive.
        const w = await b.store.createWrite({ segments: ["mine.bin"], text: "mine.bin" }, {
          overwrite: false,
        });
        const data = new Uint8Array(3 << 20).fill(9);
        await w.write(data);
        await new Promise((r) => setTimeout(r, 2000)); // the dead server's live entry expires
        await b.store.sweep();
        await waitChunks(bucket, (n) => n === 1); // only this server's upload is left
        await w.commit(createHash("sha256").update(data).digest("hex"));
        assert.deepEqual((await cb.list("")).map((e) => [e.name, e.size]), [["mine.bin", 3 << 20]]);
        assert.equal(
          (await download(cb, "mine.bin")).sha256,
          createHash("sha256").update(data).digest("hex"),
        );
      } finally {
        cb.close();
      }
    } finally {
      await child.stop();
      await b.close();
      await Deno.remove(cwd, { recursive: true });
      await destroyBuckets(bucket);
    }
  },
});

/** The chunk subjects of the bucket (one per upload with chunks). */
async function chunkSubjects(bucket: string): Promise<string[]> {
  const { connect } = await import("@nats-io/transport-node");
  const { jetstreamManager } = await import("@nats-io/jetstream");
  const nc = await connect({ servers: cluster!.servers });
  try {
    const jsm = await jetstreamManager(nc);
    const si = await jsm.streams.info(`OBJ_${bucket}`, { subjects_filter: `$O.${bucket}.C.>` });
    return Object.keys(si.state.subjects ?? {});
  } finally {
    await nc.close();
  }
}

/** Waits until the number of chunk subjects (uploads with chunks) satisfies `ok`. */
async function waitChunks(bucket: string, ok: (n: number) => boolean): Promise<void> {
  const end = Date.now() + 10_000;
  while (!ok((await chunkSubjects(bucket)).length)) {
    if (Date.now() > end) throw new Error("chunk subjects never reached the expected count");
    await new Promise((r) => setTimeout(r, 100));
  }
}

Deno.test({
  name:
    "NatsStore: NATS gone entirely mid-upload gives a one-line error, leaves nothing partial, and the server serves again when it returns",
  ...loose,
  fn: async () => {
    const bucket = bucketName();
    // Short retries: while the whole cluster is down a command fails after about this long.
    const a = await natsServer(bucket, { retryMs: 2_000 });
    try {
      const c = await a.connect();
      const kept = source(1 << 20, 20);
      try {
        await c.upload(kept, 1 << 20, "kept.bin");
        const lost = gated(source(12 << 20, 21), 4 << 20);
        const during = c.upload(lost, 12 << 20, "lost.bin").then(() => "ok", (e) => e);
        await waitChunks(bucket, (n) => n > 1);
        await Promise.all([0, 1, 2].map((i) => cluster!.kill(i)));
        lost.open();
        const err = await during;
        assert.ok(err instanceof FileshareError, String(err));
        assert.equal(err.code, "UNAVAILABLE");
        assert.match(err.message, /^Cannot upload "lost\.bin": shared storage unavailable \(.+\)$/);
        // The server stays up and says clearly that its storage is gone.
        await assert.rejects(
          c.list(""),
          (e) =>
            e instanceof FileshareError && e.code === "UNAVAILABLE" &&
            /^Cannot list "\/": shared storage unavailable \(.+\)$/.test(e.message),
        );
      } finally {
        c.close();
      }
      await Promise.all([0, 1, 2].map((i) => cluster!.restart(i)));
      await waitForCatchUp(bucket);
      const c2 = await a.connect();
      try {
        // Nothing of the interrupted upload is visible, and its chunks go with the next sweep.
        assert.deepEqual((await c2.list("")).map((e) => e.name), ["kept.bin"]);
        await a.store.sweep();
        await waitChunks(bucket, (n) => n === 1);
        assert.equal((await download(c2, "kept.bin")).sha256, kept.sha256);
        const again = source(3 << 20, 22);
        assert.equal((await c2.upload(again, 3 << 20, "again.bin")).sha256, again.sha256);
        assert.equal((await download(c2, "again.bin")).sha256, again.sha256);
      } finally {
        c2.close();
      }
    } finally {
      await Promise.all([0, 1, 2].map((i) => cluster!.restart(i)));
      await a.close();
      await destroyBuckets(bucket);
    }
  },
});

Deno.test({
  name: "NATS cluster: stopped after the NATS tests",
  ...loose,
  fn: async () => {
    await cluster?.stop();
  },
});
