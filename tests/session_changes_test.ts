import assert from "node:assert/strict";
import { runTool, startServer } from "./_helpers.ts";
import { readableSource } from "../lib/client/web_streams.ts";
import type { FileshareClient } from "../lib/client/client.ts";
import { ConnectionError, FileshareError } from "../lib/protocol/errors.ts";

function put(client: FileshareClient, name: string): Promise<unknown> {
  const bytes = new TextEncoder().encode(name);
  return client.upload(readableSource(ReadableStream.from([bytes])), bytes.length, name, {
    overwrite: true,
  });
}

async function editUser(usersPath: string, name: string, readOnly: boolean): Promise<void> {
  const data = JSON.parse(await Deno.readTextFile(usersPath));
  data.users[name].readOnly = readOnly;
  // Another mtime than the file the server read (its version is the mtime).
  await new Promise((r) => setTimeout(r, 20));
  await Deno.writeTextFile(`${usersPath}.tmp`, JSON.stringify(data));
  await Deno.rename(`${usersPath}.tmp`, usersPath);
}

Deno.test("Session applies a user made read-only to its open session on the next command", async () => {
  await using srv = await startServer();
  await using alice = await srv.connect("alice");
  await put(alice, "before.txt");
  await editUser(srv.usersPath, "alice", true);
  await assert.rejects(
    () => put(alice, "after.txt"),
    (err) => err instanceof FileshareError && err.code === "DENIED",
  );
  assert.equal((await alice.list("")).length, 1, "reading still works, same connection");
  await editUser(srv.usersPath, "alice", false);
  await put(alice, "again.txt");
  assert.deepEqual((await alice.list("")).map((e) => e.name).sort(), ["again.txt", "before.txt"]);
});

Deno.test("Session disconnects a removed user on the next command", async () => {
  await using srv = await startServer();
  await using bob = await srv.connect("bob");
  await using alice = await srv.connect("alice");
  assert.deepEqual(await bob.list(""), []);
  await new Promise((r) => setTimeout(r, 20));
  const rm = await runTool("server", ["user", "remove", "bob", "--users", srv.usersPath]);
  assert.equal(rm.code, 0, rm.stderr);
  await assert.rejects(
    () => bob.list(""),
    (err) =>
      err instanceof FileshareError && err.code === "AUTH_REQUIRED" &&
      /User "bob" no longer exists/.test(err.message),
  );
  await assert.rejects(() => bob.list(""), ConnectionError, "the server closed the connection");
  assert.deepEqual(await alice.list(""), [], "other users go on");
  const log = await srv.logLines();
  assert.ok(log.some((l) => l.event === "error" && l.user === "bob" && l.code === "AUTH_REQUIRED"));
});
