/**
 * Puts `fileshare-server`, `fileshare-client` and `fileshare-analysis` on the PATH with
 * `deno install --global`, each with exactly the `--allow-*` flags of its `deno task`
 * (`tools/permissions.ts`), which go into the launcher.
 * The launchers run this checkout's entry points: keep the folder where it is. Nothing is
 * downloaded that `deno task` has not already cached, so it works offline.
 *
 * @example
 * ```sh
 * deno task install                          # into ~/.deno/bin (DENO_INSTALL_ROOT/bin)
 * deno task install --root /usr/local        # into /usr/local/bin
 * deno task install --dry-run                # print the commands only
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import denoConfig from "../deno.json" with { type: "json" };
import { permissionFlags, type ToolName, TOOLS } from "./permissions.ts";

/** The `deno install` arguments of one tool. */
export function installArgs(tool: ToolName, root?: string): string[] {
  return [
    "install",
    "--global",
    "--force",
    "--no-prompt",
    ...permissionFlags(tool),
    "--config",
    "deno.json",
    ...(root ? ["--root", root] : []),
    "--name",
    `fileshare-${tool}`,
    `${tool}.ts`,
  ];
}

/** Installs the three commands; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      root: { type: "string" },
      "dry-run": { type: "boolean", default: false },
    },
  });
  const project = new URL("..", import.meta.url).pathname;
  for (const tool of TOOLS) {
    const step = installArgs(tool, values.root);
    console.log(`deno ${step.join(" ")}`);
    if (values["dry-run"]) continue;
    const out = await new Deno.Command(Deno.execPath(), {
      args: step,
      cwd: project,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (out.code !== 0) {
      console.error(new TextDecoder().decode(out.stderr).trimEnd());
      console.error(`Installing fileshare-${tool} failed`);
      return 1;
    }
  }
  if (!values["dry-run"]) {
    const bin = values.root ?? Deno.env.get("DENO_INSTALL_ROOT") ??
      `${Deno.env.get("HOME")}/.deno`;
    console.log(
      `installed fileshare-server, fileshare-client and fileshare-analysis ${denoConfig.version}` +
        ` into ${bin.replace(/\/+$/, "")}/bin (add it to PATH if it is not there yet)`,
    );
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
