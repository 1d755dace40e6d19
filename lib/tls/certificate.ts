// @peculiar/x509 resolves its parts through tsyringe, which needs the Reflect metadata API.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { isIpAddress } from "./x509.ts";

x509.cryptoProvider.set(crypto);

/** A certificate and its private key, both PEM. */
export interface CertifiedKey {
  /** Certificate chain, PEM (the server's own certificate first). */
  cert: string;
  /** Private key, PEM (PKCS#8). */
  key: string;
}

const ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

function randomSerial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] &= 0x7f; // a positive INTEGER
  bytes[0] |= 0x01; // and never a leading zero byte
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Makes a P-256 key and a self-signed server certificate valid for 20 years, naming `names`
 * (DNS names or IP addresses) as subject alternative names. Not a CA: clients pin it.
 *
 * @example
 * ```ts
 * const { cert, key } = await createSelfSignedCertificate(["localhost", "127.0.0.1", "::1"]);
 * ```
 */
export async function createSelfSignedCertificate(names: string[]): Promise<CertifiedKey> {
  if (names.length === 0) throw new RangeError("A certificate needs at least one name");
  const keys = await crypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"]);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: "CN=fileshare server",
    notBefore: new Date(now - 60 * 60 * 1000),
    notAfter: new Date(now + 20 * 365 * 24 * 60 * 60 * 1000),
    signingAlgorithm: ALGORITHM,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(
        names.map((n) => ({ type: isIpAddress(n) ? "ip" as const : "dns" as const, value: n })),
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const pkcs8 = await crypto.subtle.exportKey("pkcs8", keys.privateKey);
  return {
    cert: cert.toString("pem") + "\n",
    key: x509.PemConverter.encode(pkcs8, "PRIVATE KEY") + "\n",
  };
}

/** Whether `issuerDer`'s key signed `der` (and its subject is the certificate's issuer). */
export async function isIssuedBy(der: Uint8Array, issuerDer: Uint8Array): Promise<boolean> {
  try {
    const cert = new x509.X509Certificate(new Uint8Array(der));
    const issuer = new x509.X509Certificate(new Uint8Array(issuerDer));
    if (cert.issuer !== issuer.subject) return false;
    return await cert.verify({ publicKey: issuer.publicKey, signatureOnly: true });
  } catch {
    return false;
  }
}
