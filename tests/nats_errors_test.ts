/** The classification of NATS failures that NatsStore retries or reports (no cluster needed). */
import assert from "node:assert/strict";
import {
  ClosedConnectionError,
  NoRespondersError,
  RequestError,
  TimeoutError,
} from "@nats-io/transport-node";
import { JetStreamApiError } from "@nats-io/jetstream";
import {
  isTransient,
  isWrongLastSequence,
  mapNatsError,
  retrying,
} from "../lib/store/nats_errors.ts";
import { StoreError } from "../lib/store/store.ts";

const apiError = (code: number, errCode: number, description: string) =>
  new JetStreamApiError({ code, err_code: errCode, description });

const NO_LEADER = apiError(503, 10008, "JetStream system temporarily unavailable");
const FULL = apiError(503, 10023, "insufficient resources");
const RACED = apiError(400, 10071, "wrong last sequence: 7");

Deno.test({
  name: "isTransient() retries what a failover ends, not what waiting cannot fix",
  permissions: "none",
  fn: () => {
    assert.equal(isTransient(NO_LEADER), true);
    assert.equal(isTransient(new TimeoutError()), true);
    assert.equal(
      isTransient(new RequestError("request failed", { cause: new NoRespondersError("$JS.API") })),
      true,
    );
    // What a request in flight gets when its node dies under it: the client reconnects to
    // another node, so asking again works.
    assert.equal(isTransient(new RequestError("connection disconnected")), true);
    assert.equal(isTransient(FULL), false);
    assert.equal(isTransient(RACED), false);
    assert.equal(isTransient(new ClosedConnectionError()), false);
    assert.equal(isTransient(new StoreError("storage_unavailable", "a", "unavailable")), false);
  },
});

Deno.test({
  name: "isWrongLastSequence() tells a lost conditional publish",
  permissions: "none",
  fn: () => {
    assert.equal(isWrongLastSequence(RACED), true);
    assert.equal(isWrongLastSequence(NO_LEADER), false);
  },
});

Deno.test({
  name: "mapNatsError() gives storage_full or a one-line storage_unavailable",
  permissions: "none",
  fn: () => {
    assert.equal(mapNatsError(FULL, "a").kind, "storage_full");
    const e = mapNatsError(new Error("first line\n  at somewhere"), "a/b");
    assert.equal(e.kind, "storage_unavailable");
    assert.equal(e.detail, "shared storage unavailable (first line)");
    const own = new StoreError("not_found", "x", "not found");
    assert.equal(mapNatsError(own, "x"), own);
  },
});

Deno.test({
  name: "retrying() rides out transient failures within its budget and no longer",
  permissions: "none",
  fn: async (t) => {
    await t.step("a transient failure, then success", async () => {
      let calls = 0;
      const got = await retrying(() => {
        if (++calls < 3) return Promise.reject(NO_LEADER);
        return Promise.resolve("ok");
      }, 5_000);
      assert.equal(got, "ok");
      assert.equal(calls, 3);
    });
    await t.step("a lasting failure is thrown at once", async () => {
      let calls = 0;
      await assert.rejects(
        retrying(() => {
          calls++;
          return Promise.reject(FULL);
        }, 5_000),
        (e) => e === FULL,
      );
      assert.equal(calls, 1);
    });
    await t.step("a transient failure past the budget is thrown", async () => {
      let calls = 0;
      const start = Date.now();
      await assert.rejects(
        retrying(() => {
          calls++;
          return Promise.reject(NO_LEADER);
        }, 500),
        (e) => e === NO_LEADER,
      );
      assert.ok(calls >= 2 && calls <= 5, `${calls} calls`);
      assert.ok(Date.now() - start < 2_000);
    });
  },
});
