import assert from "node:assert/strict";
import { parse } from "yaml";
import denoConfig from "../deno.json" with { type: "json" };
import { permissionFlags } from "../tools/permissions.ts";
import {
  compileSteps,
  main as compileMain,
  offlineMessage,
  TARGETS,
  TOOLS,
  WORKERS,
} from "../tools/compile.ts";
import { CONFIG, ROOT, runTool, toolArgs } from "./_helpers.ts";

const tasks = denoConfig.tasks as Record<string, string>;

Deno.test("permissionFlags() gives each tool least privilege", async (t) => {
  const expected: Record<string, string[]> = {
    client: ["env", "net", "read", "write"],
    analysis: ["env", "read", "write"],
  };
  for (const tool of TOOLS) {
    await t.step(tool, () => {
      const flags = permissionFlags(tool);
      if (tool === "server") {
        // The server's race-free path resolution calls libc (FFI, which no Deno permission
        // confines) and opens /proc/self/fd/N, which Deno allows only with all permissions:
        // see docs/security.md, "Symlinks and the swap race". Nothing narrower is possible.
        assert.deepEqual(flags, ["--allow-all"]);
        return;
      }
      const names = flags.map((f) => /^--allow-([a-z]+)/.exec(f)![1]);
      assert.deepEqual([...names].sort(), expected[tool]);
      for (const forbidden of ["all", "run", "sys", "ffi", "import"]) {
        assert.ok(!names.includes(forbidden), `no --allow-${forbidden}`);
      }
      // Environment access is a list of names, never everything.
      assert.ok(flags.some((f) => f.startsWith("--allow-env=")), "env is an allow-list");
    });
  }
});

Deno.test("permissionFlags() refuses a task that does not have the expected shape", () => {
  for (const tool of TOOLS) {
    assert.match(tasks[tool], new RegExp(`^deno run (--allow-\\S+ )+--no-prompt ${tool}\\.ts$`));
  }
  assert.throws(() => permissionFlags("nope" as "server"), /must read "deno run --allow-/);
});

Deno.test("run tasks, compile steps and tests use the same permission flags per tool", () => {
  for (const tool of TOOLS) {
    const flags = permissionFlags(tool);
    assert.equal(tasks[tool], `deno run ${flags.join(" ")} --no-prompt ${tool}.ts`);
    assert.ok(!/\s-A\b|-P\b|-P=/.test(tasks[tool]));
    if (tool !== "server") assert.ok(!tasks[tool].includes("--allow-all"));
    assert.deepEqual(toolArgs(tool).slice(0, flags.length + 2), ["run", ...flags, "--no-prompt"]);
  }
  const host = compileSteps([null]);
  assert.deepEqual(host.map((s) => s.output), ["dist/server", "dist/client", "dist/analysis"]);
  for (const step of host) {
    const flags = permissionFlags(step.tool);
    assert.deepEqual(step.args.slice(0, flags.length + 2), ["compile", ...flags, "--no-prompt"]);
    assert.ok(!step.args.includes("-A"));
    assert.equal(step.args.includes("--allow-all"), step.tool === "server");
    assert.equal(step.args.at(-1), `${step.tool}.ts`);
    for (const worker of WORKERS[step.tool]) {
      assert.equal(step.args[step.args.indexOf(worker) - 1], "--include");
    }
  }
  const all = compileSteps([...TARGETS]);
  assert.equal(all.length, TARGETS.length * TOOLS.length);
  for (const target of TARGETS) {
    assert.equal(all.filter((s) => s.args.includes(target)).length, TOOLS.length);
  }
  assert.equal(tasks.compile, "deno run -A tools/compile.ts");
  assert.equal(tasks["compile:all"], "deno run -A tools/compile.ts --all");
});

Deno.test("deno task server|client|analysis print only the tool's own output", async () => {
  for (const tool of TOOLS) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["task", "--config", CONFIG, tool, "--version"],
      cwd: ROOT,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    assert.equal(new TextDecoder().decode(out.stdout), `fileshare ${tool} ${denoConfig.version}\n`);
    // deno task echoes the command it runs ("Task server deno run ..."); nothing else.
    const lines = stderr.split("\n").filter((l) => l !== "" && !/^Task \S+ deno run /.test(l));
    assert.deepEqual(lines, [], "no warning from Deno in the tool's output");
  }
});

Deno.test("every Worker the tools start is embedded by compile", async () => {
  const started: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(`${ROOT}/${dir}`)) {
      if (e.isDirectory) await walk(`${dir}/${e.name}`);
      if (!e.name.endsWith(".ts")) continue;
      const text = await Deno.readTextFile(`${ROOT}/${dir}/${e.name}`).catch(() => "");
      for (const m of text.matchAll(/new Worker\(\s*new URL\("\.\/([^"]+)"/g)) {
        started.push(`${dir}/${m[1]}`);
      }
    }
  };
  await walk("lib");
  assert.deepEqual(started.sort(), Object.values(WORKERS).flat().sort());
});

Deno.test("--version of every tool prints the version from deno.json", async () => {
  for (const tool of TOOLS) {
    const r = await runTool(tool, ["--version"], { cwd: ROOT });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), `fileshare ${tool} ${denoConfig.version}`);
  }
});

Deno.test("compile explains clearly when the runtime download fails", async () => {
  const denoDir = await Deno.makeTempDir();
  const out = await Deno.makeTempDir();
  try {
    // A fresh cache and a dead proxy make the download fail here and on a machine with internet.
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--config", CONFIG, `${ROOT}/tools/compile.ts`, "--out", out],
      cwd: ROOT,
      clearEnv: true,
      env: {
        PATH: Deno.env.get("PATH") ?? "",
        HOME: Deno.env.get("HOME") ?? "",
        DENO_DIR: denoDir,
        HTTPS_PROXY: "http://127.0.0.1:9",
        HTTP_PROXY: "http://127.0.0.1:9",
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(r.stderr);
    assert.equal(r.code, 1, stderr);
    assert.ok(stderr.includes(offlineMessage(null)), stderr);
    assert.deepEqual([...Deno.readDirSync(out)].filter((e) => e.isFile), []);
  } finally {
    await Deno.remove(denoDir, { recursive: true });
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("compile rejects an unknown target", async () => {
  const log = console.error;
  console.error = () => {};
  try {
    assert.equal(await compileMain(["--target", "riscv-none", "--dry-run"]), 2);
  } finally {
    console.error = log;
  }
});

Deno.test("release workflow tests, compiles every target and publishes checksums", async () => {
  const wf = parse(await Deno.readTextFile(`${ROOT}/.github/workflows/release.yml`)) as {
    on: { push: { tags: string[] } };
    permissions: Record<string, string>;
    jobs: Record<
      string,
      { needs?: string; steps: { run?: string; uses?: string; with?: Record<string, string> }[] }
    >;
  };
  assert.deepEqual(wf.on.push.tags, ["v*"]);
  assert.equal(wf.permissions.contents, "write");
  const testRuns = wf.jobs.test.steps.map((s) => s.run ?? "").join("\n");
  assert.match(testRuns, /bash \.ci\/run/);
  const ci = await Deno.readTextFile(`${ROOT}/.ci/run`);
  assert.match(ci, /deno task check/);
  assert.match(ci, /deno task test/);
  const build = wf.jobs.build;
  assert.equal(build.needs, "test");
  const runs = build.steps.map((s) => s.run ?? "").join("\n");
  assert.match(runs, /deno task compile:all/);
  assert.match(runs, /sha256sum \* > SHA256SUMS/);
  assert.match(runs, /gh release create "\$GITHUB_REF_NAME" release\/\*/);
  const setup = build.steps.find((s) => s.uses?.startsWith("denoland/setup-deno"));
  assert.equal(setup?.with?.["deno-version"], `v${Deno.version.deno}`);
});
