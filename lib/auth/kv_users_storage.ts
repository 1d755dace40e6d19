import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstream } from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import { UsersError, type UsersStorage } from "./users.ts";

/** Options of {@link KvUsersStorage.open}. */
export interface KvUsersOptions {
  /** NATS servers, `host:port` each. */
  servers: string[];
  /** The file bucket's name; users live in the KV bucket `<bucket>-users`. */
  bucket: string;
  /** Replicas of a bucket created now (default 3 on a cluster, 1 on a single node). */
  replicas?: number;
  /** Request timeout (ms, default 10 000). */
  timeoutMs?: number;
}

const KEY = "users";

/**
 * The users document in a NATS KV bucket shared by every server of a cluster. Saves are
 * compare-and-set on the entry's revision, so two concurrent `server user add` never lose
 * each other's change silently (the second is told to try again).
 */
export class KvUsersStorage implements UsersStorage, AsyncDisposable {
  #nc: NatsConnection;
  #kv: KV;
  readonly describe: string;

  private constructor(nc: NatsConnection, kv: KV, describe: string) {
    this.#nc = nc;
    this.#kv = kv;
    this.describe = describe;
  }

  /** Connects and opens (creating on first use) the users bucket. */
  static async open(options: KvUsersOptions): Promise<KvUsersStorage> {
    const name = `${options.bucket}-users`;
    const describe = `nats://${options.servers.join(",")}/${name}`;
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers: options.servers,
        name: "fileshare-users",
        timeout: options.timeoutMs ?? 10_000,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
      });
    } catch (err) {
      throw new UsersError(
        `Cannot reach NATS at ${options.servers.join(", ")} (${(err as Error).message})`,
        { cause: err },
      );
    }
    try {
      const js = jetstream(nc, { timeout: options.timeoutMs ?? 10_000 });
      const replicas = options.replicas ?? (nc.info?.cluster ? 3 : 1);
      const kv = await new Kvm(js).create(name, { replicas, history: 5 });
      return new KvUsersStorage(nc, kv, describe);
    } catch (err) {
      await nc.close().catch(() => {});
      throw new UsersError(`Cannot open users bucket "${describe}": ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  async read(): Promise<{ text: string; version: string } | null> {
    const e = await this.#get();
    return e === null ? null : { text: e.string(), version: String(e.revision) };
  }

  async version(): Promise<string | null> {
    const e = await this.#get();
    return e === null ? null : String(e.revision);
  }

  async #get() {
    try {
      const e = await this.#kv.get(KEY);
      return e === null || e.operation !== "PUT" ? null : e;
    } catch (err) {
      throw new UsersError(`Cannot read users from "${this.describe}": ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  async write(text: string, expected: string | null): Promise<string> {
    try {
      const rev = expected === null
        ? await this.#kv.create(KEY, text)
        : await this.#kv.update(KEY, text, Number(expected));
      return String(rev);
    } catch (err) {
      const msg = (err as Error).message;
      if (/wrong last sequence|key exists/i.test(msg)) {
        throw new UsersError("Users were changed meanwhile through another server: try again", {
          cause: err,
        });
      }
      throw new UsersError(`Cannot save users to "${this.describe}": ${msg}`, { cause: err });
    }
  }

  /** Closes the connection. */
  async close(): Promise<void> {
    await this.#nc.close().catch(() => {});
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
