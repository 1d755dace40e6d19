/**
 * Brute-force defence per remote address, across all its connections: failed logins beyond
 * a few free ones make every further attempt from that address wait its turn, one at a time,
 * with a pause that grows with each failure (so never more than one guess a second); beyond
 * the ban threshold within the window the address is refused outright for a while. Trusted
 * networks can be exempted. Other addresses are never affected.
 * @module
 */
import { type Cidr, cidrContains } from "./cidr.ts";

/** Settings of a {@link LoginGuard}. */
export interface LoginGuardOptions {
  /** Failures in the window answered without delay (default 5). */
  freeFailures?: number;
  /** Failures in the window after which the address is banned (default 20). */
  banFailures?: number;
  /** How far back failures count (ms, default 15 minutes). */
  windowMs?: number;
  /** How long a ban lasts (ms, default 15 minutes). */
  banMs?: number;
  /** Pause between attempts after the first delayed failure (ms, default 1 s); it grows by this much with each further failure. */
  stepMs?: number;
  /** Longest pause between two attempts (ms, default 30 s). */
  maxDelayMs?: number;
  /** Networks never delayed or banned. */
  allow?: Cidr[];
  /** Clock, for tests (default Date.now). */
  now?: () => number;
}

/** Defaults of {@link LoginGuardOptions}. */
export const LOGIN_GUARD_DEFAULTS = {
  freeFailures: 5,
  banFailures: 20,
  windowMs: 15 * 60_000,
  banMs: 15 * 60_000,
  stepMs: 1000,
  maxDelayMs: 30_000,
} as const;

interface AddressState {
  /** Times of failures in the window, oldest first. */
  failures: number[];
  /** Earliest time the next attempt may be checked. */
  nextSlot: number;
  /** Banned until this time (0: not banned). */
  bannedUntil: number;
}

/** What a failure led to, for the log. */
export type FailureOutcome =
  | { kind: "none"; failures: number }
  | { kind: "delay"; failures: number; delayMs: number }
  | { kind: "ban"; failures: number; untilMs: number };

/** Most addresses tracked at once; the least recently failing are forgotten first. */
const MAX_TRACKED = 65_536;

/**
 * Tracks failed logins per address and decides how long the next attempt waits.
 *
 * @example
 * ```ts
 * import { LoginGuard } from "./login_guard.ts";
 *
 * const guard = new LoginGuard({ freeFailures: 5, banFailures: 20 });
 * for (let i = 0; i < 6; i++) guard.failed("203.0.113.7");
 * console.log(guard.reserve("203.0.113.7")); // { waitMs: 1000 }: one try a second at most
 * console.log(guard.reserve("198.51.100.1")); // { waitMs: 0 }: other addresses go on
 * ```
 */
export class LoginGuard {
  #o: Required<Omit<LoginGuardOptions, "allow" | "now">>;
  #allow: Cidr[];
  #now: () => number;
  #state = new Map<string, AddressState>();

  /** Creates a guard with the given limits. */
  constructor(options: LoginGuardOptions = {}) {
    this.#o = {
      freeFailures: options.freeFailures ?? LOGIN_GUARD_DEFAULTS.freeFailures,
      banFailures: options.banFailures ?? LOGIN_GUARD_DEFAULTS.banFailures,
      windowMs: options.windowMs ?? LOGIN_GUARD_DEFAULTS.windowMs,
      banMs: options.banMs ?? LOGIN_GUARD_DEFAULTS.banMs,
      stepMs: options.stepMs ?? LOGIN_GUARD_DEFAULTS.stepMs,
      maxDelayMs: options.maxDelayMs ?? LOGIN_GUARD_DEFAULTS.maxDelayMs,
    };
    this.#allow = options.allow ?? [];
    this.#now = options.now ?? Date.now;
  }

  /** Failures in the window answered without delay. */
  get freeFailures(): number {
    return this.#o.freeFailures;
  }

  /** Whether `address` is in a trusted network. */
  trusted(address: string): boolean {
    return this.#allow.some((n) => cidrContains(n, address));
  }

  /** When the ban of `address` ends (ms since the epoch), or null when it is not banned. */
  bannedUntil(address: string): number | null {
    const s = this.#state.get(address);
    if (s === undefined || s.bannedUntil <= this.#now()) return null;
    return s.bannedUntil;
  }

  #fresh(address: string): AddressState | undefined {
    const s = this.#state.get(address);
    if (s === undefined) return undefined;
    const now = this.#now();
    while (s.failures.length > 0 && s.failures[0] <= now - this.#o.windowMs) s.failures.shift();
    if (s.failures.length === 0 && s.bannedUntil <= now && s.nextSlot <= now) {
      this.#state.delete(address);
      return undefined;
    }
    return s;
  }

  /** The pause after the `n`th failure: none up to the free ones, then growing. */
  #delayAfter(n: number): number {
    if (n <= this.#o.freeFailures) return 0;
    return Math.min(this.#o.stepMs * (n - this.#o.freeFailures), this.#o.maxDelayMs);
  }

  /**
   * Takes the next turn of `address` to have a login attempt checked: how long to wait
   * first, or `banned` with the ban's end. Attempts from one address are spaced by the
   * current pause, whatever connection they come on.
   */
  reserve(address: string): { waitMs: number } | { bannedUntil: number } {
    if (this.trusted(address)) return { waitMs: 0 };
    const s = this.#fresh(address);
    if (s === undefined) return { waitMs: 0 };
    const now = this.#now();
    if (s.bannedUntil > now) return { bannedUntil: s.bannedUntil };
    const delay = this.#delayAfter(s.failures.length);
    if (delay === 0) return { waitMs: 0 };
    const slot = Math.max(now, s.nextSlot);
    s.nextSlot = slot + delay;
    return { waitMs: slot - now };
  }

  /** Records a failed login from `address`; says whether it started a delay or a ban. */
  failed(address: string): FailureOutcome {
    if (this.trusted(address)) return { kind: "none", failures: 0 };
    const now = this.#now();
    let s = this.#fresh(address);
    if (s === undefined) {
      if (this.#state.size >= MAX_TRACKED) {
        // Maps iterate in insertion order: the first is the longest untouched.
        this.#state.delete(this.#state.keys().next().value!);
      }
      s = { failures: [], nextSlot: 0, bannedUntil: 0 };
    } else {
      this.#state.delete(address);
    }
    this.#state.set(address, s);
    s.failures.push(now);
    // Keep no more than a ban's worth of times.
    if (s.failures.length > this.#o.banFailures + 1) s.failures.shift();
    const n = s.failures.length;
    if (n > this.#o.banFailures) {
      s.bannedUntil = now + this.#o.banMs;
      s.failures = [];
      return { kind: "ban", failures: n, untilMs: s.bannedUntil };
    }
    const delayMs = this.#delayAfter(n);
    if (delayMs === 0) return { kind: "none", failures: n };
    s.nextSlot = Math.max(s.nextSlot, now + delayMs);
    return { kind: "delay", failures: n, delayMs };
  }
}
