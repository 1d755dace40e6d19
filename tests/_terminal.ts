/**
 * A real terminal for tests: a tmux session running one command, with screen polling and
 * typing.
 */
import { permissionFlags } from "../tools/permissions.ts";
import { CONFIG, NO_CONFIG_DIR, ROOT, testTrust } from "./_helpers.ts";

/** Runs tmux with `args`; returns its stdout. */
export async function tmux(...args: string[]): Promise<string> {
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

/** Quotes `s` for a POSIX shell. */
export function quote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** A tmux session running one command, with screen polling and typing. */
export class Terminal implements AsyncDisposable {
  readonly name = `fileshare-test-${crypto.randomUUID().slice(0, 8)}`;

  /** Runs tmux on this terminal's own server (socket), apart from any other tmux user. */
  tmux(...args: string[]): Promise<string> {
    return tmux("-L", this.name, ...args);
  }

  static async start(command: string, cwd?: string): Promise<Terminal> {
    const t = new Terminal();
    await t.tmux(
      "new-session",
      "-d",
      "-s",
      t.name,
      "-x",
      "120",
      "-y",
      "40",
      ...(cwd ? ["-c", cwd] : []),
      command,
    );
    return t;
  }

  screen(): Promise<string> {
    return this.tmux("capture-pane", "-t", this.name, "-p", "-S", "-200");
  }

  /** Polls the screen until `pattern` matches; returns the screen. */
  async waitFor(pattern: RegExp, ms = 15_000): Promise<string> {
    const end = Date.now() + ms;
    for (;;) {
      const text = await this.screen();
      if (pattern.test(text)) return text;
      if (Date.now() > end) throw new Error(`Timed out waiting for ${pattern}; screen:\n${text}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Types `text` literally and presses Enter. */
  async type(text: string): Promise<void> {
    await this.tmux("send-keys", "-t", this.name, "-l", text);
    await this.tmux("send-keys", "-t", this.name, "Enter");
  }

  /** Polls until the last non-empty line of the screen (where the cursor is) matches. */
  async waitForLastLine(pattern: RegExp, ms = 15_000): Promise<string> {
    const end = Date.now() + ms;
    for (;;) {
      const text = await this.screen();
      const last = text.trimEnd().split("\n").at(-1) ?? "";
      if (pattern.test(last)) return text;
      if (Date.now() > end) {
        throw new Error(`Timed out waiting for a last line ${pattern}; screen:\n${text}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Sends keys by tmux name (`Tab`, `Up`, `C-c`...). */
  async keys(...keys: string[]): Promise<void> {
    await this.tmux("send-keys", "-t", this.name, ...keys);
  }

  /**
   * A second Tab after one that changed nothing on screen: sent a moment later, so the
   * terminal does not deliver both at once (readline takes keys read together as pasted text,
   * where Tab is a literal tab).
   */
  async tabAgain(): Promise<void> {
    await new Promise((r) => setTimeout(r, 250));
    await this.keys("Tab");
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.tmux("kill-server").catch(() => "");
  }
}

/**
 * The shell command that runs the client with its deno.json permission set in a tmux pane,
 * then prints `EXITED <status>` and keeps the pane open.
 */
export function clientCommand(env: string[], args: string[]): string {
  return [
    "env",
    `XDG_CONFIG_HOME=${quote(NO_CONFIG_DIR)}`,
    `FILESHARE_TRUST=${testTrust().fingerprints!.join(",")}`,
    ...env,
    "NO_COLOR=1",
    quote(Deno.execPath()),
    "run",
    ...permissionFlags("client"),
    "--no-prompt",
    "--config",
    quote(CONFIG),
    quote(`${ROOT}/client.ts`),
    ...args,
  ].join(" ") + "; echo EXITED $?; sleep 30";
}
