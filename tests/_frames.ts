import { HEADER_BYTES, writeDataHeader } from "../lib/protocol/frame.ts";

/** A whole DATA frame around a copy of `chunk`, for tests that write raw frames. */
export function encodeData(chunk: Uint8Array): Uint8Array {
  const frame = new Uint8Array(HEADER_BYTES + chunk.length);
  frame.set(chunk, HEADER_BYTES);
  return writeDataHeader(frame);
}
