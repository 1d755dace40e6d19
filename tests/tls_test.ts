/**
 * Encrypted transport: the server's own and openssl-made certificates, every way a client
 * comes to trust a server (and is refused), clear one-line errors when one end has no TLS,
 * and a recording proxy that sees neither the login nor the files in clear.
 */
import assert from "node:assert/strict";
import { FileshareClient } from "../lib/client/client.ts";
import { createSelfSignedCertificate } from "../lib/tls/certificate.ts";
import {
  certificateFingerprint,
  parseFingerprint,
  pemCertificates,
} from "../lib/tls/fingerprint.ts";
import { KnownServers } from "../lib/tls/known_servers.ts";
import { ServerTrustError, type TrustQuestion } from "../lib/tls/trust.ts";
import { certificateInfo } from "../lib/tls/x509.ts";
import {
  runTool,
  spawnServer,
  startServer,
  testCertificate,
  USERS,
  writeTestUsers,
} from "./_helpers.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "fileshare-tls-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function openssl(args: string[], cwd: string): Promise<string> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) throw new Error(`openssl ${args[0]} failed: ${dec.decode(out.stderr)}`);
  return dec.decode(out.stdout);
}

/** An openssl-made CA and a server certificate it signed for 127.0.0.1 and localhost. */
async function opensslCertificates(dir: string): Promise<void> {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  await openssl([
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "2",
    "-subj",
    "/CN=fileshare test CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign",
  ], dir);
  await openssl(["req", ...ec, "-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=srv"], dir);
  await Deno.writeTextFile(
    `${dir}/ext.cnf`,
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n" +
      "extendedKeyUsage=serverAuth\n",
  );
  await openssl([
    "x509",
    "-req",
    "-in",
    "srv.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "srv.pem",
    "-days",
    "2",
    "-extfile",
    "ext.cnf",
  ], dir);
}

Deno.test({
  name: "parseFingerprint() takes 64 hex digits with or without colons and nothing else",
  permissions: "none",
  fn() {
    const hex = "5da89cca48f5bac5db2b4c63050754c15e14809e2df9d86d623a39300bda42de";
    const colons = hex.toUpperCase().match(/../g)!.join(":");
    assert.equal(parseFingerprint(hex), colons);
    assert.equal(parseFingerprint(colons.toLowerCase()), colons);
    assert.equal(parseFingerprint(`SHA256:${hex}`), colons);
    assert.throws(() => parseFingerprint(hex.slice(2)), TypeError);
    assert.throws(() => parseFingerprint(`${hex}00`), TypeError);
    assert.throws(() => parseFingerprint(hex.replace("5", "g")), TypeError);
  },
});

Deno.test("createSelfSignedCertificate() makes a certificate openssl reads, same fingerprint", async () => {
  await withDir(async (dir) => {
    const made = await createSelfSignedCertificate(["localhost", "127.0.0.1", "::1"]);
    await Deno.writeTextFile(`${dir}/c.pem`, made.cert);
    const text = await openssl(["x509", "-in", "c.pem", "-noout", "-text", "-fingerprint"], dir)
      .then(async (t) =>
        t + await openssl(["x509", "-in", "c.pem", "-noout", "-fingerprint", "-sha256"], dir)
      );
    assert.match(text, /DNS:localhost, IP Address:127\.0\.0\.1, IP Address:0:0:0:0:0:0:0:1/);
    assert.match(text, /CA:FALSE/);
    const fp = /sha256 Fingerprint=([0-9A-F:]+)/i.exec(text)![1];
    assert.equal(certificateFingerprint(pemCertificates(made.cert)[0]), fp);
    const info = certificateInfo(pemCertificates(made.cert)[0]);
    assert.deepEqual(info.names, ["localhost", "127.0.0.1", "::1"]);
    assert.equal(info.subject, "fileshare server");
    assert.equal(info.selfSignedLeaf, true);
    assert.equal(info.fingerprint, fp);
  });
});

Deno.test("the server makes its own certificate once and prints its fingerprint at every start", async () => {
  await withDir(async (dir) => {
    await writeTestUsers(`${dir}/users.json`);
    const first = await spawnServer(dir);
    const out1 = first.stdout();
    assert.match(out1, /Created a TLS key and self-signed certificate/);
    assert.match(out1, /fingerprint: [0-9A-F]{2}(:[0-9A-F]{2}){31}\n/);
    // A client that trusts this fingerprint works; the fingerprint is the certificate's.
    const pem = await Deno.readTextFile(`${dir}/server-cert.pem`);
    assert.equal(first.fingerprint, certificateFingerprint(pemCertificates(pem)[0]));
    const ls = await runTool("client", ["--server", `127.0.0.1:${first.port}`, "ls"], {
      cwd: dir,
      env: {
        FILESHARE_USER: "alice",
        FILESHARE_PASSWORD: USERS.alice.password,
        FILESHARE_TRUST: first.fingerprint!.replaceAll(":", "").toLowerCase(),
      },
    });
    assert.equal(ls.code, 0, ls.stderr);
    assert.equal((await first.stop()).code, 0);
    assert.equal((await Deno.stat(`${dir}/server-key.pem`)).mode! & 0o777, 0o600);
    const second = await spawnServer(dir);
    assert.doesNotMatch(second.stdout(), /Created a TLS key/);
    assert.equal(second.fingerprint, first.fingerprint);
    assert.equal((await second.stop()).code, 0);
    // --no-tls says so loudly and prints no fingerprint.
    const plain = await spawnServer(dir, ["--no-tls"]);
    assert.equal(plain.fingerprint, undefined);
    const stopped = await plain.stop();
    assert.match(stopped.stderr, /WARNING: TLS is off \(--no-tls\)/);
  });
});

Deno.test("an openssl-made certificate works with --tls-cert/--tls-key and --ca, --trust or FILESHARE_TRUST", async (t) => {
  await withDir(async (dir) => {
    await opensslCertificates(dir);
    await writeTestUsers(`${dir}/users.json`);
    // The server presents its certificate with the CA's, as a "fullchain" file does.
    await Deno.writeTextFile(
      `${dir}/chain.pem`,
      await Deno.readTextFile(`${dir}/srv.pem`) + await Deno.readTextFile(`${dir}/ca.pem`),
    );
    const srv = await spawnServer(dir, ["--tls-cert", "chain.pem", "--tls-key", "srv.key"]);
    try {
      const fp = certificateFingerprint(
        pemCertificates(await Deno.readTextFile(`${dir}/srv.pem`))[0],
      );
      assert.equal(srv.fingerprint, fp);
      // certificateInfo() reads openssl's certificates as openssl wrote them.
      const leaf = certificateInfo(pemCertificates(await Deno.readTextFile(`${dir}/srv.pem`))[0]);
      assert.deepEqual(leaf, {
        fingerprint: fp,
        subject: "srv",
        issuer: "fileshare test CA",
        names: ["127.0.0.1", "localhost"],
        selfSignedLeaf: false,
        isCa: false,
      });
      const ca = certificateInfo(pemCertificates(await Deno.readTextFile(`${dir}/ca.pem`))[0]);
      assert.equal(ca.isCa, true);
      assert.equal(ca.selfSignedLeaf, false);
      const client = (args: string[], env: Record<string, string> = {}) =>
        runTool("client", ["--server", `127.0.0.1:${srv.port}`, "--user", "alice", ...args, "ls"], {
          cwd: dir,
          env: { FILESHARE_PASSWORD: USERS.alice.password, FILESHARE_TRUST: "", ...env },
        });
      await t.step("trusted by the CA that signed it", async () => {
        const r = await client(["--ca", "ca.pem"]);
        assert.equal(r.code, 0, r.stderr);
      });
      await t.step("trusted by fingerprint, as a flag or in the environment", async () => {
        assert.equal((await client(["--trust", fp])).code, 0);
        assert.equal((await client([], { FILESHARE_TRUST: fp })).code, 0);
      });
      await t.step("refused without trust, naming the fingerprint and the way out", async () => {
        const r = await client([]);
        assert.equal(r.code, 1);
        assert.equal(r.stdout, "");
        assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
        assert.match(r.stderr, /Unknown server 127\.0\.0\.1:\d+/);
        assert.ok(r.stderr.includes(fp), r.stderr);
        assert.match(r.stderr, /--trust/);
      });
      await t.step("refused when the fingerprint or CA is another's", async () => {
        const other = await testCertificate();
        const r = await client(["--trust", other.fingerprint]);
        assert.equal(r.code, 1);
        assert.match(r.stderr, /not the one given/);
        await Deno.writeTextFile(`${dir}/other.pem`, other.cert);
        const ca = await client(["--ca", "other.pem"]);
        assert.equal(ca.code, 1);
        assert.match(ca.stderr, /not the one given/);
      });
    } finally {
      await srv.stop();
    }
    const half = await runTool("server", ["--tls-cert", "srv.pem"], { cwd: dir });
    assert.equal(half.code, 2);
    assert.match(half.stderr, /--tls-cert and --tls-key go together/);
  });
});

Deno.test("connectVerified() asks about an unknown server once, remembers it, refuses a changed certificate", async (t) => {
  await using srv = await startServer();
  await withDir(async (dir) => {
    const path = `${dir}/config/fileshare/known_servers`;
    const connect = async (ask?: (q: TrustQuestion) => Promise<boolean>) =>
      await FileshareClient.connect({
        hostname: "127.0.0.1",
        port: srv.port,
        user: "alice",
        password: USERS.alice.password,
        tls: { knownServers: await KnownServers.load(path), ask },
      });
    await t.step("no prompt: refused", async () => {
      await assert.rejects(connect(), (err) => {
        assert.ok(err instanceof ServerTrustError);
        assert.equal(err.fingerprint, srv.fingerprint);
        return true;
      });
    });
    await t.step("declined at the prompt: refused, nothing remembered", async () => {
      await assert.rejects(connect(() => Promise.resolve(false)), ServerTrustError);
      await assert.rejects(Deno.stat(path), Deno.errors.NotFound);
    });
    await t.step("accepted at the prompt: remembered (0600), not asked again", async () => {
      const asked: TrustQuestion[] = [];
      const ask = (q: TrustQuestion) => {
        asked.push(q);
        return Promise.resolve(true);
      };
      (await connect(ask)).close();
      assert.equal(asked.length, 1);
      assert.equal(asked[0].server, `127.0.0.1:${srv.port}`);
      assert.equal(asked[0].certificate.fingerprint, srv.fingerprint);
      assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
      assert.ok((await Deno.readTextFile(path)).includes(srv.fingerprint!));
      (await connect(ask)).close();
      assert.equal(asked.length, 1, "a known server is not asked about again");
    });
    await t.step("a changed certificate is refused loudly, saying how to fix it", async () => {
      const other = await createSelfSignedCertificate(["localhost", "127.0.0.1"]);
      const known = await KnownServers.load(path);
      await known.remember(`127.0.0.1:${srv.port}`, pemCertificates(other.cert));
      const ask = () => Promise.reject(new Error("must not ask about a changed certificate"));
      await assert.rejects(connect(ask), (err) => {
        assert.ok(err instanceof ServerTrustError);
        assert.match(err.message, /has CHANGED/);
        assert.ok(err.message.includes(srv.fingerprint!), "names the new fingerprint");
        assert.ok(err.message.includes(path), "names the file to edit");
        assert.match(err.message, /--trust/);
        return true;
      });
    });
  });
});

Deno.test("a client without TLS and a server with it (and the reverse) fail with one clear line", async (t) => {
  await t.step("--no-tls client, TLS server", async () => {
    await using srv = await startServer();
    const r = await runTool("client", [
      "--server",
      `127.0.0.1:${srv.port}`,
      "--user",
      "alice",
      "--no-tls",
      "ls",
    ], { cwd: srv.dir, env: { FILESHARE_PASSWORD: USERS.alice.password } });
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /requires TLS .*connect without --no-tls/);
  });
  await t.step("TLS client, --no-tls server", async () => {
    await using srv = await startServer({ plain: true });
    const r = await runTool("client", [
      "--server",
      `127.0.0.1:${srv.port}`,
      "--user",
      "alice",
      "ls",
    ], { cwd: srv.dir, env: { FILESHARE_PASSWORD: USERS.alice.password } });
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /does not speak TLS .*--no-tls/);
    // And against it --no-tls works.
    const ok = await runTool("client", [
      "--server",
      `127.0.0.1:${srv.port}`,
      "--user",
      "alice",
      "--no-tls",
      "ls",
    ], { cwd: srv.dir, env: { FILESHARE_PASSWORD: USERS.alice.password } });
    assert.equal(ok.code, 0, ok.stderr);
  });
});

/** A TCP proxy that records every byte it forwards, both ways. */
function recordingProxy(
  target: number,
): { port: number; bytes: () => Uint8Array; close(): Promise<void> } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const chunks: Uint8Array[] = [];
  const pipes: Promise<void>[] = [];
  const pump = async (from: Deno.Conn, to: Deno.Conn) => {
    const buf = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await from.read(buf);
        if (n === null) break;
        chunks.push(buf.slice(0, n));
        let off = 0;
        while (off < n) off += await to.write(buf.subarray(off, n));
      }
    } catch {
      // the other side went away
    } finally {
      try {
        to.closeWrite();
      } catch {
        // already closed
      }
    }
  };
  const accepting = (async () => {
    for await (const a of listener) {
      const b = await Deno.connect({ hostname: "127.0.0.1", port: target });
      pipes.push(
        Promise.all([pump(a, b), pump(b, a)]).then(() => {
          a.close();
          b.close();
        }),
      );
    }
  })();
  return {
    port: listener.addr.port,
    bytes: () => {
      const all = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
      let off = 0;
      for (const c of chunks) {
        all.set(c, off);
        off += c.length;
      }
      return all;
    },
    close: async () => {
      listener.close();
      await accepting.catch(() => {});
      await Promise.all(pipes);
    },
  };
}

function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

Deno.test("a recording proxy sees no login exchange and no file content, unless TLS is off", async (t) => {
  const marker = enc.encode("CONFIDENTIAL-FILE-CONTENT-0123456789");
  const content = new Uint8Array(200_000);
  for (let i = 0; i < content.length; i += marker.length) {
    content.set(marker.subarray(0, Math.min(marker.length, content.length - i)), i);
  }
  const secrets = [
    ["file content", marker],
    ["SCRAM client-first", enc.encode("n,,n=")],
    ["SCRAM client-final", enc.encode("c=biws")],
    ["user name", enc.encode(USERS.alice.name)],
  ] as const;
  for (const plain of [false, true]) {
    await t.step(
      plain ? "--no-tls: the proxy sees them (the check works)" : "TLS: the proxy sees none",
      async () => {
        await using srv = await startServer({ plain });
        const proxy = recordingProxy(srv.port);
        try {
          const client = await FileshareClient.connect({
            hostname: "127.0.0.1",
            port: proxy.port,
            user: "alice",
            password: USERS.alice.password,
            tls: srv.tls,
          });
          try {
            let sent = false;
            await client.upload(
              {
                read: (p: Uint8Array) => {
                  if (sent) return Promise.resolve(null);
                  sent = true;
                  p.set(content);
                  return Promise.resolve(content.length);
                },
              },
              content.length,
              "secret.bin",
            );
            const got: Uint8Array[] = [];
            await client.download("secret.bin", () =>
              Promise.resolve({
                write: (p: Uint8Array) => {
                  got.push(p.slice());
                  return Promise.resolve(p.length);
                },
              }));
            assert.equal(got.reduce((s, c) => s + c.length, 0), content.length);
          } finally {
            client.close();
          }
        } finally {
          await proxy.close();
        }
        const seen = proxy.bytes();
        assert.ok(seen.length > 2 * content.length, "the proxy carried the transfers");
        for (const [what, bytes] of secrets) {
          assert.equal(contains(seen, bytes), plain, `${what} ${plain ? "not " : ""}seen in clear`);
        }
      },
    );
  }
});
