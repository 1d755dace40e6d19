import assert from "node:assert/strict";
import { DelayRelay } from "../bench/_relay.ts";
import { FileshareClient } from "../lib/client/client.ts";
import { startServer, USERS } from "./_helpers.ts";

// A relay that holds each direction's bytes for a while makes every wait for the other side a
// separate flight of client bytes, so the flights it counts are the round trips a client pays.
// The protocol's own round trips: measured without TLS, whose handshake adds its own.
Deno.test("FileshareClient.connect() and one command cost three round trips after TCP", async () => {
  await using srv = await startServer({ plain: true });
  await using relay = DelayRelay.start(srv.port, 20);
  {
    await using client = await FileshareClient.connect({
      hostname: "127.0.0.1",
      port: relay.port,
      user: USERS.alice.name,
      password: USERS.alice.password,
      tls: false,
    });
    assert.deepEqual(await client.list(""), []);
  }
  // hello with auth_start, auth_final, dir: the hello does not wait for its answer.
  assert.deepEqual(relay.stats, { connections: 1, clientFlights: 3 });
});
