/**
 * Where the client keeps session tickets between commands: one file per server and user in
 * the user's config folder, mode 0600 in a 0700 folder, each holding the sealed ticket, its
 * key and its expiry. See docs/security.md for why keeping it is safe.
 * @module
 */
import { createHash } from "node:crypto";
import { writeFileAtomic } from "../atomic_file.ts";
import { b64, unb64 } from "../auth/scram.ts";

/** A session ticket as the client keeps it. */
export interface StoredTicket {
  /** The sealed ticket, opaque to the client. */
  ticket: string;
  /** The ticket key K the client derived from its full login (never sent). */
  key: Uint8Array;
  /** When the server stops taking it, ms since the epoch. */
  expires: number;
}

/** Keeps at most one ticket per server (`host:port`) and user. */
export interface TicketStore {
  /** The ticket for `server` and `user`, unless there is none or it has expired. */
  get(server: string, user: string): Promise<StoredTicket | null>;
  /** Keeps a fresh ticket, replacing the one before. */
  put(server: string, user: string, ticket: StoredTicket): Promise<void>;
  /** Forgets the ticket (the server refused it). */
  delete(server: string, user: string): Promise<void>;
}

/**
 * Tickets in files under `dir` (usually `~/.config/fileshare/tickets`). A file name is a hash
 * of server and user, so the folder listing names neither. Failures to read or write a ticket
 * never fail a command: the client then logs in with the password, as without a ticket.
 *
 * @example
 * ```ts
 * import { FileTicketStore } from "./ticket_store.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const store = new FileTicketStore(dir);
 * await store.put("127.0.0.1:9000", "alice", {
 *   ticket: "opaque", key: new Uint8Array(32), expires: Date.now() + 60_000,
 * });
 * console.log((await store.get("127.0.0.1:9000", "alice"))?.ticket); // "opaque"
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class FileTicketStore implements TicketStore {
  #dir: string;

  /** Creates a store in `dir` (made with mode 0700 when the first ticket is kept). */
  constructor(dir: string) {
    this.#dir = dir;
  }

  #path(server: string, user: string): string {
    const id = createHash("sha256").update(`${server}\u0000${user}`).digest("hex").slice(0, 32);
    return `${this.#dir}/${id}.json`;
  }

  /** The ticket for `server` and `user`, unless there is none or it has expired. */
  async get(server: string, user: string): Promise<StoredTicket | null> {
    let data: Record<string, unknown>;
    try {
      data = JSON.parse(await Deno.readTextFile(this.#path(server, user)));
    } catch {
      return null;
    }
    // A ticket that is about to expire would only cost a refused round trip.
    if (
      data.server !== server || data.user !== user || typeof data.ticket !== "string" ||
      typeof data.key !== "string" || typeof data.expires !== "number" ||
      data.expires < Date.now() + 5_000
    ) {
      await this.delete(server, user);
      return null;
    }
    try {
      return { ticket: data.ticket, key: unb64(data.key), expires: data.expires };
    } catch {
      return null;
    }
  }

  /** Keeps a fresh ticket (mode 0600), replacing the one before. */
  async put(server: string, user: string, t: StoredTicket): Promise<void> {
    try {
      await Deno.mkdir(this.#dir, { recursive: true, mode: 0o700 });
      const text = JSON.stringify({
        server,
        user,
        ticket: t.ticket,
        key: b64(t.key),
        expires: t.expires,
      });
      await writeFileAtomic(this.#path(server, user), text + "\n", 0o600);
    } catch {
      // Not kept: the next command logs in with the password.
    }
  }

  /** Forgets the ticket. */
  async delete(server: string, user: string): Promise<void> {
    await Deno.remove(this.#path(server, user)).catch(() => {});
  }
}
