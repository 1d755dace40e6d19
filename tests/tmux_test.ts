import assert from "node:assert/strict";
import { listTree, startServer, USERS, writeRandomFile } from "./_helpers.ts";
import { clientCommand, quote, Terminal } from "./_terminal.ts";

Deno.test("the interactive shell works in a real terminal (tmux)", async () => {
  await using srv = await startServer();
  const local = await Deno.makeTempDir({ prefix: "fileshare-tmux-" });
  try {
    await Deno.writeTextFile(`${local}/hello world.txt`, "hello from the terminal");
    await Deno.mkdir(`${srv.root}/inbox`);
    await using t = await Terminal.start(
      clientCommand([`INIT_CWD=${quote(local)}`], ["--server", `127.0.0.1:${srv.port}`]),
      local,
    );
    await t.waitFor(/User:\s*$/m);
    await t.type("alice");
    await t.waitFor(/Password for alice:\s*$/m);
    await t.type(USERS.alice.password);
    let text = await t.waitFor(/alice@127\.0\.0\.1:\d+:\/>\s*$/m);
    assert.ok(!text.includes(USERS.alice.password), "the password is never on the screen");
    assert.ok(!text.includes("alice-pw"), "not even part of it");

    await t.type("ls");
    await t.waitFor(/inbox\//);
    await t.type("cd inbox");
    await t.waitFor(/:\/inbox>\s*$/m);
    await t.type('put "hello world.txt"');
    await t.waitFor(/uploaded inbox\/hello world\.txt \(23 B\).*sha256 verified/);
    assert.equal(
      await Deno.readTextFile(`${srv.root}/inbox/hello world.txt`),
      "hello from the terminal",
    );
    await t.type('get "hello world.txt" copy.txt');
    await t.waitFor(/downloaded inbox\/hello world\.txt/);
    assert.equal(await Deno.readTextFile(`${local}/copy.txt`), "hello from the terminal");
    await t.type("rm nothing-here.txt");
    await t.waitFor(/Cannot delete "inbox\/nothing-here\.txt": not found\n.*:\/inbox>\s*$/m);
    await t.type("pwd");
    await t.waitFor(/^\/inbox$/m);
    await t.type("quit");
    text = await t.waitFor(/EXITED 0/);
    assert.ok(!text.includes(USERS.alice.password));
  } finally {
    await Deno.remove(local, { recursive: true });
  }
});

Deno.test("the shell re-prompts after a failed login, up to three times", async () => {
  await using srv = await startServer();
  await using t = await Terminal.start(clientCommand([], []));
  await t.waitFor(/Server \[127\.0\.0\.1:9000\]:\s*$/m);
  await t.type(`127.0.0.1:${srv.port}`);
  await t.waitFor(/User:\s*$/m);
  await t.type("alice");
  await t.waitFor(/Password for alice:\s*$/m);
  await t.type("wrong-password");
  await t.waitFor(/wrong user name or password \(try again\)/);
  // Every prompt comes back with the last answer as its default.
  await t.waitFor(new RegExp(`Server \\[127\\.0\\.0\\.1:${srv.port}\\]:\\s*$`, "m"));
  await t.type("");
  await t.waitFor(/User \[alice\]:\s*$/m);
  await t.type("");
  await t.waitFor(/Password for alice:\s*$/m);
  await t.type(USERS.alice.password);
  await t.waitFor(/alice@127\.0\.0\.1:\d+:\/>\s*$/m);
  // Ctrl-C at the prompt clears the line; Ctrl-D leaves the shell.
  await t.keys("-l", "half-typed");
  await t.keys("C-c");
  await t.waitFor(/:\/> \^C\n.*:\/>\s*$/m);
  await t.type("pwd");
  const text = await t.waitFor(/^\/$/m);
  assert.ok(!text.includes("half-typed"), "the cleared line was not run");
  await t.keys("C-d");
  await t.waitFor(/EXITED 0/);
});

Deno.test("an unknown server's fingerprint is shown and accepted at the prompt, then remembered", async () => {
  await using srv = await startServer();
  const config = await Deno.makeTempDir({ prefix: "fileshare-tmux-config-" });
  try {
    const env = [
      "FILESHARE_TRUST=",
      `XDG_CONFIG_HOME=${quote(config)}`,
      `FILESHARE_PASSWORD=${quote(USERS.alice.password)}`,
    ];
    const args = ["--server", `127.0.0.1:${srv.port}`, "--user", "alice"];
    {
      await using t = await Terminal.start(clientCommand(env, args));
      const text = await t.waitFor(/Type yes, no or the fingerprint:\s*$/m);
      assert.match(text, /authenticity of server 127\.0\.0\.1:\d+ can't be established/);
      assert.ok(text.includes(srv.fingerprint!), "the prompt shows the fingerprint");
      // Paste the fingerprint as the server printed it, without colons, in lower case.
      await t.type(srv.fingerprint!.replaceAll(":", "").toLowerCase());
      await t.waitFor(/alice@127\.0\.0\.1:\d+:\/>\s*$/m);
      await t.keys("C-d");
      await t.waitFor(/EXITED 0/);
    }
    const file = `${config}/fileshare/known_servers`;
    assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
    assert.ok(
      (await Deno.readTextFile(file)).startsWith(`127.0.0.1:${srv.port} ${srv.fingerprint}`),
    );
    // Next time the server is known: no question.
    await using again = await Terminal.start(clientCommand(env, args));
    const text = await again.waitFor(/alice@127\.0\.0\.1:\d+:\/>\s*$/m);
    assert.doesNotMatch(text, /authenticity/);
    await again.keys("C-d");
    await again.waitFor(/EXITED 0/);
  } finally {
    await Deno.remove(config, { recursive: true });
  }
});

Deno.test("Ctrl-C in a real terminal cancels a running upload or download; the shell goes on", async () => {
  await using srv = await startServer();
  const local = await Deno.makeTempDir({ prefix: "fileshare-tmux-" });
  try {
    await writeRandomFile(`${local}/big.bin`, 1024 * 1024 * 1024);
    await using t = await Terminal.start(
      clientCommand([
        `INIT_CWD=${quote(local)}`,
        `FILESHARE_PASSWORD=${quote(USERS.alice.password)}`,
      ], [
        "--server",
        `127.0.0.1:${srv.port}`,
        "--user",
        "alice",
      ]),
      local,
    );
    // --user and FILESHARE_PASSWORD given: no prompts at all.
    await t.waitFor(/alice@127\.0\.0\.1:\d+:\/>\s*$/m);
    await t.type("put big.bin");
    // The progress bar shows the transfer is under way; then Ctrl-C.
    await t.waitFor(/big\.bin +\d+% \[/);
    await t.keys("C-c");
    await t.waitFor(/Transfer cancelled\n.*:\/>\s*$/m);
    assert.deepEqual(await listTree(srv.root), [], "no file and no temporary file");
    await t.type("ls");
    await t.waitFor(/\(empty\)\n.*:\/>\s*$/m);

    // A cancelled download closes the connection; the next command reconnects by itself.
    await Deno.copyFile(`${local}/big.bin`, `${srv.root}/big.bin`);
    await t.type("get big.bin copy.bin");
    await t.waitFor(/big\.bin +\d+% \[/);
    await t.keys("C-c");
    await t.waitFor(/Transfer cancelled\n.*:\/>\s*$/m);
    assert.deepEqual(await listTree(local), ["big.bin"], "no local file and no temporary file");
    await t.type("ls");
    await t.waitFor(/1\.0 GiB .* big\.bin\n.*:\/>\s*$/m);
    await t.type("quit");
    await t.waitFor(/EXITED 0/);
  } finally {
    await Deno.remove(local, { recursive: true });
  }
});

Deno.test("Tab completes commands and remote names and Up recalls history in a real terminal", async () => {
  await using srv = await startServer();
  const local = await Deno.makeTempDir({ prefix: "fileshare-tmux-" });
  try {
    await Deno.mkdir(`${srv.root}/photos`);
    await Deno.writeTextFile(`${srv.root}/photos/pic one.jpg`, "jpeg");
    await using t = await Terminal.start(
      clientCommand([
        `INIT_CWD=${quote(local)}`,
        `FILESHARE_PASSWORD=${quote(USERS.alice.password)}`,
      ], ["--server", `127.0.0.1:${srv.port}`, "--user", "alice"]),
      local,
    );
    await t.waitFor(/alice@127\.0\.0\.1:\d+:\/>\s*$/m);
    // Each key is sent on its own and its effect awaited: readline treats keys arriving
    // together as pasted text, where Tab is a literal tab rather than completion.
    // A prefix that several commands share completes to what they have in common; a second
    // Tab lists them. ("r" alone is shared with reget and reput, so the line starts at "rm".)
    await t.keys("-l", "rm");
    await t.waitForLastLine(/:\/> rm$/);
    await t.keys("Tab");
    await t.waitForLastLine(/:\/> rm$/);
    await t.tabAgain();
    await t.waitFor(/^rm\s+rmdir\s*$/m);
    await t.keys("C-u");
    await t.keys("-l", "m");
    await t.waitForLastLine(/:\/> m$/);
    await t.keys("Tab");
    await t.tabAgain();
    await t.waitFor(/^mget\s+mkdir\s+move\s+mput\s+mv\s*$/m);
    await t.keys("C-u");
    await t.keys("-l", "c");
    await t.waitForLastLine(/:\/> c$/);
    await t.keys("Tab");
    await t.waitForLastLine(/:\/> cd$/);
    await t.keys("-l", "ph");
    await t.waitForLastLine(/:\/> cd ph$/);
    await t.keys("Tab");
    await t.waitForLastLine(/:\/> cd photos\/$/);
    await t.keys("Enter");
    await t.waitFor(/:\/photos>\s*$/m);
    await t.keys("-l", "get pi");
    await t.waitForLastLine(/:\/photos> get pi$/);
    await t.keys("Tab");
    await t.waitForLastLine(/:\/photos> get "pic one\.jpg"$/);
    await t.keys("Enter");
    await t.waitFor(/downloaded photos\/pic one\.jpg \(4 B\)/);
    assert.equal(await Deno.readTextFile(`${local}/pic one.jpg`), "jpeg");
    await t.type("pwd");
    await t.waitFor(/^\/photos\n.*:\/photos>\s*$/m);
    // Up recalls the last line, Up again the one before it.
    await t.keys("Up");
    await t.waitForLastLine(/:\/photos> pwd$/);
    await t.keys("Up");
    await t.waitForLastLine(/:\/photos> get "pic one\.jpg"$/);
    await t.keys("Down");
    await t.waitForLastLine(/:\/photos> pwd$/);
    await t.keys("Enter");
    const text = await t.waitFor(/^\/photos\n(?:.*\n)*^\/photos\n.*:\/photos>\s*$/m);
    assert.equal(text.match(/^\/photos$/gm)?.length, 2, "pwd ran twice, once from history");
    await t.type("quit");
    await t.waitFor(/EXITED 0/);
  } finally {
    await Deno.remove(local, { recursive: true });
  }
});

Deno.test("Tab completes local names for every put and mput argument, remote names for get, mget, mv and rm", async () => {
  await using srv = await startServer();
  const local = await Deno.makeTempDir({ prefix: "fileshare-tmux-" });
  try {
    // Local and remote names differ in their first letters, so each completion shows which
    // side it read.
    for (const name of ["apple.txt", "banana.txt", "cherry.txt"]) {
      await Deno.writeTextFile(`${local}/${name}`, name);
    }
    await Deno.mkdir(`${srv.root}/photos`);
    for (const name of ["pic one.jpg", "pond.jpg", "quay.jpg"]) {
      await Deno.writeTextFile(`${srv.root}/photos/${name}`, name);
    }
    await using t = await Terminal.start(
      clientCommand([
        `INIT_CWD=${quote(local)}`,
        `FILESHARE_PASSWORD=${quote(USERS.alice.password)}`,
      ], ["--server", `127.0.0.1:${srv.port}`, "--user", "alice"]),
      local,
    );
    await t.waitFor(/alice@127\.0\.0\.1:\d+:\/>\s*$/m);
    /** Types `line`, waits for it, presses Tab and waits for the last line to match `want`. */
    const complete = async (line: string, want: RegExp) => {
      await t.keys("-l", line);
      await t.waitForLastLine(new RegExp(`> ${line.replace(/[.*?[\]()\\]/g, "\\$&")}$`));
      await t.keys("Tab");
      await t.waitForLastLine(want);
      await t.keys("C-u");
      await t.waitForLastLine(/:\/(?:photos)?> ?$/);
    };
    // put and mput: local names for the first, second and third argument.
    await complete("put a", /> put apple\.txt$/);
    await complete("put apple.txt b", /> put apple\.txt banana\.txt$/);
    await complete("put apple.txt banana.txt c", /> put apple\.txt banana\.txt cherry\.txt$/);
    await complete("put -r apple.txt c", /> put -r apple\.txt cherry\.txt$/);
    await complete("mput apple.txt banana.txt c", /> mput apple\.txt banana\.txt cherry\.txt$/);
    // get, mget, mv and rm: remote names for every argument.
    await complete("get ph", /> get photos\/$/);
    await complete(
      "get photos/pic\\ one.jpg photos/q",
      /> get photos\/pic\\ one\.jpg photos\/quay\.jpg$/,
    );
    await complete(
      "mget photos/quay.jpg photos/po",
      /> mget photos\/quay\.jpg photos\/pond\.jpg$/,
    );
    await complete("mv photos/quay.jpg photos/po", /> mv photos\/quay\.jpg photos\/pond\.jpg$/);
    await complete("rm photos/q", /> rm photos\/quay\.jpg$/);
    await t.type("quit");
    await t.waitFor(/EXITED 0/);
  } finally {
    await Deno.remove(local, { recursive: true });
  }
});
