import assert from "node:assert/strict";
import { globToRegExp, hasWildcard, matchNames, splitPattern } from "../lib/commands/glob.ts";
import { batchSummary, renderBatchProgress } from "../lib/cli/batch_progress.ts";

const pure = { permissions: "none" } as const;

Deno.test({
  ...pure,
  name: "matchNames() matches *, ? and [..] within one name, dot files only when asked",
  fn() {
    const names = ["a.txt", "b.txt", "ab.md", ".hidden.txt", "q1.pdf", "q5.pdf", "x[1].log"];
    assert.deepEqual(matchNames("*.txt", names), ["a.txt", "b.txt"]);
    assert.deepEqual(matchNames("?.txt", names), ["a.txt", "b.txt"]);
    assert.deepEqual(matchNames("q[1-4].pdf", names), ["q1.pdf"]);
    assert.deepEqual(matchNames("q[!1-4].pdf", names), ["q5.pdf"]);
    assert.deepEqual(matchNames(".*", names), [".hidden.txt"]);
    assert.deepEqual(matchNames("a*", names), ["a.txt", "ab.md"]);
    assert.deepEqual(matchNames("x[1", names), []);
    assert.ok(globToRegExp("a.(b)+c$").test("a.(b)+c$"), "other characters are literal");
    assert.ok(!globToRegExp("*").test("a/b"), "* never crosses a folder");
    assert.equal(hasWildcard("plain.txt"), false);
    assert.deepEqual(splitPattern("docs/*.pdf"), { dir: "docs", name: "*.pdf" });
  },
});

Deno.test({
  ...pure,
  name: "renderBatchProgress() shows files, bytes, rate and time left; batchSummary() counts",
  fn() {
    const line = renderBatchProgress({
      filesDone: 12,
      files: 40,
      done: 3 * 1024 * 1024,
      total: 10 * 1024 * 1024,
      elapsedMs: 1000,
      columns: 100,
    });
    assert.equal(line, "12/40 files  3.0 MiB/10.0 MiB  3.15 MB/s  ETA 2.3 s");
    assert.equal(
      renderBatchProgress({
        ...{ filesDone: 0, files: 1, done: 0, total: 5 },
        elapsedMs: 0,
        columns: 10,
      }),
      "0/1 files",
    );
    assert.equal(
      batchSummary("uploaded", { files: 3, bytes: 2048, ms: 500, skipped: 1, failed: 2 }),
      "uploaded 3 files (2.0 KiB) in 0.50 s, 4.10 kB/s; 1 skipped, 2 failed",
    );
  },
});
