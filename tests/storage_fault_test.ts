/**
 * Storage faults during a transfer: an injected fault in every run, and a real full disk (a
 * 50 MiB tmpfs) with the server as a child process when the tests run as root.
 */
import assert from "node:assert/strict";
import { encodeData } from "./_frames.ts";
import { type LocalStore, mapFsError } from "../lib/store/local_store.ts";
import { TEMP_PREFIX } from "../lib/store/paths.ts";
import type { Store, StoreWriter } from "../lib/store/store.ts";
import {
  listTree,
  rawSession,
  runTool,
  spawnServer,
  startServer,
  USERS,
  writeRandomFile,
  writeTestUsers,
} from "./_helpers.ts";
import { FileshareClient } from "../lib/client/client.ts";

const MiB = 1024 * 1024;

/** An error as Deno raises it for a failed write(2). */
function osError(code: string, text: string, n: number): Error {
  return Object.assign(new Error(`${text} (os error ${n})`), { code });
}

const FAULTS = [
  { code: "ENOSPC", error: () => osError("ENOSPC", "No space left on device", 28), wire: "LIMIT" },
  { code: "EDQUOT", error: () => osError("EDQUOT", "Disk quota exceeded", 122), wire: "LIMIT" },
  { code: "EROFS", error: () => osError("EROFS", "Read-only file system", 30), wire: "DENIED" },
  { code: "EIO", error: () => osError("EIO", "Input/output error", 5), wire: "INTERNAL" },
] as const;

/** The real store, with writes failing as the disk would once `after` bytes are written. */
function faulty(store: LocalStore, after: number, error: () => Error): Store {
  const real: Store = store;
  return {
    capabilities: real.capabilities,
    location: real.location,
    list: (path) => real.list(path),
    openRead: (path) => real.openRead(path),
    remove: (path) => real.remove(path),
    mkdir: (path) => real.mkdir(path),
    rmdir: (path, recursive) => real.rmdir(path, recursive),
    usage: (path) => real.usage(path),
    within: (home) => real.within(home),
    rename: (from, to, options) => real.rename(from, to, options),
    abortAll: () => real.abortAll(),
    expirePartials: (before) => real.expirePartials(before),
    close: () => real.close(),
    async createWrite(path, options): Promise<StoreWriter> {
      const inner = await real.createWrite(path, options);
      let written = 0;
      return {
        write: async (chunk: Uint8Array) => {
          // As the local writer reports it.
          if (written + chunk.length > after) throw mapFsError(error(), path);
          written += chunk.length;
          await inner.write(chunk);
        },
        commit: (sha256) => inner.commit(sha256),
        abort: () => inner.abort(),
        offset: inner.offset,
        readKept: () => inner.readKept(),
        restart: () => inner.restart(),
        keep: () => inner.keep(),
      };
    },
  };
}

async function tempFiles(dir: string): Promise<string[]> {
  return (await listTree(dir)).filter((p) => p.split("/").some((s) => s.startsWith(TEMP_PREFIX)));
}

Deno.test("an upload whose storage write fails answers that client and the server goes on", async (t) => {
  for (const fault of FAULTS) {
    await t.step(fault.code, async () => {
      await using srv = await startServer({
        wrapStore: (store) => faulty(store, 2 * MiB, fault.error),
      });
      await using conn = await rawSession(srv.port);
      const size = 6 * MiB;
      await conn.send({ op: "upload", path: "big.bin", size, overwrite: false });
      assert.equal((await conn.expectMessage()).status, "ready");
      // Slowly: the failing write settles while the server waits for the next frame.
      for (let sent = 0; sent < size; sent += MiB) {
        await conn.writeAll(encodeData(new Uint8Array(MiB)));
        await new Promise((r) => setTimeout(r, 30));
      }
      await conn.send({ op: "end", sha256: "0".repeat(64) });
      const answer = await conn.expectMessage();
      assert.equal(answer.status, "error");
      assert.equal(answer.code, fault.wire, String(answer.message));
      assert.ok(!String(answer.message).includes(srv.dir), String(answer.message));
      if (fault.wire === "INTERNAL") {
        // The client gets an id; the log has the full error under that id.
        const id = /\(id ([0-9a-f]{8})/.exec(String(answer.message))?.[1];
        assert.ok(id, String(answer.message));
        const line = (await srv.logLines()).find((l) => String(l.message).includes(`[id ${id}]`));
        assert.match(String(line?.message), /Input\/output error/);
      }
      assert.deepEqual(await tempFiles(srv.root), []);
      assert.deepEqual(await listTree(srv.root), []);
      // The same connection and a new client are both still served.
      await conn.send({ op: "dir", path: "" });
      assert.equal((await conn.expectMessage()).status, "ok");
      await using other = await srv.connect("alice");
      assert.deepEqual(await other.list(""), []);
    });
  }
});

const TRIALS = Number(Deno.env.get("FILESHARE_DISK_TRIALS") ?? 1);
const IS_ROOT = Deno.uid() === 0;
if (!IS_ROOT) console.log("full-disk test skipped: mounting a tmpfs needs root");

Deno.test({
  name: "a full 50 MiB tmpfs never crashes the server (child process, slow and real uploads)",
  ignore: !IS_ROOT,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "fileshare-disk-" });
    const root = `${dir}/root`;
    await Deno.mkdir(root);
    const mount = await new Deno.Command("mount", {
      args: ["-t", "tmpfs", "-o", "size=50m", "tmpfs", root],
    }).output();
    assert.equal(mount.code, 0, new TextDecoder().decode(mount.stderr));
    let crashes = 0;
    let trials = 0;
    try {
      await writeTestUsers(`${dir}/users.json`);
      const big = `${dir}/big.bin`;
      await writeRandomFile(big, 60 * MiB);
      let srv = await spawnServer(dir, ["--root", "root"]);
      let died = false;
      const watch = () => srv.process.status.then(() => (died = true));
      watch();
      const check = async () => {
        trials++;
        await new Promise((r) => setTimeout(r, 100));
        if (died) {
          crashes++;
          const out = await srv.stop();
          console.log(`server crashed: ${out.stderr.trim().split("\n").slice(-3).join(" | ")}`);
          srv = await spawnServer(dir, ["--root", "root"]);
          died = false;
          watch();
          return;
        }
        assert.deepEqual(await tempFiles(root), [], "a temporary file was left");
        // Another client is still served and can use the freed space.
        await using other = await FileshareClient.connect({
          hostname: "127.0.0.1",
          port: srv.port,
          user: USERS.alice.name,
          password: USERS.alice.password,
          tls: srv.tls,
        });
        await other.list("");
      };
      try {
        for (let i = 0; i < TRIALS * 2; i++) {
          // A slow raw upload: the failing write settles while the server awaits a frame.
          const size = 60 * MiB;
          const conn = await rawSession(srv.port);
          try {
            await conn.send({ op: "upload", path: `slow-${i}.bin`, size, overwrite: false });
            assert.equal((await conn.expectMessage()).status, "ready");
            const chunk = new Uint8Array(MiB);
            for (let sent = 0; sent < size && !died; sent += MiB) {
              await conn.writeAll(encodeData(chunk));
              await new Promise((r) => setTimeout(r, 10));
            }
            await conn.send({ op: "end", sha256: "0".repeat(64) });
            const answer = await conn.expectMessage();
            assert.equal(answer.code, "LIMIT", JSON.stringify(answer));
            assert.match(String(answer.message), /no space left/);
          } catch (err) {
            // A crashed server breaks the pipe; give its exit a moment to be seen.
            await Promise.race([srv.process.status, new Promise((r) => setTimeout(r, 2000))]);
            if (!died) throw err;
          } finally {
            conn.close();
          }
          await check();
        }
        for (let i = 0; i < TRIALS; i++) {
          const up = await runTool("client", [
            "--server",
            `127.0.0.1:${srv.port}`,
            "--user",
            "alice",
            "upload",
            big,
            `real-${i}.bin`,
          ], { cwd: dir, env: { FILESHARE_PASSWORD: USERS.alice.password } });
          assert.notEqual(up.code, 0);
          if (!died) assert.match(up.stderr, /no space left/, up.stderr);
          await check();
        }
      } finally {
        await srv.stop();
      }
    } finally {
      await new Deno.Command("umount", { args: [root] }).output();
      await Deno.remove(dir, { recursive: true });
      console.log(`full disk: ${crashes} crashes in ${trials} trials`);
    }
    assert.equal(crashes, 0, `${crashes} crashes in ${trials} trials`);
  },
});
