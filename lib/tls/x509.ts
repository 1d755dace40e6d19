import { certificateFingerprint } from "./fingerprint.ts";

/** What a client needs to know about a certificate to decide whether and how to trust it. */
export interface CertificateInfo {
  /** SHA-256 fingerprint, colon-separated upper-case hex. */
  fingerprint: string;
  /** The subject's common name, or "" when it has none. */
  subject: string;
  /** The issuer's common name, or "" when it has none. */
  issuer: string;
  /** DNS names and IP addresses from the subject alternative names, in order. */
  names: string[];
  /** Issuer and subject are the same and the certificate is not a CA: a pin, not an anchor. */
  selfSignedLeaf: boolean;
  /** Whether basic constraints mark it as a CA. */
  isCa: boolean;
}

interface Tlv {
  tag: number;
  /** The whole element, header included. */
  all: Uint8Array;
  /** The contents. */
  body: Uint8Array;
}

/** Reads one DER element at `off` of `b`. */
function tlv(b: Uint8Array, off: number): Tlv {
  if (off + 2 > b.length) throw new TypeError("Truncated DER element");
  const tag = b[off];
  let len = b[off + 1];
  let head = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || off + 2 + n > b.length) throw new TypeError("Bad DER length");
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[off + 2 + i];
    head += n;
  }
  if (off + head + len > b.length) throw new TypeError("DER element runs past its parent");
  return {
    tag,
    all: b.subarray(off, off + head + len),
    body: b.subarray(off + head, off + head + len),
  };
}

/** The elements inside a constructed element's contents. */
function children(body: Uint8Array): Tlv[] {
  const out: Tlv[] = [];
  for (let off = 0; off < body.length;) {
    const e = tlv(body, off);
    out.push(e);
    off += e.all.length;
  }
  return out;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

const OID_CN = Uint8Array.of(0x55, 0x04, 0x03);
const OID_SAN = Uint8Array.of(0x55, 0x1d, 0x11);
const OID_BASIC = Uint8Array.of(0x55, 0x1d, 0x13);

function commonName(name: Tlv): string {
  for (const rdn of children(name.body)) {
    for (const atv of children(rdn.body)) {
      const [oid, value] = children(atv.body);
      if (oid && value && equal(oid.body, OID_CN)) return new TextDecoder().decode(value.body);
    }
  }
  return "";
}

function ipText(b: Uint8Array): string {
  if (b.length === 4) return Array.from(b).join(".");
  const groups = Array.from({ length: b.length / 2 }, (_, i) => (b[2 * i] << 8) | b[2 * i + 1]);
  // Compress the longest run of zero groups (two or more) as "::".
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < groups.length;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(":");
  return `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLen).join(":")}`;
}

/**
 * Reads the facts about one certificate (DER) that trust decisions need. A small reader of
 * its own, so that a client start does not load a whole X.509 library.
 *
 * @throws {TypeError} when the bytes are not an X.509 certificate
 */
export function certificateInfo(der: Uint8Array): CertificateInfo {
  let tbs: Tlv[];
  try {
    const cert = tlv(der, 0);
    tbs = children(children(cert.body)[0].body);
  } catch (err) {
    throw new TypeError(`Not an X.509 certificate: ${(err as Error).message}`, { cause: err });
  }
  // version [0] is optional; then serial, signature, issuer, validity, subject, key, ...
  const at = tbs[0]?.tag === 0xa0 ? 1 : 0;
  const issuer = tbs[at + 2];
  const subject = tbs[at + 4];
  if (!issuer || !subject || issuer.tag !== 0x30 || subject.tag !== 0x30) {
    throw new TypeError("Not an X.509 certificate: no issuer or subject");
  }
  const names: string[] = [];
  let isCa = false;
  const extensions = tbs.find((e) => e.tag === 0xa3);
  if (extensions) {
    for (const ext of children(children(extensions.body)[0].body)) {
      const parts = children(ext.body);
      const oid = parts[0].body;
      const value = parts[parts.length - 1].body; // after the optional critical flag
      if (equal(oid, OID_SAN)) {
        for (const n of children(tlv(value, 0).body)) {
          if (n.tag === 0x82) names.push(new TextDecoder().decode(n.body));
          else if (n.tag === 0x87 && (n.body.length === 4 || n.body.length === 16)) {
            names.push(ipText(n.body));
          }
        }
      } else if (equal(oid, OID_BASIC)) {
        const first = children(tlv(value, 0).body)[0];
        isCa = first?.tag === 0x01 && first.body[0] !== 0;
      }
    }
  }
  return {
    fingerprint: certificateFingerprint(der),
    subject: commonName(subject),
    issuer: commonName(issuer),
    names,
    selfSignedLeaf: equal(issuer.all, subject.all) && !isCa,
    isCa,
  };
}

/** Whether `name` is an IPv4 or IPv6 literal. */
export function isIpAddress(name: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(name) ||
    (name.includes(":") && /^[0-9a-fA-F:.]+$/.test(name));
}
