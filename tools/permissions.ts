/**
 * Each tool's permission flags, read from its `deno task` line in deno.json: the single source
 * of truth that the run tasks, the compiled executables, `deno task install` and the tests
 * share. (Deno's `permissions` sets in deno.json would say the same, but every run under them
 * prints an "experimental feature" warning into the user's output.)
 *
 * @example
 * ```ts
 * import { permissionFlags } from "./permissions.ts";
 * permissionFlags("analysis"); // ["--allow-read", "--allow-write", "--allow-env=INIT_CWD,NO_COLOR"]
 * ```
 * @module
 */
import denoConfig from "../deno.json" with { type: "json" };

/** The executables, each named after its entry point and its `deno task`. */
export const TOOLS = ["server", "client", "analysis"] as const;

/** One of {@link TOOLS}. */
export type ToolName = typeof TOOLS[number];

/**
 * The `--allow-*` flags of a tool's task (`deno run FLAGS --no-prompt TOOL.ts`), in order.
 * Throws when the task does not have that shape, so a hand edit cannot silently widen or
 * drop what the executables and tests run with.
 */
export function permissionFlags(tool: ToolName): string[] {
  const task = (denoConfig.tasks as Record<string, string>)[tool];
  const words = task?.split(/\s+/) ?? [];
  const shape = words[0] === "deno" && words[1] === "run" && words.at(-1) === `${tool}.ts` &&
    words.at(-2) === "--no-prompt";
  const flags = words.slice(2, -2);
  if (!shape || flags.length === 0 || !flags.every((f) => /^--allow-[a-z]+(=\S+)?$/.test(f))) {
    throw new Error(
      `deno.json task "${tool}" must read "deno run --allow-... --no-prompt ${tool}.ts"`,
    );
  }
  return flags;
}
