/** `bytes` random bytes from the system's CSPRNG as lowercase hex (two characters a byte). */
export function randomHex(bytes: number): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(bytes)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
}
