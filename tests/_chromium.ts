/** Headless Chromium for the HTML report tests (installed by .ci/run). */

function findChromium(): string {
  for (const p of ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]) {
    try {
      Deno.statSync(p);
      return p;
    } catch {
      // try the next
    }
  }
  throw new Error("Chromium is not installed (apt-get install chromium); .ci/run installs it");
}

/** Runs headless Chromium with `args` and a fresh profile folder; its exit code and output. */
export async function chromium(
  args: string[],
  profile: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(findChromium(), {
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      `--user-data-dir=${profile}`,
      ...args,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}
