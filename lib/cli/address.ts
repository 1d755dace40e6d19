import { UsageError } from "./errors.ts";

/** The default server address. */
export const DEFAULT_SERVER = "127.0.0.1:9000";

/** Parses `HOST:PORT`, `[IPv6]:PORT` or `HOST` (port 9000). */
export function parseServerAddress(text: string): { hostname: string; port: number } {
  const m = /^\[([0-9A-Fa-f:.]+)\](?::(\d+))?$/.exec(text) ?? /^([^:\s]+)(?::(\d+))?$/.exec(text);
  if (!m) throw new UsageError(`Invalid server address "${text}": expected HOST:PORT`);
  const port = m[2] === undefined ? 9000 : Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageError(`Invalid port in "${text}": expected 1-65535`);
  }
  return { hostname: m[1], port };
}
