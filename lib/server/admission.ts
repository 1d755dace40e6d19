/** Limits of {@link Admission}. */
export interface AdmissionLimits {
  /** Connections served at once. */
  maxConnections: number;
  /** Connections from one address at once. */
  maxPerAddress: number;
  /** Connections not yet logged in at once; kept below the total so users always have room. */
  maxUnauthenticated: number;
}

/** A connection the admission counts; `evict` closes it when its place is needed. */
export interface AdmittedConn {
  /** The peer's address without the port. */
  readonly address: string;
  /** Closes the connection at once (it has not logged in yet). */
  evict(): void;
}

/**
 * Decides which new connections are served: a total cap, a per-address cap, and a smaller
 * cap on connections that have not logged in. When that last cap is full, the oldest
 * connection still not logged in makes room (most often an idle flood), so a real user who
 * connects and logs in promptly gets in during a flood from many addresses.
 */
export class Admission {
  #limits: AdmissionLimits;
  #perAddress = new Map<string, number>();
  #unauthenticated = new Set<AdmittedConn>();
  #total = 0;

  /** Creates an admission with the given limits. */
  constructor(limits: AdmissionLimits) {
    this.#limits = limits;
  }

  /** Connections counted now. */
  get total(): number {
    return this.#total;
  }

  /** Connections not yet logged in now. */
  get unauthenticated(): number {
    return this.#unauthenticated.size;
  }

  /**
   * Admits a new connection (counted as not logged in), or returns why it is refused. May
   * evict the oldest connection that has not logged in.
   */
  admit(conn: AdmittedConn): string | null {
    const l = this.#limits;
    if (this.#total >= l.maxConnections) {
      return `Server is at its limit of ${l.maxConnections} connections`;
    }
    const fromAddress = this.#perAddress.get(conn.address) ?? 0;
    if (fromAddress >= l.maxPerAddress) {
      return `Too many connections from ${conn.address} (limit ${l.maxPerAddress})`;
    }
    if (this.#unauthenticated.size >= l.maxUnauthenticated) {
      const oldest = this.#unauthenticated.values().next().value;
      if (oldest === undefined) return `Server is at its limit of connections`;
      this.#unauthenticated.delete(oldest);
      oldest.evict();
    }
    this.#perAddress.set(conn.address, fromAddress + 1);
    this.#unauthenticated.add(conn);
    this.#total++;
    return null;
  }

  /** The connection logged in: it no longer counts against the cap of those that did not. */
  authenticated(conn: AdmittedConn): void {
    this.#unauthenticated.delete(conn);
  }

  /** The connection ended. */
  release(conn: AdmittedConn): void {
    this.#unauthenticated.delete(conn);
    const n = (this.#perAddress.get(conn.address) ?? 1) - 1;
    if (n <= 0) this.#perAddress.delete(conn.address);
    else this.#perAddress.set(conn.address, n);
    this.#total--;
  }
}
