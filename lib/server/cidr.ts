/**
 * IPv4 and IPv6 networks in CIDR notation (`10.0.0.0/8`, `fd00::/8`, or one address), for the
 * server's allow-list of trusted networks.
 * @module
 */

/** A parsed network: its address bytes and prefix length. */
export interface Cidr {
  /** 4 bytes for IPv4, 16 for IPv6. */
  bytes: Uint8Array;
  /** Leading bits that must match. */
  prefix: number;
}

function ipv4(text: string): Uint8Array | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(parts[i]) || Number(parts[i]) > 255) return null;
    out[i] = Number(parts[i]);
  }
  return out;
}

function ipv6(text: string): Uint8Array | null {
  let head = text;
  let tail4: Uint8Array | null = null;
  const lastColon = text.lastIndexOf(":");
  if (text.slice(lastColon + 1).includes(".")) {
    tail4 = ipv4(text.slice(lastColon + 1));
    if (tail4 === null) return null;
    head = text.slice(0, lastColon + 1) + "0:0";
  }
  const halves = head.split("::");
  if (halves.length > 2) return null;
  const words = (s: string) => (s === "" ? [] : s.split(":"));
  const left = words(halves[0]);
  const right = halves.length === 2 ? words(halves[1]) : [];
  const missing = 8 - left.length - right.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const all = [...left, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...right];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(all[i])) return null;
    const v = parseInt(all[i], 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  }
  if (tail4) out.set(tail4, 12);
  return out;
}

/** The bytes of an IPv4 or IPv6 address (brackets and a zone are dropped); null if not one. */
export function parseAddress(text: string): Uint8Array | null {
  const bare = text.replace(/^\[(.*)\]$/, "$1").replace(/%.*$/, "");
  return bare.includes(":") ? ipv6(bare) : ipv4(bare);
}

/** Parses `ADDRESS[/PREFIX]`; throws RangeError with the reason otherwise. */
export function parseCidr(text: string): Cidr {
  const [addr, prefixText, ...rest] = text.trim().split("/");
  const bytes = parseAddress(addr);
  if (bytes === null || rest.length > 0) {
    throw new RangeError(`Invalid network "${text}": expected an address or ADDRESS/PREFIX`);
  }
  const max = bytes.length * 8;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!/^[0-9]{1,3}$/.test(prefixText ?? String(max)) || prefix > max) {
    throw new RangeError(`Invalid network "${text}": the prefix must be 0..${max}`);
  }
  return { bytes, prefix };
}

/**
 * Whether `address` lies in `network`. An IPv4 address also matches as its IPv4-mapped IPv6
 * form (`::ffff:10.0.0.1`), as dual-stack sockets report it.
 *
 * @example
 * ```ts
 * import { cidrContains, parseCidr } from "./cidr.ts";
 *
 * console.log(cidrContains(parseCidr("10.0.0.0/8"), "10.1.2.3")); // true
 * console.log(cidrContains(parseCidr("fd00::/8"), "fd12::1")); // true
 * ```
 */
export function cidrContains(network: Cidr, address: string): boolean {
  let bytes = parseAddress(address);
  if (bytes === null) return false;
  if (bytes.length === 16 && network.bytes.length === 4) {
    const mapped = bytes.subarray(0, 12).every((b, i) => b === (i < 10 ? 0 : 0xff));
    if (!mapped) return false;
    bytes = bytes.subarray(12);
  }
  if (bytes.length !== network.bytes.length) return false;
  let bits = network.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((bytes[i] & mask) !== (network.bytes[i] & mask)) return false;
  }
  return true;
}
