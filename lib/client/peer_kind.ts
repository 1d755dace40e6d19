/**
 * Telling what answered at an address that does not behave like a fileshare server, so that a
 * wrong address or port is reported as such instead of as a protocol error or a hang.
 * @module
 */
import { encodeMessage, FRAME_MSG, HEADER_BYTES } from "../protocol/frame.ts";
import { helloRequest } from "../protocol/messages.ts";

/** What kind of server sent some first bytes. */
export type PeerKind = "fileshare" | "tls" | "http" | "ssh" | "other";

const ascii = (bytes: Uint8Array, text: string) =>
  bytes.length >= text.length &&
  [...text].every((c, i) => String.fromCharCode(bytes[i]).toLowerCase() === c);

/** Judges a server by the first bytes it sent (at least {@link HEADER_BYTES} when it sent them). */
export function peerKind(first: Uint8Array): PeerKind {
  // An HTTP answer, or the bare page of an HTTP/0.9 one (what a line-based server sends back
  // to a request line without a version).
  if (["http/", "<!doc", "<html", "<head"].some((t) => ascii(first, t))) return "http";
  if (ascii(first, "ssh-")) return "ssh";
  // A TLS record: handshake (0x16) or alert (0x15), protocol version 3.x.
  if ((first[0] === 0x15 || first[0] === 0x16) && first[1] === 0x03) return "tls";
  if (first[0] === FRAME_MSG && first.length >= HEADER_BYTES) return "fileshare";
  return "other";
}

const ANSWERED: Record<Exclude<PeerKind, "fileshare" | "tls">, string> = {
  http: "it answered like HTTP",
  ssh: "it answered like SSH",
  other: "it answered in another protocol",
};

/** The one line for an address where something other than a fileshare server answered. */
export function notFileshareMessage(where: string, kind: PeerKind | null): string {
  const why = kind === null
    ? "it closed the connection without answering"
    : kind === "fileshare" || kind === "tls"
    ? "it answered in another protocol"
    : ANSWERED[kind];
  return `${where} is not a fileshare server (${why}): check the address and port`;
}

/** The one line for an address that did not answer in time. */
export function noAnswerMessage(where: string, what: string, ms: number): string {
  return `${where} did not answer the ${what} in ${ms / 1000} s: ` +
    `is it a fileshare server? Check the address and port`;
}

/** How long the probe waits before it also sends what makes a line-based server answer. */
const NUDGE_MS = 1000;

/**
 * Asks `hostname:port` in clear text what it is, after a TLS handshake with it failed: sends
 * the protocol's greeting (a fileshare server run with `--no-tls` answers it), and if nothing
 * came back after a second an empty line, which a line-based server such as HTTP answers.
 * Returns the kind of the first answer, or null when the peer closed or stayed silent for
 * `timeoutMs`. Nothing but the greeting (no user name, no password) is sent.
 */
export async function probePeer(
  hostname: string,
  port: number,
  timeoutMs: number,
): Promise<PeerKind | null> {
  let conn: Deno.TcpConn;
  try {
    conn = await Deno.connect({ hostname, port });
  } catch {
    return null;
  }
  const timer = setTimeout(() => conn.close(), timeoutMs);
  const nudge = setTimeout(() => {
    conn.write(new TextEncoder().encode("\r\n\r\n")).catch(() => {});
  }, NUDGE_MS);
  try {
    await conn.write(encodeMessage(helloRequest("fileshare-probe")));
    const first = new Uint8Array(HEADER_BYTES);
    let got = 0;
    while (got < first.length) {
      const n = await conn.read(first.subarray(got));
      if (n === null) break;
      got += n;
    }
    return got === 0 ? null : peerKind(first.subarray(0, got));
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
    clearTimeout(nudge);
    try {
      conn.close();
    } catch {
      // closed by the timer
    }
  }
}
