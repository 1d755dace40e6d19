/**
 * No server-side path reaches a client: symlink loops, paths longer than the system's limit
 * once joined to the root, and a read-only root answer without them; an INTERNAL answer
 * carries a short id that finds the full error in the server's log.
 */
import assert from "node:assert/strict";
import { rawSession, startServer, type TestServer } from "./_helpers.ts";

function noServerPath(srv: TestServer, answer: Record<string, unknown>): void {
  const text = JSON.stringify(answer);
  assert.ok(!text.includes(srv.dir) && !text.includes("/tmp/"), `server path in ${text}`);
}

Deno.test("a symlink loop answers INTERNAL with an id, and the log has the detail", async () => {
  await using srv = await startServer();
  await Deno.symlink("b", `${srv.root}/a`);
  await Deno.symlink("a", `${srv.root}/b`);
  await Deno.symlink("self", `${srv.root}/self`);
  await using conn = await rawSession(srv.port);
  for (
    const msg of [
      { op: "download", path: "a" },
      { op: "download", path: "self/x" },
      { op: "dir", path: "b" },
      { op: "upload", path: "a/x", size: 1, overwrite: false },
      { op: "mkdir", path: "self/x" },
    ]
  ) {
    await conn.send(msg);
    const answer = await conn.expectMessage();
    noServerPath(srv, answer);
    assert.equal(answer.code, "INTERNAL", JSON.stringify(answer));
    const id = /\(id ([0-9a-f]{8})/.exec(String(answer.message))?.[1];
    assert.ok(id, String(answer.message));
    const line = (await srv.logLines()).find((l) => String(l.message).includes(`[id ${id}]`));
    assert.match(String(line?.message), /symlink|loop/i);
  }
  // Still in step and serving.
  await conn.send({ op: "dir", path: "" });
  assert.equal((await conn.expectMessage()).status, "ok");
});

Deno.test("a path of 4,095 bytes below the root works although root + path exceed PATH_MAX", async () => {
  await using srv = await startServer();
  await using c = await srv.connect("alice");
  const names = Array.from({ length: 16 }, (_, i) => String(i % 10).repeat(255));
  const deep = names.join("/"); // 4,095 bytes: within the protocol's limit
  assert.ok(new TextEncoder().encode(`${srv.root}/${deep}`).length > 4096);
  await c.mkdir(deep);
  assert.deepEqual(await c.list(deep), []);
  await using conn = await rawSession(srv.port);
  await conn.send({ op: "download", path: [...names.slice(0, 15), "z".repeat(255)].join("/") });
  const answer = await conn.expectMessage();
  noServerPath(srv, answer);
  assert.equal(answer.code, "NOT_FOUND", JSON.stringify(answer));
});

Deno.test({
  name: "a read-only root answers DENIED without server paths",
  ignore: Deno.uid() !== 0,
  async fn() {
    await using srv = await startServer();
    await Deno.writeTextFile(`${srv.root}/keep.txt`, "keep");
    const mount = await new Deno.Command("mount", {
      args: ["-o", "bind,ro", srv.root, srv.root],
    }).output();
    assert.equal(mount.code, 0, new TextDecoder().decode(mount.stderr));
    try {
      await using conn = await rawSession(srv.port);
      for (
        const msg of [
          { op: "upload", path: "new.txt", size: 1, overwrite: false },
          { op: "mkdir", path: "folder" },
          { op: "delete", path: "keep.txt" },
        ]
      ) {
        await conn.send(msg);
        const answer = await conn.expectMessage();
        noServerPath(srv, answer);
        assert.equal(answer.code, "DENIED", JSON.stringify(answer));
        assert.match(String(answer.message), /read-only/);
      }
    } finally {
      await new Deno.Command("umount", { args: [srv.root] }).output();
    }
  },
});
