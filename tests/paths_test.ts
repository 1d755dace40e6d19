import assert from "node:assert/strict";
import { isInside, parseRemotePath, TEMP_PREFIX } from "../lib/store/paths.ts";
import { PathError } from "../lib/protocol/errors.ts";
import { MAX_PATH_BYTES } from "../lib/protocol/messages.ts";

function refused(input: string, message?: RegExp): void {
  assert.throws(() => parseRemotePath(input), (err: unknown) => {
    assert.ok(err instanceof PathError, `${JSON.stringify(input)}: expected PathError, got ${err}`);
    assert.equal(err.code, "BAD_REQUEST");
    if (message) assert.match(err.message, message, JSON.stringify(input));
    return true;
  }, `${JSON.stringify(input)} was accepted`);
}

const HOSTILE: Record<string, [string[], RegExp]> = {
  "parent segments": [
    [
      "..",
      "../",
      "../x",
      "a/..",
      "a/../b",
      "a/../../b",
      "./..",
      "a/./../..",
      "a//..//b",
      "x/y/z/..",
    ],
    /\.\./,
  ],
  "absolute paths": [["/", "/etc/passwd", "//server/share", "/./etc", "/a/../b"], /absolute/],
  "NUL and control characters": [
    [
      "a\u0000b",
      "\u0000",
      "a/b\u0000",
      "tab\there",
      "new\nline",
      "cr\r",
      "esc\u001b[2J",
      "del\u007f",
    ],
    /control character/,
  ],
  "backslashes": [
    ["..\\x", "a\\b", "\\etc\\passwd", "\\\\server\\share", "C:\\x", "a/..\\..\\b"],
    /backslash/,
  ],
  "drive letters": [["C:x", "c:", "Z:/etc", "C:", "d:foo/bar", "a:b"], /drive letter/],
  "the server's temporary names": [
    [TEMP_PREFIX, `${TEMP_PREFIX}abc`, `a/${TEMP_PREFIX}0123`, `${TEMP_PREFIX}x/y`],
    /reserved/,
  ],
};

Deno.test({
  name: "parseRemotePath() refuses hostile paths",
  permissions: "none",
  async fn(t) {
    for (const [name, [inputs, message]] of Object.entries(HOSTILE)) {
      await t.step(name, () => {
        for (const input of inputs) refused(input, message);
      });
    }
    await t.step("over-long names and paths", () => {
      refused("x".repeat(256), /longer than 255 bytes/);
      refused(`a/${"ü".repeat(128)}`, /longer than 255 bytes/); // 256 UTF-8 bytes
      refused("a/".repeat(MAX_PATH_BYTES / 2) + "b", /longer than 4096 bytes/);
      refused("日".repeat(1366), /longer than 4096 bytes/); // 4098 bytes, 1366 characters
    });
  },
});

Deno.test({
  name: "parseRemotePath() normalises good paths into confined segments",
  permissions: "none",
  async fn(t) {
    const good: [string, string[]][] = [
      ["", []],
      [".", []],
      ["./", []],
      ["a//b/", ["a", "b"]],
      ["./a/./b/.", ["a", "b"]],
      ["a b/c d.txt", ["a b", "c d.txt"]],
      ["ünïcödé/日本語 ファイル.txt", ["ünïcödé", "日本語 ファイル.txt"]],
      ["😀/emoji.bin", ["😀", "emoji.bin"]],
      ["...", ["..."]],
      ["..a/a..", ["..a", "a.."]],
      [".hidden", [".hidden"]],
      ["<EOF>", ["<EOF>"]],
      ["ab:c", ["ab:c"]], // a colon after the second character is just a character
      ["1:x", ["1:x"]],
      [".fileshare-tmp", [".fileshare-tmp"]], // only the full prefix is reserved
      ["x".repeat(255), ["x".repeat(255)]],
      ["ü".repeat(127), ["ü".repeat(127)]],
    ];
    for (const [input, segments] of good) {
      await t.step(JSON.stringify(input).slice(0, 40), () => {
        const p = parseRemotePath(input);
        assert.deepEqual(p.segments, segments);
        assert.equal(p.text, segments.join("/"));
        // The normal form is a fixed point.
        assert.deepEqual(parseRemotePath(p.text), p);
      });
    }
    await t.step("a path of exactly 4096 bytes is accepted", () => {
      const input = ("x".repeat(255) + "/").repeat(16);
      assert.equal(input.length, MAX_PATH_BYTES);
      assert.equal(parseRemotePath(input).segments.length, 16);
    });
  },
});

Deno.test({
  name: "parseRemotePath() prefixes the caller's context to the error",
  permissions: "none",
  fn() {
    assert.throws(
      () => parseRemotePath("../x", 'Cannot delete "../x"'),
      (err: unknown) => {
        assert.ok(err instanceof PathError);
        assert.match(err.message, /^Cannot delete "\.\.\/x": Path "\.\.\/x" leaves the shared/);
        return true;
      },
    );
  },
});

Deno.test({
  name: "isInside() compares whole path components",
  permissions: "none",
  fn() {
    assert.equal(isInside("/srv/root", "/srv/root"), true);
    assert.equal(isInside("/srv/root", "/srv/root/a/b"), true);
    assert.equal(isInside("/srv/root", "/srv/rootkit"), false);
    assert.equal(isInside("/srv/root", "/srv/root2/a"), false);
    assert.equal(isInside("/srv/root", "/srv"), false);
    assert.equal(isInside("/srv/root", "/"), false);
    assert.equal(isInside("/", "/etc/passwd"), true);
  },
});
