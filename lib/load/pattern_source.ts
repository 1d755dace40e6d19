/**
 * Bytes for load tests without disk I/O: a source cut from one random pattern and a sink
 * that drops what it gets.
 * @module
 */
import type { ByteSink, ByteSource } from "../transfer.ts";

let pattern: Uint8Array | null = null;

// Built on first use (getRandomValues gives at most 64 KiB a call), not at import.
function randomPattern(): Uint8Array {
  if (pattern === null) {
    pattern = new Uint8Array(1024 * 1024);
    for (let i = 0; i < pattern.length; i += 65536) {
      crypto.getRandomValues(pattern.subarray(i, i + 65536));
    }
  }
  return pattern;
}

/** A source of `size` bytes cut from a shared random pattern: no allocation per chunk. */
export function patternSource(size: number, offset = 0): ByteSource {
  let sent = 0;
  const PATTERN = randomPattern();
  return {
    read(p) {
      if (sent >= size) return Promise.resolve(null);
      const start = (offset + sent) % PATTERN.length;
      const n = Math.min(p.length, size - sent, PATTERN.length - start);
      p.set(PATTERN.subarray(start, start + n));
      sent += n;
      return Promise.resolve(n);
    },
  };
}

/** A sink that drops what it is given (the SHA-256 is still checked by the client). */
export const NULL_SINK: ByteSink = { write: (p) => Promise.resolve(p.length) };
