/**
 * Frame layout: a 5-byte header, then exactly `length` body bytes.
 *
 * ```
 * +--------+----------------------+------------------+
 * | type:1 | length:4 (big-endian)| body: length     |
 * +--------+----------------------+------------------+
 * ```
 *
 * MSG bodies are UTF-8 JSON objects of at most {@link MAX_MSG_BYTES}; DATA bodies are raw file
 * bytes of at most {@link MAX_DATA_BYTES}. The length is checked before anything is allocated.
 */

/** Size of a frame header in bytes. */
export const HEADER_BYTES = 5;
/** Frame type of a JSON control message. */
export const FRAME_MSG = 0x01;
/** Frame type of a chunk of file body. */
export const FRAME_DATA = 0x02;
/** Largest MSG body accepted. */
export const MAX_MSG_BYTES = 64 * 1024;
/** Largest DATA body accepted. */
export const MAX_DATA_BYTES = 1024 * 1024;

/** A frame type. */
export type FrameType = typeof FRAME_MSG | typeof FRAME_DATA;

/** A decoded frame header. */
export interface FrameHeader {
  /** MSG or DATA. */
  type: FrameType;
  /** Body length in bytes, already checked against the type's limit. */
  length: number;
}

/** A frame header that breaks the format. */
export class FrameError extends Error {
  /** Creates a frame format error. */
  constructor(message: string) {
    super(message);
    this.name = "FrameError";
  }
}

/** Writes a header for `type` and `length` into `target` at `offset`. */
export function writeHeader(target: Uint8Array, offset: number, type: FrameType, length: number) {
  const limit = type === FRAME_MSG ? MAX_MSG_BYTES : MAX_DATA_BYTES;
  if (!Number.isInteger(length) || length < 0 || length > limit) {
    throw new RangeError(`Frame length ${length} is outside 0..${limit}`);
  }
  target[offset] = type;
  new DataView(target.buffer, target.byteOffset + offset, 4 + 1).setUint32(1, length);
}

/** Decodes and validates a 5-byte frame header. */
export function decodeHeader(bytes: Uint8Array): FrameHeader {
  if (bytes.length < HEADER_BYTES) {
    throw new FrameError(`Truncated frame header: ${bytes.length} of ${HEADER_BYTES} bytes`);
  }
  const type = bytes[0];
  const length = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES).getUint32(1);
  if (type === FRAME_MSG) {
    if (length > MAX_MSG_BYTES) {
      throw new FrameError(`Message frame of ${length} bytes exceeds the ${MAX_MSG_BYTES} limit`);
    }
    return { type, length };
  }
  if (type === FRAME_DATA) {
    if (length > MAX_DATA_BYTES) {
      throw new FrameError(`Data frame of ${length} bytes exceeds the ${MAX_DATA_BYTES} limit`);
    }
    return { type, length };
  }
  throw new FrameError(`Unknown frame type 0x${type.toString(16).padStart(2, "0")}`);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** Encodes a JSON message as one complete MSG frame. */
export function encodeMessage(message: object): Uint8Array {
  const body = encoder.encode(JSON.stringify(message));
  if (body.length > MAX_MSG_BYTES) {
    throw new RangeError(`Message of ${body.length} bytes exceeds the ${MAX_MSG_BYTES} limit`);
  }
  const frame = new Uint8Array(HEADER_BYTES + body.length);
  writeHeader(frame, 0, FRAME_MSG, body.length);
  frame.set(body, HEADER_BYTES);
  return frame;
}

/** Decodes a MSG body into a plain JSON object; throws FrameError on anything else. */
export function decodeMessage(body: Uint8Array): Record<string, unknown> {
  let text: string;
  try {
    text = decoder.decode(body);
  } catch {
    throw new FrameError("Message is not valid UTF-8");
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new FrameError("Message is not valid JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new FrameError("Message is not a JSON object");
  }
  return value as Record<string, unknown>;
}

/**
 * Frames the body the caller placed at `frame[HEADER_BYTES..]`: writes the DATA header into
 * the first {@link HEADER_BYTES} bytes (checking the length like every header) and returns
 * `frame`. Senders reserve the header room in their read buffer, so a chunk goes out without
 * a copy.
 */
export function writeDataHeader(frame: Uint8Array): Uint8Array {
  if (frame.length < HEADER_BYTES) {
    throw new RangeError(`A DATA frame needs ${HEADER_BYTES} header bytes, got ${frame.length}`);
  }
  writeHeader(frame, 0, FRAME_DATA, frame.length - HEADER_BYTES);
  return frame;
}
