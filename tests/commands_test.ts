import assert from "node:assert/strict";
import { checkArgCount, parseFlags } from "../lib/commands/command.ts";
import { cliCommandHelp, shellCommandHelp, usageLine } from "../lib/commands/help.ts";
import { COMMANDS, commandsOf, findCommand, wordsOf } from "../lib/commands/table.ts";
import { UPLOAD } from "../lib/commands/upload.ts";
import { RMDIR } from "../lib/commands/rmdir.ts";
import { DELETE } from "../lib/commands/delete.ts";
import { UsageError } from "../lib/cli/errors.ts";

const pure = { permissions: "none" } as const;

Deno.test({
  ...pure,
  name: "findCommand() gives both front ends the same definition under their own words",
  fn() {
    assert.equal(findCommand("upload", "cli"), UPLOAD);
    assert.equal(findCommand("put", "cli"), UPLOAD);
    assert.equal(findCommand("put", "shell"), UPLOAD);
    assert.equal(findCommand("upload", "shell"), UPLOAD);
    assert.equal(findCommand("cd", "cli"), undefined, "cd is the shell's own");
    assert.equal(findCommand("subfolder", "shell"), undefined, "subfolder is the CLI's own");
    assert.equal(findCommand("exit", "shell")?.name, "quit");
    for (const surface of ["cli", "shell"] as const) {
      const words = commandsOf(surface).flatMap((c) => wordsOf(c, surface));
      assert.equal(new Set(words).size, words.length, `no word runs two ${surface} commands`);
    }
  },
});

Deno.test({
  ...pure,
  name: "usageLine() and the help texts render one definition for both front ends",
  fn() {
    assert.equal(usageLine(UPLOAD, "cli"), "client upload LOCAL... [REMOTE] [options]");
    assert.equal(usageLine(RMDIR, "cli"), "client rmdir DIR [--recursive]");
    assert.equal(
      usageLine(UPLOAD, "shell"),
      "put [-f] [-r] [-L] [--no-times] [-a] LOCAL... [REMOTE]",
    );
    assert.equal(usageLine(DELETE, "cli"), "client delete REMOTE");
    assert.equal(usageLine(RMDIR, "shell"), "rmdir [-r] DIR");
    const cli = cliCommandHelp(UPLOAD);
    assert.match(cli, /^Usage: client upload /);
    assert.match(cli, /Alias: put/);
    assert.match(cli, /client upload report\.pdf docs\//);
    const shell = shellCommandHelp(UPLOAD);
    assert.match(shell, /aliases: upload/);
    assert.match(shell, /example: put report\.pdf docs\//);
    for (const c of COMMANDS) {
      assert.ok(c.summary.length > 0 && c.about.length > 0, `${c.name} has help`);
      for (const line of cliCommandHelp(c).split("\n")) assert.ok(line.length <= 80, line);
    }
  },
});

Deno.test({
  ...pure,
  name: "parseFlags() and checkArgCount() raise UsageError for typing mistakes",
  fn() {
    assert.deepEqual(parseFlags(UPLOAD, ["-f", "a", "b"]), {
      args: ["a", "b"],
      flags: { overwrite: true },
    });
    assert.deepEqual(parseFlags(UPLOAD, ["--overwrite", "--", "-odd name"]), {
      args: ["-odd name"],
      flags: { overwrite: true },
    });
    assert.deepEqual(parseFlags(UPLOAD, ["-"]).args, ["-"]);
    assert.deepEqual(parseFlags(UPLOAD, ["-rf", "a"]).flags, { recursive: true, overwrite: true });
    assert.throws(() => parseFlags(DELETE, ["-r", "a"]), UsageError);
    assert.throws(() => parseFlags(UPLOAD, ["-rx", "a"]), /Unknown option "-x" in "-rx"/);
    assert.throws(() => checkArgCount(UPLOAD, [], "put LOCAL"), UsageError);
    assert.throws(() => checkArgCount(DELETE, ["a", "b"], "rm REMOTE"), /Unexpected argument "b"/);
    checkArgCount(UPLOAD, ["a", "b", "c", "d/"], "put LOCAL... [REMOTE]");
  },
});
