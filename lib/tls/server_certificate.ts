import { type CertifiedKey, createSelfSignedCertificate } from "./certificate.ts";
import { certificateFingerprint, pemCertificates } from "./fingerprint.ts";

/** The certificate a server presents, with where it came from. */
export interface ServerCertificate extends CertifiedKey {
  /** SHA-256 fingerprint of the server's own (first) certificate. */
  fingerprint: string;
  /** The certificate file. */
  certPath: string;
  /** The key file. */
  keyPath: string;
  /** True when this start made the key and certificate. */
  created: boolean;
}

/** A certificate or key file that cannot be used. */
export class CertificateError extends Error {
  /** Creates a certificate error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CertificateError";
  }
}

/** File names of the server's own certificate and key, next to users.json. */
export const OWN_CERT_FILE = "server-cert.pem";
/** File name of the server's own private key (mode 0600). */
export const OWN_KEY_FILE = "server-key.pem";

/**
 * The names a self-made certificate carries: the loopback names. Clients pin the certificate
 * itself and check it against one of its own names (see connectVerified), so the host's other
 * names and addresses need not be listed, and a server on a laptop that changes networks keeps
 * working.
 */
export const OWN_CERTIFICATE_NAMES: readonly string[] = ["localhost", "127.0.0.1", "::1"];

async function readText(path: string, what: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    const why = err instanceof Deno.errors.NotFound ? "not found" : (err as Error).message;
    throw new CertificateError(`Cannot read the TLS ${what} "${path}": ${why}`, { cause: err });
  }
}

/**
 * Loads an administrator's certificate (chain, PEM) and private key (PEM).
 *
 * @throws {CertificateError} when a file is missing or holds no certificate or key
 */
export async function loadServerCertificate(
  certPath: string,
  keyPath: string,
): Promise<ServerCertificate> {
  const cert = await readText(certPath, "certificate");
  const key = await readText(keyPath, "key");
  const [first] = pemCertificates(cert);
  if (!first) {
    throw new CertificateError(`The TLS certificate "${certPath}" holds no PEM certificate`);
  }
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key)) {
    throw new CertificateError(`The TLS key "${keyPath}" holds no PEM private key`);
  }
  return {
    cert,
    key,
    fingerprint: certificateFingerprint(first),
    certPath,
    keyPath,
    created: false,
  };
}

/**
 * The server's own certificate in `dir`: loaded when present, else a new key and self-signed
 * certificate are made and written there (the key readable by the owner only).
 */
export async function loadOrCreateOwnCertificate(dir: string): Promise<ServerCertificate> {
  const certPath = `${dir}/${OWN_CERT_FILE}`;
  const keyPath = `${dir}/${OWN_KEY_FILE}`;
  const exists = async (p: string) => {
    try {
      await Deno.lstat(p);
      return true;
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return false;
      throw err;
    }
  };
  const [haveCert, haveKey] = [await exists(certPath), await exists(keyPath)];
  if (haveCert && haveKey) return await loadServerCertificate(certPath, keyPath);
  if (haveCert !== haveKey) {
    const missing = haveCert ? keyPath : certPath;
    throw new CertificateError(
      `Found only half of the server's certificate: "${missing}" is missing (remove the other ` +
        `file to make a new certificate; clients will then be asked to trust it again)`,
    );
  }
  const made = await createSelfSignedCertificate([...OWN_CERTIFICATE_NAMES]);
  await Deno.writeTextFile(keyPath, made.key, { mode: 0o600, createNew: true });
  await Deno.chmod(keyPath, 0o600).catch(() => {}); // umask may have narrowed it; never widened
  await Deno.writeTextFile(certPath, made.cert, { mode: 0o644, createNew: true });
  const fingerprint = certificateFingerprint(pemCertificates(made.cert)[0]);
  return { ...made, fingerprint, certPath, keyPath, created: true };
}
