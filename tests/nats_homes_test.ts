/**
 * Homes and quotas on a NATS store: users set through `server user set --store`, two
 * fileshare servers on one bucket, a home confining its user on both and one quota held
 * across both servers.
 */
import assert from "node:assert/strict";
import { NatsCluster, natsServerPath } from "./_nats.ts";
import { NatsStore } from "../lib/store/nats_store.ts";
import { KvUsersStorage } from "../lib/auth/kv_users_storage.ts";
import { UsersFile } from "../lib/auth/users.ts";
import { ActivityLog } from "../lib/log/activity_log.ts";
import { FileshareServer } from "../lib/server/server.ts";
import { FileshareClient } from "../lib/client/client.ts";
import { FileshareError } from "../lib/protocol/errors.ts";
import { runTool, testCertificate, USERS } from "./_helpers.ts";

const installed = natsServerPath() !== null;
if (!installed) console.warn("nats-server is not installed: NATS tests are ignored");

/** An in-process fileshare server on `bucket` (users in the bucket's KV). */
async function natsServer(cluster: NatsCluster, bucket: string) {
  const dir = await Deno.makeTempDir({ prefix: "fileshare-nats-homes-" });
  const store = await NatsStore.open({
    servers: cluster.servers,
    bucket,
    replicas: 1,
    sweepIntervalMs: 0,
  });
  const usersStorage = await KvUsersStorage.open({
    servers: cluster.servers,
    bucket,
    replicas: 1,
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
  return {
    connect: (user: keyof typeof USERS) =>
      FileshareClient.connect({
        hostname: "127.0.0.1",
        port: server.addr.port,
        user,
        password: USERS[user].password,
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

function bytes(n: number, fill: number) {
  let done = false;
  return {
    read: (p: Uint8Array) => {
      if (done || n === 0) return Promise.resolve(null);
      p.fill(fill, 0, n);
      done = true;
      return Promise.resolve(n);
    },
  };
}

Deno.test({
  name: "NatsStore: a home confines its user and a quota holds across two servers on one bucket",
  ignore: !installed,
  // The NATS client's bookkeeping spans awaits of its own (as in nats_test.ts).
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const cluster = await NatsCluster.start(1);
    const bucket = `homes-${crypto.randomUUID().slice(0, 8)}`;
    const a = await natsServer(cluster, bucket);
    const b = await natsServer(cluster, bucket);
    const cwd = await Deno.makeTempDir();
    try {
      const set = await runTool("server", [
        "user",
        "set",
        "alice",
        "--home",
        "alice",
        "--quota",
        "1000",
        "--store",
        cluster.url,
        "--bucket",
        bucket,
      ], { cwd });
      assert.equal(set.code, 0, set.stderr);
      {
        await using bobA = await a.connect("bob");
        assert.deepEqual(await bobA.list(), [], "nothing yet");
      }
      await using onA = await a.connect("alice");
      await using onB = await b.connect("alice");
      await onA.upload(bytes(600, 1), 600, "a.bin");
      await onB.upload(bytes(400, 2), 400, "b.bin");
      assert.deepEqual(await onA.df(), { used: 1000, quota: 1000, free: 0, maxUpload: null });
      const over = await onB.upload(bytes(1, 3), 1, "c.bin").catch((e) => e);
      assert.ok(over instanceof FileshareError && over.code === "LIMIT", String(over));
      assert.equal(over.reason, "quota");
      assert.deepEqual((await onB.list()).map((e) => e.name), ["a.bin", "b.bin"]);
      // Confined on both servers; bob (no home) sees alice's home as a folder of the root.
      for (const c of [onA, onB]) {
        await assert.rejects(c.list("../"), /leaves the shared folder/);
        await assert.rejects(c.rmdir("", true), (e) => (e as FileshareError).code === "DENIED");
      }
      await using bob = await b.connect("bob");
      assert.deepEqual((await bob.list()).map((e) => [e.name, e.type]), [["alice", "dir"]]);
      assert.deepEqual((await bob.list("alice")).map((e) => e.name), ["a.bin", "b.bin"]);
      assert.deepEqual(await bob.df(), { used: 1000, quota: null, free: null, maxUpload: null });
    } finally {
      await a.close();
      await b.close();
      await cluster.stop();
      await Deno.remove(cwd, { recursive: true });
    }
  },
});
