import assert from "node:assert/strict";
import { ROOT } from "./_helpers.ts";

/** App folders: what a person meets (flags, terminals, commands, reports). */
const APP = ["lib/cli/", "lib/commands/", "lib/shell/", "lib/load/", "lib/report/"];

/** Relative imports of a module, resolved to paths from the project root. */
async function importsOf(file: string): Promise<string[]> {
  const text = await Deno.readTextFile(`${ROOT}/${file}`);
  const specs = [...text.matchAll(/^\s*(?:import|export)[^"';]*?from\s+"([^"]+)"/gm)]
    .map((m) => m[1])
    .filter((s) => s.startsWith("."));
  return specs.map((s) => new URL(s, `file:///${file}`).pathname.slice(1));
}

async function tsFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(`${ROOT}/${dir}`)) {
    const path = `${dir}${e.name}`;
    if (e.isDirectory) out.push(...await tsFiles(`${path}/`));
    else if (e.name.endsWith(".ts")) out.push(path);
  }
  return out;
}

Deno.test("library code imports nothing of the app, and mod.ts only the library", async () => {
  const library = (await tsFiles("lib/")).filter((f) => !APP.some((a) => f.startsWith(a)));
  assert.ok(library.includes("lib/client/client.ts"), "the walk found the library");
  const offenders: string[] = [];
  for (const file of [...library, "mod.ts"]) {
    for (const target of await importsOf(file)) {
      if (APP.some((a) => target.startsWith(a)) || target === "deno.json") {
        offenders.push(`${file} -> ${target}`);
      }
    }
  }
  assert.deepEqual(offenders, []);
});
