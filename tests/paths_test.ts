import assert from "node:assert/strict";
import { isInside, MAX_PATH_DEPTH, parseRemotePath, TEMP_PREFIX } from "../lib/store/paths.ts";
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
  "C1 control characters": [["a\u0080b", "\u0085", "x/\u009b31m", "\u009f"], /control character/],
  "bidi overrides and isolates": [
    [
      "evil\u202etxt.exe",
      "\u202a",
      "a\u202b",
      "\u202c",
      "\u202d/x",
      "\u2066",
      "\u2067",
      "a\u2068b",
      "\u2069",
    ],
    /bidirectional override/,
  ],
  "characters Windows does not allow": [
    ["<EOF>", "a>b", "ab:c", "1:x", 'say"hi"', "a|b", "what?", "*", "dir/x*y"],
    /not allowed/,
  ],
  "names Windows reserves": [
    [
      "CON",
      "con",
      "PRN",
      "aux",
      "NUL",
      "nul.txt",
      "NUL.tar.gz",
      "com1",
      "COM9",
      "lpt1",
      "LPT9.log",
      "a/Con/b",
      "com\u00b9",
    ],
    /reserved device name/,
  ],
  "trailing dots and spaces": [["a.", "a..", "...", "x ", "dir./f", "end. ", " "], /dot or space/],
  "paths deeper than the limit": [
    ["d/".repeat(MAX_PATH_DEPTH) + "x", "d/".repeat(2047) + "x"],
    /deeper than 64 levels/,
  ],
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
      ["..a/a..b", ["..a", "a..b"]],
      [".hidden", [".hidden"]],
      ["EOF", ["EOF"]],
      // Only the exact device names are reserved on Windows, not names that start with them.
      ["CONSOLE/con-fig/nully.txt/com10/lpt0", [
        "CONSOLE",
        "con-fig",
        "nully.txt",
        "com10",
        "lpt0",
      ]],
      ["a.b c", ["a.b c"]],
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
    await t.step("a path of exactly the depth limit is accepted", () => {
      assert.equal(parseRemotePath("d/".repeat(MAX_PATH_DEPTH)).segments.length, MAX_PATH_DEPTH);
    });
    await t.step("NFC and NFD spellings give one name, in NFC", () => {
      const nfc = "caf\u00e9/\u00c5ngstr\u00f6m.txt";
      const nfd = nfc.normalize("NFD");
      assert.notEqual(nfc, nfd);
      assert.deepEqual(parseRemotePath(nfd), parseRemotePath(nfc));
      assert.equal(parseRemotePath(nfd).text, nfc);
      // Hangul syllables composed from jamo.
      assert.equal(parseRemotePath("\u1112\u1161\u11ab").text, "\ud55c");
    });
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
