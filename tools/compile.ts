/**
 * Builds the standalone executables. Each tool is compiled with the permission flags of its
 * `deno task` line in deno.json (see permissions.ts), the same flags the tests run it with.
 *
 * @example
 * ```sh
 * deno task compile          # dist/server, dist/client, dist/analysis for this machine
 * deno task compile:all      # dist/<target>/... for every release target
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import denoConfig from "../deno.json" with { type: "json" };
import { permissionFlags, TOOLS } from "./permissions.ts";

export { TOOLS };

/** Worker modules each tool starts (`new Worker(...)`), embedded with `--include`. */
export const WORKERS: Record<typeof TOOLS[number], string[]> = {
  server: [],
  client: [],
  analysis: ["lib/report/_parse_worker.ts"],
};

/** Release targets (`deno compile --target`). */
export const TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
] as const;

/** One compile step. */
export interface CompileStep {
  tool: typeof TOOLS[number];
  target: string | null;
  output: string;
  args: string[];
}

/** The `deno compile` arguments for every tool and target; `target` null means this machine. */
export function compileSteps(targets: (string | null)[], outDir = "dist"): CompileStep[] {
  const steps: CompileStep[] = [];
  for (const target of targets) {
    for (const tool of TOOLS) {
      const output = target === null ? `${outDir}/${tool}` : `${outDir}/${target}/${tool}`;
      const args = ["compile", ...permissionFlags(tool), "--no-prompt", "--config", "deno.json"];
      // Workers are loaded at run time, so deno compile must be told to embed their modules.
      for (const worker of WORKERS[tool]) args.push("--include", worker);
      if (target !== null) args.push("--target", target);
      args.push("--output", output, `${tool}.ts`);
      steps.push({ tool, target, output, args });
    }
  }
  return steps;
}

/** The explanation printed when the runtime download fails. */
export function offlineMessage(target: string | null): string {
  return [
    `Cannot build executables${target ? ` for ${target}` : ""}: deno compile downloads the`,
    `Deno runtime (denort ${Deno.version.deno}) from dl.deno.land, and that download failed.`,
    "Build on a machine with internet access (the release workflow does), or point DENORT_BIN",
    "at a denort binary of the same version that you downloaded before.",
  ].join("\n");
}

function looksOffline(stderr: string): boolean {
  return /dl\.deno\.land|dns error|error sending request|Connect|proxy|timed out/i.test(stderr);
}

/** Runs the compile steps; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      all: { type: "boolean", default: false },
      target: { type: "string", multiple: true },
      out: { type: "string", default: "dist" },
      "dry-run": { type: "boolean", default: false },
    },
  });
  const targets: (string | null)[] = values.all ? [...TARGETS] : values.target ?? [null];
  for (const t of targets) {
    if (t !== null && !(TARGETS as readonly string[]).includes(t)) {
      console.error(`Unknown target "${t}": use one of ${TARGETS.join(", ")}`);
      return 2;
    }
  }
  const root = new URL("..", import.meta.url).pathname;
  for (const step of compileSteps(targets, values.out)) {
    console.log(`deno ${step.args.join(" ")}`);
    if (values["dry-run"]) continue;
    const out = await new Deno.Command(Deno.execPath(), {
      args: step.args,
      cwd: root,
      stdout: "inherit",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    if (out.code !== 0) {
      console.error(stderr.trimEnd());
      console.error("");
      console.error(
        looksOffline(stderr) ? offlineMessage(step.target) : `Compiling ${step.tool} failed`,
      );
      return 1;
    }
  }
  if (!values["dry-run"]) console.log(`built fileshare ${denoConfig.version} into ${values.out}/`);
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
