/**
 * A real NATS JetStream cluster on loopback for tests and benchmarks: `nats-server` child
 * processes with temp store folders, free ports and cluster routes between them.
 */

/** Whether `nats-server` is on the PATH (CI installs it; see .ci/run). */
export function natsServerPath(): string | null {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":").concat(["/usr/sbin", "/usr/bin"])) {
    try {
      const p = `${dir}/nats-server`;
      if (Deno.statSync(p).isFile) return p;
    } catch {
      // not here
    }
  }
  return null;
}

/**
 * A free port below the kernel's ephemeral range (32768 and up on Linux). A port the kernel
 * handed out for port 0 and that was given back can be taken again by any outgoing socket of
 * a test running meanwhile before nats-server binds it (seen: "can't listen to the monitor
 * port: bind: address already in use"); ports below the range are only ever bound on purpose.
 */
function freePort(taken: Set<number>): number {
  for (let tries = 0; tries < 1000; tries++) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    if (taken.has(port)) continue;
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
      taken.add(port);
      return port;
    } catch {
      // in use: another
    }
  }
  throw new Error("No free port found for a NATS node");
}

/** How often a cluster start is retried on fresh ports when a node cannot bind its own. */
const START_ATTEMPTS = 3;

interface Node {
  name: string;
  port: number;
  http: number;
  clusterPort: number;
  dir: string;
  config: string;
  child: Deno.ChildProcess | null;
}

/** A running cluster; nodes can be killed (SIGKILL) and restarted with their data. */
export class NatsCluster {
  #nodes: Node[];
  #dir: string;
  #bin: string;

  private constructor(nodes: Node[], dir: string, bin: string) {
    this.#nodes = nodes;
    this.#dir = dir;
    this.#bin = bin;
  }

  /**
   * Starts `size` nodes (1 for a single server) and waits until JetStream is ready; on a port
   * another process took meanwhile, starts again on fresh ports.
   */
  static async start(size = 3): Promise<NatsCluster> {
    for (let attempt = 1;; attempt++) {
      try {
        return await NatsCluster.#start(size);
      } catch (err) {
        if (attempt >= START_ATTEMPTS || !String(err).includes("address already in use")) throw err;
      }
    }
  }

  static async #start(size: number): Promise<NatsCluster> {
    const bin = natsServerPath();
    if (bin === null) throw new Error("nats-server is not installed (apt-get install nats-server)");
    const dir = await Deno.makeTempDir({ prefix: "fileshare-nats-" });
    const nodes: Node[] = [];
    const taken = new Set<number>();
    for (let i = 0; i < size; i++) {
      nodes.push({
        name: `n${i + 1}`,
        port: freePort(taken),
        http: freePort(taken),
        clusterPort: freePort(taken),
        dir: `${dir}/n${i + 1}`,
        config: `${dir}/n${i + 1}.conf`,
        child: null,
      });
    }
    for (const n of nodes) {
      const routes = nodes.map((o) => `"nats://127.0.0.1:${o.clusterPort}"`).join(", ");
      const cluster = size > 1
        ? `cluster { name: fileshare, listen: "127.0.0.1:${n.clusterPort}", routes: [${routes}] }`
        : "";
      await Deno.writeTextFile(
        n.config,
        `server_name: ${n.name}
listen: "127.0.0.1:${n.port}"
http: "127.0.0.1:${n.http}"
max_payload: 1048576
jetstream { store_dir: "${n.dir}", max_memory_store: 64MB, max_file_store: 4GB }
${cluster}
`,
      );
    }
    const cluster = new NatsCluster(nodes, dir, bin);
    try {
      await Promise.all(nodes.map((_, i) => cluster.restart(i)));
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  /** `host:port` of every node. */
  get servers(): string[] {
    return this.#nodes.map((n) => `127.0.0.1:${n.port}`);
  }

  /** Process ids of the running nodes (for CPU accounting). */
  get pids(): number[] {
    return this.#nodes.flatMap((n) => (n.child ? [n.child.pid] : []));
  }

  /** The HTTP monitoring address of node `i` (`/varz`, `/connz`...). */
  monitor(i: number): string {
    return `http://127.0.0.1:${this.#nodes[i].http}`;
  }

  /** The `--store` value for the server CLI. */
  get url(): string {
    return `nats://${this.servers.join(",")}`;
  }

  /** Kills node `i` with SIGKILL (no clean shutdown). */
  async kill(i: number): Promise<void> {
    const child = this.#nodes[i].child;
    if (child === null) return;
    this.#nodes[i].child = null;
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await child.status;
  }

  /** (Re)starts node `i` on its ports and data, and waits until it reports healthy. */
  async restart(i: number): Promise<void> {
    const n = this.#nodes[i];
    if (n.child !== null) return;
    const child = new Deno.Command(this.#bin, {
      args: ["-c", n.config, "-l", `${n.dir}.log`],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    n.child = child;
    let exited = false;
    child.status.then(() => (exited = true));
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        const res = await fetch(`http://127.0.0.1:${n.http}/healthz`);
        const ok = res.ok;
        await res.body?.cancel();
        if (ok) return;
      } catch {
        // not listening yet
      }
      // A node that could not start (a port taken, a bad config) has exited: no use waiting.
      if (exited || Date.now() > deadline) {
        if (exited && n.child === child) n.child = null;
        const log = await Deno.readTextFile(`${n.dir}.log`).catch(() => "");
        throw new Error(`NATS node ${n.name} did not become healthy:\n${log.slice(-2000)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Stops every node and removes the data. */
  async stop(): Promise<void> {
    await Promise.all(this.#nodes.map((_, i) => this.kill(i)));
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }
}
