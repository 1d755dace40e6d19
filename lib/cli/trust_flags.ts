import { UsageError } from "./errors.ts";
import { env } from "./credentials.ts";
import { promptLine } from "./password.ts";
import { userPath } from "./paths.ts";
import { parseFingerprint } from "../tls/fingerprint.ts";
import { defaultKnownServersPath, KnownServers } from "../tls/known_servers.ts";
import type { ServerTrust, TrustQuestion } from "../tls/trust.ts";

/** The client's TLS flags, for node:util parseArgs. */
export const TRUST_FLAGS = {
  tls: { type: "boolean", default: false },
  "no-tls": { type: "boolean", default: false },
  ca: { type: "string" },
  trust: { type: "string", multiple: true },
} as const;

/** Client TLS flags with value, for telling flags' values apart from commands. */
export const TRUST_VALUE_FLAGS: readonly string[] = ["--ca", "--trust"];

/** Parsed values of {@link TRUST_FLAGS}. */
export interface TrustFlagValues {
  tls: boolean;
  "no-tls": boolean;
  ca?: string;
  trust?: string[];
}

/** Usage lines of the TLS flags. */
export const TRUST_USAGE =
  `  --ca FILE            trust servers whose certificate this CA (or this very
                       self-signed certificate, PEM) vouches for
  --trust FINGERPRINT  trust the server with this SHA-256 certificate fingerprint
                       (64 hex digits as the server prints them; env FILESHARE_TRUST)
  --no-tls             no encryption, only for a server run with --no-tls
                       (--tls, the default, verifies the server: see "Certificates")`;

function fingerprints(texts: string[]): string[] {
  const out: string[] = [];
  for (const t of texts) {
    for (const part of t.split(/[\s,]+/).filter((p) => p.length > 0)) {
      try {
        out.push(parseFingerprint(part));
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
    }
  }
  return out;
}

/** The question shown for an unknown server, as ssh asks it. */
export function trustQuestionText(q: TrustQuestion, file: string): string {
  return [
    `The authenticity of server ${q.server} can't be established.`,
    `Its TLS certificate ("${q.certificate.subject}") has the SHA-256 fingerprint`,
    `  ${q.certificate.fingerprint}`,
    "Compare it with the fingerprint the server printed when it started.",
    `Trust this server and remember it in ${file}?`,
  ].join("\n");
}

/** Asks on the terminal; "yes" or the fingerprint itself (pasted) accepts. */
async function askOnTerminal(q: TrustQuestion, file: string): Promise<boolean> {
  console.error(trustQuestionText(q, file));
  for (;;) {
    const answer = await promptLine("Type yes, no or the fingerprint: ");
    if (answer === null) return false;
    const a = answer.trim().toLowerCase();
    if (a === "yes" || a === "y") return true;
    if (a === "no" || a === "n" || a === "") return false;
    try {
      if (parseFingerprint(a) === q.certificate.fingerprint) return true;
      console.error("That fingerprint does not match the server's.");
      return false;
    } catch {
      // neither an answer nor a fingerprint: ask again
    }
  }
}

/**
 * How the client trusts servers, from `--ca`, `--trust`, FILESHARE_TRUST and the
 * known-servers file, asking on a terminal when `interactive`; false with `--no-tls`.
 *
 * @throws {UsageError} for contradicting flags or a malformed fingerprint
 */
export async function trustFromFlags(
  values: TrustFlagValues,
  interactive: boolean,
): Promise<ServerTrust | false> {
  if (values["no-tls"]) {
    if (values.tls) throw new UsageError("--tls and --no-tls contradict each other");
    if (values.ca !== undefined || values.trust !== undefined) {
      throw new UsageError("--ca and --trust verify a TLS server: drop --no-tls");
    }
    return false;
  }
  const trust: ServerTrust = {
    fingerprints: fingerprints([...(values.trust ?? []), env("FILESHARE_TRUST") ?? ""]),
  };
  if (values.ca !== undefined) {
    try {
      trust.ca = await Deno.readTextFile(userPath(values.ca));
    } catch (err) {
      throw new UsageError(`Cannot read --ca "${values.ca}": ${(err as Error).message}`);
    }
  }
  let path: string | undefined;
  try {
    path = defaultKnownServersPath();
  } catch {
    // no home folder: no known-servers file
  }
  if (path !== undefined) {
    trust.knownServers = await KnownServers.load(path);
    const file = path;
    if (interactive) trust.ask = (q) => askOnTerminal(q, file);
  }
  return trust;
}
