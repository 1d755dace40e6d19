import { createHash } from "node:crypto";

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+?)-----END CERTIFICATE-----/g;

/** The DER bytes of every certificate in a PEM text, in order; empty when there is none. */
export function pemCertificates(pem: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const m of pem.matchAll(PEM_BLOCK)) {
    const b64 = m[1].replace(/\s+/g, "");
    out.push(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
  }
  return out;
}

/** One certificate as PEM text (64-column base64 between the usual markers). */
export function certificatePem(der: Uint8Array): string {
  let b64 = "";
  for (let i = 0; i < der.length; i += 0x8000) {
    b64 += String.fromCharCode(...der.subarray(i, i + 0x8000));
  }
  const lines = btoa(b64).match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join("\n")}\n-----END CERTIFICATE-----\n`;
}

/**
 * The SHA-256 fingerprint of a certificate's DER bytes, as 32 upper-case hex pairs joined by
 * colons (the way `openssl x509 -fingerprint -sha256` prints it).
 *
 * @example
 * ```ts
 * const der = new TextEncoder().encode("the DER bytes of a certificate");
 * const fp = certificateFingerprint(der); // 32 hex pairs: "4B:0E:...:7A"
 * ```
 */
export function certificateFingerprint(der: Uint8Array): string {
  const hex = createHash("sha256").update(der).digest("hex").toUpperCase();
  return hex.match(/../g)!.join(":");
}

/**
 * Reads a fingerprint as a user types it: 64 hex digits, colons optional, any case, an
 * optional `SHA256:` prefix. Returns the colon-separated upper-case form.
 *
 * @throws {TypeError} when the text is not a SHA-256 fingerprint
 *
 * @example
 * ```ts
 * import { parseFingerprint } from "fileshare";
 *
 * const fp = parseFingerprint("5da89cca48f5bac5db2b4c63050754c15e14809e2df9d86d623a39300bda42de");
 * console.log(fp); // "5D:A8:9C:...:42:DE"
 * ```
 */
export function parseFingerprint(text: string): string {
  const hex = text.trim().replace(/^sha-?256[:=]?/i, "").replaceAll(":", "");
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new TypeError(
      `Invalid fingerprint "${text}": expected the 64 hex digits the server prints (colons optional)`,
    );
  }
  return hex.toUpperCase().match(/../g)!.join(":");
}
