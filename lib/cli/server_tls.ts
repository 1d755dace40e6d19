import { UsageError } from "./errors.ts";
import {
  loadOrCreateOwnCertificate,
  loadServerCertificate,
  type ServerCertificate,
} from "../tls/server_certificate.ts";

/** The server's TLS flags. */
export interface ServerTlsFlags {
  /** False with `--no-tls`. */
  enabled: boolean;
  /** `--tls` was given (it is the default; it only clashes with `--no-tls`). */
  tlsGiven: boolean;
  /** `--tls-cert FILE`. */
  certPath?: string;
  /** `--tls-key FILE`. */
  keyPath?: string;
  /** Folder of the server's own certificate (the users file's folder). */
  ownDir: string;
}

/**
 * The certificate the server presents: the administrator's (`--tls-cert`/`--tls-key`), else
 * its own (made on first start); null with `--no-tls`.
 *
 * @throws {UsageError} for contradicting flags
 */
export async function serverTls(flags: ServerTlsFlags): Promise<ServerCertificate | null> {
  const own = flags.certPath === undefined && flags.keyPath === undefined;
  if (!flags.enabled) {
    if (flags.tlsGiven) throw new UsageError("--tls and --no-tls contradict each other");
    if (!own) throw new UsageError("--tls-cert and --tls-key need TLS: drop --no-tls");
    return null;
  }
  if (own) return await loadOrCreateOwnCertificate(flags.ownDir);
  if (flags.certPath === undefined || flags.keyPath === undefined) {
    throw new UsageError("--tls-cert and --tls-key go together: give both files");
  }
  return await loadServerCertificate(flags.certPath, flags.keyPath);
}
