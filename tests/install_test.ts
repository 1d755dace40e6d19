import assert from "node:assert/strict";
import { installArgs } from "../tools/install.ts";
import { permissionFlags } from "../tools/permissions.ts";
import { ROOT } from "./_helpers.ts";
import denoConfig from "../deno.json" with { type: "json" };

Deno.test({
  permissions: { read: true },
  name: "installArgs() installs each tool with exactly the flags of its deno task",
  fn() {
    const args = installArgs("client", "/opt/x");
    assert.deepEqual(args.filter((a) => a.startsWith("--allow-")), permissionFlags("client"));
    assert.deepEqual(args.slice(-3), ["--name", "fileshare-client", "client.ts"]);
    assert.ok(args.includes("--global"));
  },
});

Deno.test("deno task install puts the three commands on the PATH with their permission sets", async () => {
  const root = await Deno.makeTempDir({ prefix: "fileshare-install-" });
  try {
    const denoDir = Deno.execPath().slice(0, Deno.execPath().lastIndexOf("/"));
    const env = { DENO_INSTALL_ROOT: root, PATH: `${root}/bin:${denoDir}:/usr/bin:/bin` };
    const install = await new Deno.Command(Deno.execPath(), {
      args: ["task", "install"],
      cwd: ROOT,
      env,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const said = new TextDecoder().decode(install.stdout);
    assert.equal(install.code, 0, new TextDecoder().decode(install.stderr));
    assert.match(said, /installed fileshare-server, fileshare-client and fileshare-analysis/);
    for (const tool of ["server", "client", "analysis"] as const) {
      const launcher = await Deno.readTextFile(`${root}/bin/fileshare-${tool}`);
      const flags = launcher.match(/--allow-\S+/g)?.sort();
      assert.deepEqual(flags, permissionFlags(tool).sort(), `${tool}: exactly its set`);
      // Run by name from another folder, as a user would.
      const run = await new Deno.Command(`fileshare-${tool}`, {
        args: ["--version"],
        cwd: root,
        env,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
      assert.equal(
        new TextDecoder().decode(run.stdout),
        `fileshare ${tool} ${denoConfig.version}\n`,
      );
      assert.equal(new TextDecoder().decode(run.stderr), "", "nothing but the tool's output");
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
