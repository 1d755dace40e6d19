/**
 * Regenerates docs/shell-session.txt, the interactive shell session README shows, from a real
 * terminal: a fresh server on 127.0.0.1:9000 in a temporary folder, `deno task client` typed
 * into a tmux pane, every answer awaited, and the pane captured (`tmux capture-pane -p`).
 *
 * @example
 * ```sh
 * deno run -A tools/shell_capture.ts            # writes docs/shell-session.txt
 * deno run -A tools/shell_capture.ts --print    # prints it instead
 * ```
 * @module
 */
const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const PORT = 9000;
const PASSWORD = "correct horse battery staple";

async function run(cmd: string, args: string[], options: Deno.CommandOptions = {}) {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped", ...options })
    .output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed:\n${new TextDecoder().decode(out.stderr)}`);
  }
  return text;
}

const tmux = (...args: string[]) => run("tmux", args);

async function randomFile(path: string, size: number): Promise<void> {
  using f = await Deno.open(path, { write: true, create: true, truncate: true });
  const chunk = new Uint8Array(1024 * 1024);
  for (let left = size; left > 0; left -= chunk.length) {
    for (let i = 0; i < chunk.length; i += 65536) {
      crypto.getRandomValues(chunk.subarray(i, i + 65536));
    }
    await f.write(chunk.subarray(0, Math.min(left, chunk.length)));
  }
}

/** The capture, from a scratch folder under `base`. */
async function capture(base: string): Promise<string> {
  const home = `${base}/home`;
  const share = `${base}/server`;
  await Deno.mkdir(`${home}`, { recursive: true });
  await Deno.mkdir(`${share}/photos`, { recursive: true });
  await Deno.mkdir(`${share}/videos`, { recursive: true });
  await Deno.writeTextFile(`${share}/notes.txt`, "notes\n");
  await randomFile(`${share}/photos/beach.jpg`, 793 * 1024);
  await randomFile(`${share}/videos/holiday.mp4`, 286 * 1024 * 1024);
  await randomFile(`${home}/cat.jpg`, 2.3 * 1024 * 1024);
  await Deno.writeTextFile(`${home}/q3.txt`, "Q3 figures\n");
  await Deno.writeTextFile(`${home}/q4.txt`, "Q4 figures\n");
  await Deno.mkdir(`${home}/album/2025`, { recursive: true });
  await randomFile(`${home}/album/dog.jpg`, 1.1 * 1024 * 1024);
  await randomFile(`${home}/album/2025/sea.jpg`, 640 * 1024);
  await randomFile(`${home}/holiday.mp4`, 1024 * 1024 * 1024);

  const env = { INIT_CWD: base, XDG_CONFIG_HOME: `${base}/config`, NO_COLOR: "1" };
  const add = new Deno.Command("deno", {
    args: ["task", "-q", "server", "user", "add", "alice", "--password-stdin"],
    cwd: ROOT,
    env,
    stdin: "piped",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const w = add.stdin.getWriter();
  await w.write(new TextEncoder().encode(`${PASSWORD}\n`));
  await w.close();
  await add.status;

  const server = new Deno.Command("deno", {
    args: ["task", "-q", "server", "--host", "127.0.0.1", "--port", String(PORT), "--root", share],
    cwd: ROOT,
    env,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const session = `fileshare-capture-${Deno.pid}`;
  try {
    let out = "";
    const reader = server.stdout.getReader();
    while (!/listening on/.test(out)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`The server did not start:\n${out}`);
      out += new TextDecoder().decode(value);
    }
    reader.releaseLock();
    server.stdout.cancel().catch(() => {});
    server.stderr.cancel().catch(() => {});
    const fingerprint = /fingerprint: (\S+)/.exec(out)![1];

    await tmux("new-session", "-d", "-s", session, "-x", "240", "-y", "60", "-c", home, "bash");
    const screen = () => tmux("capture-pane", "-t", session, "-p", "-S", "-300");
    const waitFor = async (pattern: RegExp) => {
      const end = Date.now() + 60_000;
      for (;;) {
        const text = await screen();
        if (pattern.test(text)) return text;
        if (Date.now() > end) throw new Error(`Timed out waiting for ${pattern}:\n${text}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const type = async (text: string) => {
      await tmux("send-keys", "-t", session, "-l", text);
      await tmux("send-keys", "-t", session, "Enter");
    };
    // The pane's shell: the user's folder, trust in this server's certificate (a first
    // connection would ask about it once), a plain prompt; then the screen is cleared.
    await type(
      `export INIT_CWD=${home} XDG_CONFIG_HOME=${base}/config FILESHARE_TRUST=${fingerprint} ` +
        `NO_COLOR=1 PS1='$ '; cd ${ROOT}; clear`,
    );
    await waitFor(/^\$\s*$/m);
    const prompt = (dir: string) => new RegExp(`alice@127\\.0\\.0\\.1:${PORT}:${dir}>\\s*$`, "m");
    const prompts = (text: string) => text.match(/alice@127\.0\.0\.1:\d+:[^>\n]*>/g)?.length ?? 0;
    let count = 1;
    /** Types a line at the shell prompt and waits for the next prompt. */
    const step = async (line: string, dir: string) => {
      count++;
      await type(line);
      const end = Date.now() + 60_000;
      for (;;) {
        const text = await screen();
        if (prompts(text) >= count && prompt(dir).test(text)) return;
        if (Date.now() > end) throw new Error(`Timed out after "${line}":\n${text}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    await type("deno task client");
    await waitFor(/Server \[127\.0\.0\.1:9000\]:\s*$/m);
    await type("");
    await waitFor(/User:\s*$/m);
    await type("alice");
    await waitFor(/Password for alice:\s*$/m);
    await type(PASSWORD);
    await waitFor(prompt("/"));
    await step("ls", "/");
    await step("cd photos", "/photos");
    await step("lpwd", "/photos");
    await step("put cat.jpg", "/photos");
    await step("ls", "/photos");
    await step("mkdir 2026", "/photos");
    await step("put q3.txt 2026/", "/photos");
    await step("get beach.jpg", "/photos");
    await step("get beach.jpg", "/photos");
    await step("rm dog.jpg", "/photos");
    await step("cd ../nowhere", "/photos");
    await step("cd ..", "/");
    await step("pwd", "/");
    await step("help", "/");
    await step("put -r album photos/", "/");
    await step("cd photos/2026", "/photos/2026");
    await step("mput -f q*.txt", "/photos/2026");
    await step("cd /", "/");
    await step("mv notes.txt photos/notes.txt", "/");
    await step("ls -R photos", "/");
    count++;
    await type("put holiday.mp4 videos/again.mp4");
    await waitFor(/again\.mp4 +\d+% \[/);
    await tmux("send-keys", "-t", session, "C-c");
    await waitFor(/Transfer cancelled\n.*>\s*$/m);
    await step("ls videos", "/");
    await type("quit");
    await waitFor(/^\$\s*$/m);
    const text = await screen();
    return text.replace(/\n\$ *\n*$/, "\n$\n").replace(/\s+$/, "\n").replaceAll(
      base,
      "/tmp/fs-demo",
    );
  } finally {
    await tmux("kill-session", "-t", session).catch(() => "");
    try {
      server.kill("SIGTERM");
    } catch {
      // already gone
    }
    await server.status;
  }
}

if (import.meta.main) {
  const base = await Deno.makeTempDir({ prefix: "fs-demo-" });
  try {
    const text = await capture(base);
    if (Deno.args.includes("--print")) console.log(text);
    else {
      await Deno.writeTextFile(`${ROOT}/docs/shell-session.txt`, text);
      console.log(`wrote docs/shell-session.txt (${text.split("\n").length} lines)`);
    }
  } finally {
    await Deno.remove(base, { recursive: true });
  }
}
