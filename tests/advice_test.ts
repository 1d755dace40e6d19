import assert from "node:assert/strict";
import { withAdvice } from "../lib/client/advice.ts";
import { FileshareError } from "../lib/protocol/errors.ts";
import { asErrorResponse, errorResponse, responseError } from "../lib/protocol/responses.ts";

Deno.test({
  name: "withAdvice() chooses advice by code and reason, never by the message's words",
  permissions: "none",
  fn() {
    // Worded like a refusal that earns advice, but without a reason: left alone.
    const bare = new FileshareError("EXISTS", 'Cannot upload "a": file already exists');
    assert.equal(withAdvice("upload", bare), bare);
    // Worded differently (another language, a newer server): the reason decides.
    const other = new FileshareError("EXISTS", 'Kann "a" nicht hochladen: existiert', {
      reason: "exists_file",
    });
    const advised = withAdvice("upload", other) as FileshareError;
    assert.equal(advised.message, 'Kann "a" nicht hochladen: existiert (use --overwrite)');
    assert.equal(advised.reason, "exists_file");
    const folder = new FileshareError("EXISTS", "x", { reason: "exists_folder" });
    assert.match((withAdvice("upload", folder) as Error).message, /end the path with "\/"/);
    const dir = new FileshareError("BAD_REQUEST", "x", { reason: "not_file" });
    assert.equal((withAdvice("delete", dir) as Error).message, "x (use rmdir)");
    assert.equal(withAdvice("upload", dir), dir);
    const full = new FileshareError("NOT_EMPTY", "x", { reason: "not_empty" });
    assert.equal((withAdvice("rmdir", full) as Error).message, "x (use --recursive)");
  },
});

Deno.test({
  name: "asErrorResponse() keeps a known reason and drops an unknown one",
  permissions: "none",
  fn() {
    const known = asErrorResponse({
      status: "error",
      code: "EXISTS",
      message: "m",
      reason: "exists_file",
    });
    assert.deepEqual(known, errorResponse("EXISTS", "m", "exists_file"));
    assert.equal(responseError(known!).reason, "exists_file");
    const unknown = asErrorResponse({
      status: "error",
      code: "EXISTS",
      message: "m",
      reason: "<script>",
    });
    assert.deepEqual(unknown, { status: "error", code: "EXISTS", message: "m" });
    assert.equal(responseError(unknown!).reason, undefined);
  },
});
