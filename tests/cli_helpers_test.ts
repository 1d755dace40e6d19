import assert from "node:assert/strict";
import { parseIntFlag } from "../lib/cli/int_flag.ts";
import { UsageError } from "../lib/cli/errors.ts";
import { randomHex } from "../lib/random_hex.ts";

const pure = { permissions: "none" } as const;

Deno.test({
  ...pure,
  name: "parseIntFlag() takes digits within the bounds and the fallback when absent",
  fn() {
    assert.equal(parseIntFlag(undefined, "port", { fallback: 9000 }), 9000);
    assert.equal(parseIntFlag("0", "port", { fallback: 9000, max: 65535 }), 0);
    assert.equal(parseIntFlag("65535", "port", { fallback: 9000, max: 65535 }), 65535);
    assert.equal(parseIntFlag("4096", "clients", { fallback: 4, min: 1, max: 4096 }), 4096);
  },
});

Deno.test({
  ...pure,
  name: "parseIntFlag() refuses signs, fractions, exponents and out-of-range values",
  async fn(t) {
    const cases: [string, { fallback: number; min?: number; max?: number }, RegExp][] = [
      ["-1", { fallback: 0 }, /Invalid --n "-1": expected a whole number >= 0/],
      ["1.5", { fallback: 0 }, /expected a whole number >= 0/],
      ["1e3", { fallback: 0 }, /expected a whole number >= 0/],
      ["", { fallback: 0 }, /expected a whole number >= 0/],
      ["0", { fallback: 4, min: 1, max: 9 }, /expected a whole number from 1 to 9/],
      ["10", { fallback: 4, min: 1, max: 9 }, /expected a whole number from 1 to 9/],
      ["99999999999999999999", { fallback: 0 }, /expected a whole number/],
    ];
    for (const [value, options, message] of cases) {
      await t.step(JSON.stringify(value), () => {
        assert.throws(() => parseIntFlag(value, "n", options), (e: unknown) => {
          assert.ok(e instanceof UsageError);
          assert.match(e.message, message);
          return true;
        });
      });
    }
  },
});

Deno.test({
  ...pure,
  name: "randomHex() gives two lowercase hex digits a byte, different every time",
  fn() {
    assert.match(randomHex(6), /^[0-9a-f]{12}$/);
    assert.equal(randomHex(0), "");
    assert.notEqual(randomHex(12), randomHex(12));
  },
});
