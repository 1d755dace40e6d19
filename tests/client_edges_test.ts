/**
 * The rough edges a new user hit (issue 13), each done the way a user does it: a real server,
 * the real client as a child process, tmux for the shell.
 */
import assert from "node:assert/strict";
import { listTree, ROOT, runTool, startServer, type Tool, USERS } from "./_helpers.ts";
import { clientCommand, quote, Terminal } from "./_terminal.ts";
import { peerKind } from "../lib/client/peer_kind.ts";
import { FileshareClient } from "../lib/client/client.ts";

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

Deno.test("FileshareClient.connect() logs in with a password typed after the server's login deadline", async () => {
  // The password is asked once the server answered; a person may take longer to type it than
  // the server waits for a login. Seen: "Connection closed by peer (try again)" and the
  // Server prompt after 30 s at the password prompt.
  await using srv = await startServer({ loginTimeoutMs: 1_500 });
  let asked = 0;
  await using client = await FileshareClient.connect({
    hostname: "127.0.0.1",
    port: srv.port,
    user: "alice",
    tls: srv.tls,
    password: async () => {
      asked++;
      await new Promise((r) => setTimeout(r, 2_500));
      return USERS.alice.password;
    },
  });
  assert.deepEqual(await client.list(), []);
  assert.equal(asked, 1, "the password is asked once");
  // A wrong password typed late is still a wrong password, asked once.
  asked = 0;
  await assert.rejects(
    FileshareClient.connect({
      hostname: "127.0.0.1",
      port: srv.port,
      user: "alice",
      tls: srv.tls,
      password: async () => {
        asked++;
        await new Promise((r) => setTimeout(r, 2_500));
        return "not the password";
      },
    }),
    /wrong user name or password/,
  );
  assert.equal(asked, 1);
});

Deno.test("server logs a one-shot client run, its certificate probe included, without an error", async () => {
  // A one-shot client process ends without a TLS close_notify; the server logged every such
  // run as an error (CANCELLED "Connection closed by peer") and the report counted them.
  await using srv = await startServer();
  const r = await runTool(
    "client",
    ["--server", `127.0.0.1:${srv.port}`, "--user", "alice", "ls"],
    {
      cwd: ROOT,
      env: { FILESHARE_PASSWORD: USERS.alice.password },
    },
  );
  assert.equal(r.code, 0, r.stderr);
  // The server writes the connection's last lines once it has read the end of the stream.
  let own: string[] = [];
  const end = Date.now() + 10_000;
  while (!own.includes("disconnect") && Date.now() < end) {
    const lines = await srv.logLines();
    const login = lines.find((l) => l.event === "auth_ok");
    own = lines.filter((l) => login && l.conn === login.conn).map((l) => String(l.event));
    if (!own.includes("disconnect")) await new Promise((r) => setTimeout(r, 50));
  }
  assert.deepEqual(own, ["connect", "auth_ok", "dir", "disconnect"]);
  // Nor is the certificate-only probe that comes first (trust by fingerprint) an error.
  const errors = (await srv.logLines()).filter((l) => l.event === "error");
  assert.deepEqual(errors, []);
});

Deno.test("client names an HTTP server at the address instead of a protocol error", async () => {
  const ac = new AbortController();
  const http = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
    () => new Response("hello"),
  );
  try {
    const where = `127.0.0.1:${http.addr.port}`;
    const expected = new RegExp(`^${where} is not a fileshare server \\(it answered like HTTP\\)`);
    for (const tls of [[], ["--no-tls"]]) {
      const r = await runTool("client", ["--server", where, "--user", "alice", ...tls, "ls"], {
        cwd: ROOT,
        env: { FILESHARE_PASSWORD: "x" },
      });
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr.trim(), expected);
      assert.equal(r.stderr.trim().split("\n").length, 1, "one line");
    }
  } finally {
    ac.abort();
    await http.finished;
  }
});

Deno.test("client gives up in seconds on an address that accepts but never answers", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const c of listener) held.push(c);
  })();
  try {
    const where = `127.0.0.1:${(listener.addr as Deno.NetAddr).port}`;
    const run = (tls: string[]) =>
      runTool("client", ["--server", where, "--user", "alice", ...tls, "ls"], {
        cwd: ROOT,
        env: { FILESHARE_PASSWORD: "x" },
      });
    const [withTls, plain] = await Promise.all([run([]), run(["--no-tls"])]);
    assert.equal(withTls.code, 1);
    assert.match(
      withTls.stderr.trim(),
      new RegExp(`^${where} did not answer the TLS handshake in 10 s`),
    );
    assert.equal(plain.code, 1);
    assert.match(
      plain.stderr.trim(),
      new RegExp(`^${where} did not answer the fileshare greeting in 10 s`),
    );
  } finally {
    listener.close();
    await accepting.catch(() => {});
    for (const c of held) c.close();
  }
});

Deno.test({
  name: "peerKind() tells HTTP, SSH, TLS and fileshare apart by their first bytes",
  permissions: "none",
  fn() {
    const bytes = (s: string) => new TextEncoder().encode(s);
    assert.equal(peerKind(bytes("HTTP/1.1 400 Bad Request")), "http");
    assert.equal(peerKind(bytes("<!DOCTYPE HTML>")), "http");
    assert.equal(peerKind(bytes("SSH-2.0-OpenSSH_9.2")), "ssh");
    assert.equal(peerKind(new Uint8Array([0x15, 0x03, 0x03, 0x00, 0x02])), "tls");
    assert.equal(peerKind(new Uint8Array([0x01, 0x00, 0x00, 0x00, 0x20])), "fileshare");
    assert.equal(peerKind(bytes("+OK POP3")), "other");
  },
});

Deno.test("interactiveLogin() asks only for the password again when --user named the user", async () => {
  await using srv = await startServer();
  await using t = await Terminal.start(
    clientCommand([], ["--server", `127.0.0.1:${srv.port}`, "--user", "alice"]),
  );
  for (let i = 1; i <= 3; i++) {
    // The i-th password prompt, right after the (i-1)-th failure.
    await t.waitFor(new RegExp(`^(?:(?:.|\\n)*\\(try again\\)\\nPassword for alice:){${i - 1}}`));
    await t.waitForLastLine(/^Password for alice:$/);
    await t.type(`wrong-${i}`);
  }
  const text = await t.waitFor(/EXITED 1/);
  assert.doesNotMatch(text, /User/, "never a user prompt, where a password would show");
  assert.equal(text.match(/wrong user name or password \(try again\)/g)?.length, 2);
  assert.equal(text.match(/wrong user name or password$/gm)?.length, 1, "the last error once");
  assert.doesNotMatch(text, /wrong-\d/, "no typed password on the screen");
});

Deno.test("interactiveLogin() reports an unreachable server before asking for the password", async () => {
  // A port where nothing listens: a listener opened and closed again.
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  await using t = await Terminal.start(
    clientCommand([], ["--server", `127.0.0.1:${port}`, "--user", "alice"]),
  );
  const text = await t.waitFor(/Server \[127\.0\.0\.1:\d+\]:\s*$/m);
  assert.match(text, /Cannot connect to 127\.0\.0\.1:\d+: connection refused .*\(try again\)/);
  assert.doesNotMatch(text, /Password/, "the password was not asked for a server not there");
  // The one-shot CLI too.
  await using once = await Terminal.start(
    clientCommand([], ["--server", `127.0.0.1:${port}`, "--user", "alice", "ls"]),
  );
  const screen = await once.waitFor(/EXITED 1/);
  assert.match(screen, /Cannot connect to 127\.0\.0\.1:\d+: connection refused/);
  assert.doesNotMatch(screen, /Password/);
});

Deno.test("interactiveLogin() asks again after a typing mistake at the server prompt", async () => {
  await using srv = await startServer();
  await using t = await Terminal.start(clientCommand([
    `FILESHARE_PASSWORD=${quote(USERS.alice.password)}`,
  ], ["--user", "alice"]));
  await t.waitForLastLine(/^Server \[127\.0\.0\.1:9000\]:$/);
  await t.type("127.0.0.1:99999");
  await t.waitFor(/Invalid port in "127\.0\.0\.1:99999".*\nServer \[127\.0\.0\.1:9000\]:\s*$/m);
  await t.type("local host");
  await t.waitFor(/Invalid server address "local host".*\nServer \[127\.0\.0\.1:9000\]:\s*$/m);
  await t.type(`127.0.0.1:${srv.port}`);
  const text = await t.waitFor(PROMPT);
  assert.doesNotMatch(text, /Usage:/);
  await t.type("quit");
  await t.waitFor(/EXITED 0/);
});

/** Deno internals, OS error numbers and temporary names a user should never read. */
const INTERNALS = /os error|allow-all|Requires all|--allow|fileshare-part|Error:/;

Deno.test("client download words local failures with the user's path, never the runtime's", async () => {
  await using srv = await startServer();
  const home = await Deno.makeTempDir({ prefix: "fileshare-edges-" });
  try {
    await Deno.writeTextFile(`${srv.root}/notes.txt`, "some notes");
    const client = (...args: string[]) =>
      runTool("client", ["--server", `127.0.0.1:${srv.port}`, "--user", "alice", ...args], {
        cwd: home,
        env: { FILESHARE_PASSWORD: USERS.alice.password },
      });
    // A device takes the bytes in place: there is nothing to replace and no temporary file.
    let r = await client("download", "notes.txt", "/dev/null", "--overwrite");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^downloaded notes\.txt \(10 B\)/);
    r = await client("download", "notes.txt", "missing/notes.txt");
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr.trim(),
      `Cannot download "notes.txt": cannot write "${home}/missing/notes.txt": ` +
        `the local folder "${home}/missing" does not exist`,
    );
    await Deno.writeTextFile(`${home}/plain`, "a file");
    r = await client("download", "notes.txt", "plain/notes.txt");
    assert.equal(r.code, 1);
    assert.match(
      r.stderr.trim(),
      /^Cannot download "notes\.txt": cannot write ".*plain\/notes\.txt": a part of the path is a file, not a folder$/,
    );
    r = await client("download", "notes.txt", "/proc/notes.txt");
    assert.equal(r.code, 1);
    assert.match(
      r.stderr.trim(),
      /^Cannot download "notes\.txt": cannot write "\/proc\/notes\.txt": /,
    );
    assert.doesNotMatch(r.stderr, INTERNALS);
    assert.deepEqual(await listTree(home), ["plain"], "no temporary file left");
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("client upload into a missing remote folder names the folder and the side", async () => {
  await using srv = await startServer();
  const home = await Deno.makeTempDir({ prefix: "fileshare-edges-" });
  try {
    await Deno.writeTextFile(`${home}/mid.bin`, "middle");
    await Deno.writeTextFile(`${srv.root}/notes.txt`, "a file");
    const upload = (...args: string[]) =>
      runTool(
        "client",
        ["--server", `127.0.0.1:${srv.port}`, "--user", "alice", "upload", ...args],
        {
          cwd: home,
          env: { FILESHARE_PASSWORD: USERS.alice.password },
        },
      );
    let r = await upload("mid.bin", "videos/");
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr.trim(),
      'Cannot upload "videos/mid.bin": remote folder "videos" not found (create it with mkdir)',
    );
    await Deno.mkdir(`${srv.root}/videos`);
    r = await upload("mid.bin", "videos/2026/11/");
    assert.match(r.stderr, /remote folder "videos\/2026" not found/);
    r = await upload("mid.bin", "notes.txt/mid.bin");
    assert.match(r.stderr, /remote "notes\.txt" is a file, not a folder/);
    r = await upload("nothing.bin", "videos/");
    assert.match(r.stderr, /^Cannot upload "nothing\.bin": local file not found/);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("client rename says whether the source or the target's folder is missing", async () => {
  // Seen: `rename reports archive/reports` with no archive/ said only "not found", which
  // reads as if reports were missing.
  await using srv = await startServer();
  await Deno.writeTextFile(`${srv.root}/notes.txt`, "notes");
  const client = (...args: string[]) =>
    runTool("client", ["--server", `127.0.0.1:${srv.port}`, "--user", "alice", ...args], {
      cwd: ROOT,
      env: { FILESHARE_PASSWORD: USERS.alice.password },
    });
  let r = await client("rename", "notes.txt", "archive/2026/notes.txt");
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr,
    'Cannot rename "notes.txt" to "archive/2026/notes.txt": remote folder "archive" not found ' +
      "(create it with mkdir)\n",
  );
  r = await client("rename", "missing.txt", "notes2.txt");
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr,
    'Cannot rename "missing.txt" to "notes2.txt": remote "missing.txt" not found\n',
  );
  assert.deepEqual(await listTree(srv.root), ["notes.txt"]);
});

Deno.test("server names the flag and the cause when --root, --host or --log cannot be used", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fileshare-edges-" });
  try {
    await Deno.writeTextFile(`${dir}/notes.txt`, "not a folder");
    const server = (...args: string[]) =>
      runTool("server", ["--port", "0", "--no-tls", ...args], { cwd: dir });
    let r = await server("--host", "127.0.0.1", "--root", "notes.txt");
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr.trim().split("\n").at(-1),
      `Cannot serve --root "${dir}/notes.txt": it is a file, not a folder`,
    );
    // 192.0.2.1 is reserved for documentation (RFC 5737): no machine has it.
    r = await server("--host", "192.0.2.1");
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^Cannot listen on 192\.0\.2\.1:0: no network interface of this machine has the address "192\.0\.2\.1" \(check --host\)$/m,
    );
    r = await server("--host", "127.0.0.1", "--log", "missing/log.jsonl");
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(
        `Cannot open the activity log --log "${dir}/missing/log\\.jsonl": the folder "${dir}/missing" does not exist`,
      ),
    );
    for (const line of r.stderr.split("\n")) assert.doesNotMatch(line, INTERNALS);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("server user ACTION --help and client subcommand --help print their own help", async () => {
  const cases: [Tool, string[], RegExp][] = [
    ["server", ["user", "add", "--help"], /^Usage: server user add NAME \[--read-only\]/],
    ["server", ["user", "passwd", "-h"], /^Usage: server user passwd NAME/],
    ["server", ["user", "remove", "--help"], /^Usage: server user remove NAME/],
    ["server", ["user", "list", "--help"], /^Usage: server user list/],
    ["server", ["user", "set", "--help"], /^Usage: server user set NAME \[--home PATH/],
    ["server", ["user", "--help"], /^Usage: server user add\|set\|passwd\|remove\|list/],
    ["client", ["subfolder", "--help"], /^Usage: client subfolder create\|delete DIR/],
    ["client", ["subfolder", "create", "--help"], /^Usage: client subfolder create\|delete DIR/],
    ["client", ["bench", "--help"], /^Usage: client bench/],
  ];
  await Promise.all(cases.map(async ([tool, args, expected]) => {
    const r = await runTool(tool, args, { cwd: ROOT });
    assert.equal(r.code, 0, `${tool} ${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stdout, expected, `${tool} ${args.join(" ")}`);
  }));
});

Deno.test("analysis counts the server connections of a client bench run", async () => {
  await using srv = await startServer();
  const bench = await runTool("client", [
    "--server",
    `127.0.0.1:${srv.port}`,
    "--user",
    "alice",
    "bench",
    "--clients",
    "3",
    "--files",
    "1",
    "--size",
    "1KiB",
    "--json",
  ], { cwd: srv.dir, env: { FILESHARE_PASSWORD: USERS.alice.password } });
  assert.equal(bench.code, 0, bench.stderr);
  const { run } = JSON.parse(bench.stdout);
  await srv.log.flush();
  const report = await runTool("analysis", [srv.logPath, "--format", "json"], { cwd: srv.dir });
  assert.equal(report.code, 0, report.stderr);
  const runs = JSON.parse(report.stdout).benchRuns;
  assert.equal(runs.length, 1);
  // The three clients and the control connection that writes the run's marks.
  assert.deepEqual([runs[0].run, runs[0].clients, runs[0].serverConnections], [run, 3, 4]);
});
