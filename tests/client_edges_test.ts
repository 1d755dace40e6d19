/**
 * The rough edges a new user hit (issue 13), each done the way a user does it: a real server,
 * the real client as a child process, tmux for the shell.
 */
import assert from "node:assert/strict";
import { startServer, USERS } from "./_helpers.ts";
import { clientCommand, quote, Terminal } from "./_terminal.ts";

const PROMPT = /alice@127\.0\.0\.1:\d+:\/>\s*$/m;

Deno.test("Shell reconnects after the server's idle timeout without failing a command", async () => {
  await using srv = await startServer({ idleTimeoutMs: 500 });
  await using t = await Terminal.start(clientCommand([
    `FILESHARE_PASSWORD=${quote(USERS.alice.password)}`,
  ], ["--server", `127.0.0.1:${srv.port}`, "--user", "alice"]));
  await t.waitFor(PROMPT);
  await t.type("mkdir one");
  await t.waitFor(/created folder one\n.*:\/>\s*$/m);
  // Well past the idle timeout: the server has closed the connection.
  await new Promise((r) => setTimeout(r, 1500));
  await t.type("mkdir two");
  await t.waitFor(/created folder two\n.*:\/>\s*$/m);
  await t.type("ls");
  const text = await t.waitFor(/two\/\n.*:\/>\s*$/m);
  assert.doesNotMatch(text, /Connection closed|closed by peer/);
  assert.match(text, /one\//);
  await t.type("quit");
  await t.waitFor(/EXITED 0/);
});

Deno.test("FileshareClient.closed turns true when the server hangs up between calls", async () => {
  await using srv = await startServer({ idleTimeoutMs: 300 });
  await using client = await srv.connect();
  await client.mkdir("kept");
  assert.equal(client.closed, false);
  const end = Date.now() + 10_000;
  while (!client.closed && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  assert.equal(client.closed, true, "the idle timeout closed the connection");
  // A fresh connection works; the old one tells why it cannot.
  await using again = await srv.connect();
  assert.deepEqual((await again.list()).map((e) => e.name), ["kept"]);
  await assert.rejects(client.list(), /closed/);
});
