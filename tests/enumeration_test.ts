import assert from "node:assert/strict";
import { openConn, startServer } from "./_helpers.ts";
import { probeFirstStep } from "./_auth_probe.ts";

Deno.test("first login step: an unknown user is as fast as a real one, within the noise", async () => {
  await using srv = await startServer();
  // Same-length names: the answer carries the name inside the nonce-free part only via its
  // salt, so length would be the one content difference left.
  const names = { known: "alice", again: "alice", unknown: "ghost" };
  const probe = await probeFirstStep(await openConn(srv.port), names, 500);
  const { known, again, unknown } = probe.medians;
  // Same content: salt and iteration count look alike (the salt differs, its length does not).
  const shape = (c: string) => c.replace(/s=[^,]*/, (s) => `s=${"x".repeat(s.length)}`);
  assert.equal(shape(probe.challenges.unknown), shape(probe.challenges.known));
  // Two runs of the same user give the noise; the unknown name must not stand out from it.
  // Generous so a busy machine does not fail it: three times the noise, and never below
  // 25 µs (the gap was 110 µs, 0.27 vs 0.38 ms, when an unknown name took its own path).
  const noise = Math.abs(known - again);
  const gap = Math.abs(unknown - (known + again) / 2);
  const allowed = Math.max(3 * noise, 0.025);
  const figures = `known ${known.toFixed(4)} ms, again ${again.toFixed(4)} ms, unknown ${
    unknown.toFixed(4)
  } ms, noise ${noise.toFixed(4)} ms, gap ${gap.toFixed(4)} ms`;
  console.log(figures);
  assert.ok(gap <= allowed, `an unknown user stands out: ${figures}`);
});
