import assert from "node:assert/strict";
import { CONFIG, ROOT, startServer, USERS } from "./_helpers.ts";

async function tmux(...args: string[]): Promise<string> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("tmux", { args, stdout: "piped", stderr: "piped" }).output();
  } catch (err) {
    throw new Error("tmux is not installed (apt-get install tmux); .ci/run installs it", {
      cause: err,
    });
  }
  if (!out.success) {
    throw new Error(`tmux ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout);
}

function quote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

Deno.test("the interactive shell works in a real terminal (tmux)", async () => {
  await using srv = await startServer();
  const local = await Deno.makeTempDir({ prefix: "fileshare-tmux-" });
  const session = `fileshare-test-${crypto.randomUUID().slice(0, 8)}`;
  const screen = () => tmux("capture-pane", "-t", session, "-p", "-S", "-200");
  const waitFor = async (pattern: RegExp, ms = 15_000) => {
    const end = Date.now() + ms;
    for (;;) {
      const text = await screen();
      if (pattern.test(text)) return text;
      if (Date.now() > end) throw new Error(`Timed out waiting for ${pattern}; screen:\n${text}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const type = async (text: string) => {
    await tmux("send-keys", "-t", session, "-l", text);
    await tmux("send-keys", "-t", session, "Enter");
  };
  try {
    await Deno.writeTextFile(`${local}/hello world.txt`, "hello from the terminal");
    await Deno.mkdir(`${srv.root}/inbox`);
    const command = [
      "env",
      `INIT_CWD=${quote(local)}`,
      "NO_COLOR=1",
      quote(Deno.execPath()),
      "run",
      "-P=client",
      "--no-prompt",
      "--config",
      quote(CONFIG),
      quote(`${ROOT}/client.ts`),
      "--server",
      `127.0.0.1:${srv.port}`,
    ].join(" ") + "; echo EXITED $?; sleep 30";
    await tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "40", "-c", local, command);

    await waitFor(/User:\s*$/m);
    await type("alice");
    await waitFor(/Password for alice:\s*$/m);
    await type(USERS.alice.password);
    let text = await waitFor(/alice@127\.0\.0\.1:\d+:\/>\s*$/m);
    assert.ok(!text.includes(USERS.alice.password), "the password is never on the screen");
    assert.ok(!text.includes("alice-pw"), "not even part of it");

    await type("ls");
    await waitFor(/inbox\//);
    await type("cd inbox");
    await waitFor(/:\/inbox>\s*$/m);
    await type('put "hello world.txt"');
    await waitFor(/uploaded inbox\/hello world\.txt \(23 B\).*sha256 verified/);
    assert.equal(
      await Deno.readTextFile(`${srv.root}/inbox/hello world.txt`),
      "hello from the terminal",
    );
    await type('get "hello world.txt" copy.txt');
    await waitFor(/downloaded inbox\/hello world\.txt/);
    assert.equal(await Deno.readTextFile(`${local}/copy.txt`), "hello from the terminal");
    await type("rm nothing-here.txt");
    text = await waitFor(/Cannot delete "inbox\/nothing-here\.txt": not found\n.*:\/inbox>\s*$/m);
    await type("pwd");
    await waitFor(/^\/inbox$/m);
    await type("quit");
    text = await waitFor(/EXITED 0/);
    assert.ok(!text.includes(USERS.alice.password));
  } finally {
    await tmux("kill-session", "-t", session).catch(() => "");
    await Deno.remove(local, { recursive: true });
  }
});

Deno.test("the shell re-prompts after a failed login, up to three times", async () => {
  await using srv = await startServer();
  const session = `fileshare-test-${crypto.randomUUID().slice(0, 8)}`;
  const screen = () => tmux("capture-pane", "-t", session, "-p");
  const waitFor = async (pattern: RegExp) => {
    const end = Date.now() + 15_000;
    for (;;) {
      const text = await screen();
      if (pattern.test(text)) return text;
      if (Date.now() > end) throw new Error(`Timed out waiting for ${pattern}; screen:\n${text}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const type = async (text: string) => {
    await tmux("send-keys", "-t", session, "-l", text);
    await tmux("send-keys", "-t", session, "Enter");
  };
  try {
    const command = `env NO_COLOR=1 ${quote(Deno.execPath())} run -P=client --no-prompt --config ${
      quote(CONFIG)
    } ${quote(`${ROOT}/client.ts`)}; echo EXITED $?; sleep 30`;
    await tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "40", command);
    await waitFor(/Server \[127\.0\.0\.1:9000\]:\s*$/m);
    await type(`127.0.0.1:${srv.port}`);
    await waitFor(/User:\s*$/m);
    await type("alice");
    await waitFor(/Password for alice:\s*$/m);
    await type("wrong-password");
    await waitFor(/wrong user name or password \(try again\)/);
    // Every prompt comes back with the last answer as its default.
    await waitFor(new RegExp(`Server \\[127\\.0\\.0\\.1:${srv.port}\\]:\\s*$`, "m"));
    await type("");
    await waitFor(/User \[alice\]:\s*$/m);
    await type("");
    await waitFor(/Password for alice:\s*$/m);
    await type(USERS.alice.password);
    await waitFor(/alice@127\.0\.0\.1:\d+:\/>\s*$/m);
    await type("exit");
    await waitFor(/EXITED 0/);
  } finally {
    await tmux("kill-session", "-t", session).catch(() => "");
  }
});
