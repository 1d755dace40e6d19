import type { CertificateInfo } from "./x509.ts";
import type { KnownServers } from "./known_servers.ts";

/** What the client is asked about an unknown server. */
export interface TrustQuestion {
  /** `host:port` as typed. */
  server: string;
  /** The certificate's facts, with its SHA-256 fingerprint. */
  certificate: CertificateInfo;
}

/**
 * How a client decides whether to trust a server's certificate. Checked in this order:
 * `ca`, then `fingerprints`, then `knownServers`, then `ask`; without any of them every
 * server is refused.
 */
export interface ServerTrust {
  /**
   * PEM text of `--ca FILE`: CA certificates that sign the server's certificate (normal
   * verification against the host name), or the server's own self-signed certificate (pinned).
   */
  ca?: string;
  /** Fingerprints trusted outright (`--trust`, `FILESHARE_TRUST`), colon form. */
  fingerprints?: string[];
  /** Remembered servers; a server accepted at the prompt is added here. */
  knownServers?: KnownServers;
  /** Asks the user about an unknown server (on a terminal); absent means refuse. */
  ask?: (question: TrustQuestion) => Promise<boolean>;
}

/** The server's certificate is not trusted, or not the one remembered for it. */
export class ServerTrustError extends Error {
  /** The fingerprint the server presented, when it was seen. */
  readonly fingerprint: string | undefined;

  /** Creates a trust error. */
  constructor(message: string, fingerprint?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ServerTrustError";
    this.fingerprint = fingerprint;
  }
}
