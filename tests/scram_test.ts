import assert from "node:assert/strict";
import {
  b64,
  clientFinal,
  clientFirst,
  credentialsFromSalted,
  decodeSaslName,
  deriveCredentials,
  encodeSaslName,
  MAX_ITERATIONS,
  MIN_ITERATIONS,
  parseClientFirst,
  parseServerFirst,
  saltedPassword,
  ScramError,
  serverFinal,
  serverFirst,
  unb64,
  verifyServerFinal,
} from "../lib/auth/scram.ts";

// RFC 7677, section 3: the example exchange, byte for byte.
const RFC = {
  user: "user",
  password: "pencil",
  clientNonce: "rOprNGfwEbeRWgbNEkqO",
  serverNonceSuffix: "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
  salt: "W22ZaJ0SNY7soEsUEjb6gQ==",
  iterations: 4096,
  clientFirst: "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
  serverFirst:
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
  clientFinal: "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0," +
    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
  serverFinal: "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
} as const;

function scramError(fn: () => unknown, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ScramError, `expected ScramError, got ${err}`);
    if (message) assert.match(err.message, message);
    return true;
  });
}

/** The server's state after the RFC's first two messages. */
async function rfcServerState() {
  const credentials = await deriveCredentials(RFC.password, unb64(RFC.salt), RFC.iterations);
  return serverFirst(parseClientFirst(RFC.clientFirst), credentials, RFC.serverNonceSuffix);
}

Deno.test({
  name: "clientFirst()/clientFinal() reproduce the RFC 7677 example exactly",
  permissions: "none",
  async fn() {
    const first = clientFirst(RFC.user, RFC.clientNonce);
    assert.equal(first.message, RFC.clientFirst);
    assert.equal(first.bare, "n=user,r=rOprNGfwEbeRWgbNEkqO");
    const server = parseServerFirst(RFC.serverFirst, first.nonce);
    assert.equal(server.nonce, RFC.clientNonce + RFC.serverNonceSuffix);
    assert.equal(b64(server.salt), RFC.salt);
    assert.equal(server.iterations, RFC.iterations);
    const salted = await saltedPassword(RFC.password, server.salt, server.iterations);
    const final = clientFinal(first, server, salted);
    assert.equal(final.message, RFC.clientFinal);
    assert.equal(`v=${b64(final.expectedServerSignature)}`, RFC.serverFinal);
    verifyServerFinal(RFC.serverFinal, final);
  },
});

Deno.test({
  name: "serverFirst()/serverFinal() reproduce the RFC 7677 example exactly",
  permissions: "none",
  async fn() {
    const parsed = parseClientFirst(RFC.clientFirst);
    assert.deepEqual(parsed, {
      gs2: "n,,",
      user: "user",
      nonce: RFC.clientNonce,
      bare: "n=user,r=rOprNGfwEbeRWgbNEkqO",
    });
    const state = await rfcServerState();
    assert.equal(state.message, RFC.serverFirst);
    assert.equal(serverFinal(state, RFC.clientFinal), RFC.serverFinal);
  },
});

Deno.test({
  name: "deriveCredentials() keeps only salt, iterations, StoredKey and ServerKey",
  permissions: "none",
  async fn() {
    const salt = unb64(RFC.salt);
    const c = await deriveCredentials(RFC.password, salt, RFC.iterations);
    assert.deepEqual(Object.keys(c).sort(), ["iterations", "salt", "serverKey", "storedKey"]);
    assert.equal(c.storedKey.length, 32);
    assert.equal(c.serverKey.length, 32);
    const salted = await saltedPassword(RFC.password, salt, RFC.iterations);
    assert.deepEqual(credentialsFromSalted(salted, salt, RFC.iterations), c);
    assert.notDeepEqual(c.storedKey, salted, "StoredKey is not the salted password");
  },
});

Deno.test({
  name: "serverFinal() returns null for a wrong proof",
  permissions: "none",
  async fn(t) {
    const state = await rfcServerState();
    await t.step("proof of a different password", async () => {
      const first = clientFirst(RFC.user, RFC.clientNonce);
      const server = parseServerFirst(RFC.serverFirst, first.nonce);
      const salted = await saltedPassword("pencil2", server.salt, server.iterations);
      assert.equal(serverFinal(state, clientFinal(first, server, salted).message), null);
    });
    await t.step("one flipped bit in the proof", () => {
      const proof = unb64(RFC.clientFinal.slice(RFC.clientFinal.indexOf(",p=") + 3));
      proof[5] ^= 1;
      const msg = RFC.clientFinal.slice(0, RFC.clientFinal.indexOf(",p=") + 3) + b64(proof);
      assert.equal(serverFinal(state, msg), null);
    });
    await t.step("a proof of the wrong length", () => {
      const msg = RFC.clientFinal.slice(0, RFC.clientFinal.indexOf(",p=") + 3) + b64(
        new Uint8Array(31),
      );
      assert.equal(serverFinal(state, msg), null);
    });
    await t.step("the ServerSignature sent back as a proof", () => {
      const msg = RFC.clientFinal.slice(0, RFC.clientFinal.indexOf(",p=") + 3) +
        RFC.serverFinal.slice(2);
      assert.equal(serverFinal(state, msg), null);
    });
  },
});

Deno.test({
  name: "serverFinal() rejects a malformed or replayed client-final-message",
  permissions: "none",
  async fn(t) {
    const state = await rfcServerState();
    const proof = RFC.clientFinal.slice(RFC.clientFinal.indexOf(",p="));
    const nonce = RFC.clientNonce + RFC.serverNonceSuffix;
    await t.step("no proof", () => scramError(() => serverFinal(state, `c=biws,r=${nonce}`)));
    await t.step("another nonce", () => {
      scramError(() => serverFinal(state, `c=biws,r=${nonce}x${proof}`), /Nonce/);
      scramError(() => serverFinal(state, `c=biws,r=${RFC.clientNonce}${proof}`), /Nonce/);
    });
    await t.step("channel-binding data that does not match the GS2 header", () => {
      scramError(() => serverFinal(state, `c=eSws,r=${nonce}${proof}`), /Channel binding/);
      scramError(() => serverFinal(state, `r=${nonce}${proof}`), /Channel binding/);
    });
    await t.step("a proof that is not base64", () => {
      scramError(() => serverFinal(state, `c=biws,r=${nonce},p=!!!!`), /base64/);
    });
    await t.step("repeated attributes", () => {
      scramError(() => serverFinal(state, `c=biws,c=biws,r=${nonce}${proof}`), /Repeated/);
    });
  },
});

Deno.test({
  name: "verifyServerFinal() rejects a server that does not know the password",
  permissions: "none",
  async fn(t) {
    const first = clientFirst(RFC.user, RFC.clientNonce);
    const server = parseServerFirst(RFC.serverFirst, first.nonce);
    const final = clientFinal(
      first,
      server,
      await saltedPassword(RFC.password, server.salt, server.iterations),
    );
    await t.step("a different signature", () => {
      const sig = unb64(RFC.serverFinal.slice(2));
      sig[0] ^= 0x80;
      scramError(() => verifyServerFinal(`v=${b64(sig)}`, final), /signature is wrong/);
    });
    await t.step("a short signature", () => {
      scramError(() => verifyServerFinal(`v=${b64(new Uint8Array(8))}`, final), /wrong/);
    });
    await t.step("no signature", () => scramError(() => verifyServerFinal("x=1", final)));
    await t.step("a server error", () => {
      scramError(() => verifyServerFinal("e=invalid-proof", final), /invalid-proof/);
    });
  },
});

Deno.test({
  name: "parseServerFirst() refuses a server-first-message it must not trust",
  permissions: "none",
  async fn(t) {
    const n = RFC.clientNonce;
    const s = RFC.salt;
    const cases: [string, string, RegExp][] = [
      ["nonce that does not extend ours", `r=other${n},s=${s},i=4096`, /nonce/],
      ["nonce equal to ours (no server part)", `r=${n},s=${s},i=4096`, /nonce/],
      ["nonce with a comma-free but non-printable byte", `r=${n}\x01x,s=${s},i=4096`, /nonce/],
      ["no salt", `r=${n}abc,i=4096`, /salt/],
      ["salt not base64", `r=${n}abc,s=@@@@,i=4096`, /base64/],
      ["too few iterations", `r=${n}abc,s=${s},i=${MIN_ITERATIONS - 1}`, /iteration/],
      ["too many iterations", `r=${n}abc,s=${s},i=${MAX_ITERATIONS + 1}`, /iteration/],
      ["iterations not a number", `r=${n}abc,s=${s},i=4096x`, /iteration/],
      ["negative iterations", `r=${n}abc,s=${s},i=-4096`, /iteration/],
      ["no iterations", `r=${n}abc,s=${s}`, /iteration/],
      ["a mandatory extension", `m=ext,r=${n}abc,s=${s},i=4096`, /extension/],
      ["garbage", "hello", /Malformed/],
    ];
    for (const [name, msg, re] of cases) {
      await t.step(name, () => scramError(() => parseServerFirst(msg, n), re));
    }
  },
});

Deno.test({
  name: "parseClientFirst() accepts only n,, or y,, without authzid or extensions",
  permissions: "none",
  async fn(t) {
    await t.step("y,, is accepted and remembered for the channel-binding check", () => {
      assert.equal(parseClientFirst("y,,n=user,r=abc").gs2, "y,,");
    });
    const cases: [string, string][] = [
      ["channel binding", "p=tls-server-end-point,,n=user,r=abc"],
      ["authzid", "n,a=admin,n=user,r=abc"],
      ["missing GS2 header", "n=user,r=abc"],
      ["extension", "n,,n=user,r=abc,m=x"],
      ["no nonce", "n,,n=user"],
      ["empty user", "n,,n=,r=abc"],
      ["nonce before user", "n,,r=abc,n=user"],
      ["nonce with a non-printable byte", "n,,n=user,r=a\u0007b"],
      ["bad escape in the name", "n,,n=a=3Xb,r=abc"],
      ["an extra attribute", "n,,n=user,r=abc,x=1"],
    ];
    for (const [name, msg] of cases) {
      await t.step(name, () => scramError(() => parseClientFirst(msg)));
    }
  },
});

Deno.test({
  name: "encodeSaslName() escapes , and = and decodeSaslName() reverses it",
  permissions: "none",
  fn() {
    for (const name of ["user", "a,b", "a=b", "=2C", ",,==", "ü@x"]) {
      assert.equal(decodeSaslName(encodeSaslName(name)), name);
      assert.ok(!encodeSaslName(name).includes(","));
    }
    assert.equal(encodeSaslName("a,b=c"), "a=2Cb=3Dc");
    scramError(() => decodeSaslName("a=2"));
    scramError(() => decodeSaslName("a=2c"));
  },
});

Deno.test({
  name: "client and server halves agree for names that need escaping and random nonces",
  permissions: "none",
  async fn() {
    const salt = crypto.getRandomValues(new Uint8Array(16));
    const credentials = await deriveCredentials("pä ss,=word", salt, 4096);
    const first = clientFirst("we,ird=name");
    assert.match(first.message, /^n,,n=we=2Cird=3Dname,r=/);
    const state = serverFirst(parseClientFirst(first.message), credentials);
    assert.equal(state.client.user, "we,ird=name");
    const server = parseServerFirst(state.message, first.nonce);
    const final = clientFinal(
      first,
      server,
      await saltedPassword("pä ss,=word", server.salt, server.iterations),
    );
    const reply = serverFinal(state, final.message);
    assert.ok(reply !== null);
    verifyServerFinal(reply, final);
    assert.ok(!final.message.includes("pä ss"), "the password never appears in a message");
  },
});

Deno.test({
  name: "unb64() accepts strict base64 only",
  permissions: "none",
  fn() {
    assert.deepEqual(unb64("AAEC"), new Uint8Array([0, 1, 2]));
    assert.deepEqual(unb64(""), new Uint8Array(0));
    for (const bad of ["AAE", "AA=C", "A===", "AA-_", "AA E", "AAEC\n"]) {
      scramError(() => unb64(bad), /base64/);
    }
  },
});
