/**
 * The traversal corpus (tests/data/hostile_paths.json) against every command of a real server,
 * over raw frames so that no client-side check hides a server defect.
 */
import assert from "node:assert/strict";
import type { FrameConn } from "../lib/protocol/conn.ts";
import { listTree, rawSession, startServer, type TestServer } from "./_helpers.ts";

/** One corpus entry: a literal path, a repeated piece, or raw UTF-16 code units. */
interface CorpusEntry {
  path?: string;
  repeat?: string;
  count?: number;
  suffix?: string;
  units?: number[];
  why: string;
  code: "BAD_REQUEST" | "DENIED";
}

/** The corpus with each entry's path spelled out. */
export async function loadCorpus(): Promise<(CorpusEntry & { path: string })[]> {
  const url = new URL("./data/hostile_paths.json", import.meta.url);
  const entries: CorpusEntry[] = JSON.parse(await Deno.readTextFile(url));
  return entries.map((e) => {
    if (e.path !== undefined) return { ...e, path: e.path };
    if (e.units !== undefined) return { ...e, path: String.fromCharCode(...e.units) };
    return { ...e, path: e.repeat!.repeat(e.count!) + (e.suffix ?? "") };
  });
}

/** Every file, folder and link below `dir` with file contents and link targets. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (abs: string, rel: string) => {
    for await (const e of Deno.readDir(abs)) {
      const p = `${abs}/${e.name}`;
      const r = rel + e.name;
      if (e.isSymlink) out.set(r, `-> ${await Deno.readLink(p)}`);
      else if (e.isDirectory) {
        out.set(r + "/", "");
        await walk(p, r + "/");
      } else if (e.name !== "log.jsonl") out.set(r, await Deno.readTextFile(p));
    }
  };
  await walk(dir, "");
  return out;
}

/** A tree with escaping links inside the root and secrets next to it. */
async function plant(srv: TestServer): Promise<void> {
  const outside = `${srv.dir}/outside`;
  await Deno.mkdir(`${outside}/sub`, { recursive: true });
  await Deno.writeTextFile(`${outside}/secret.txt`, "secret");
  await Deno.writeTextFile(`${outside}/sub/deep.txt`, "deep");
  await Deno.writeTextFile(`${srv.dir}/x`, "sibling");
  await Deno.mkdir(`${srv.root}/inside/d`, { recursive: true });
  await Deno.writeTextFile(`${srv.root}/inside/ok.txt`, "ok");
  await Deno.symlink(outside, `${srv.root}/link`);
  await Deno.symlink("../../outside", `${srv.root}/inside/uplink`);
}

const COMMANDS = ["upload", "download", "dir", "delete", "mkdir", "rmdir"] as const;

function request(op: typeof COMMANDS[number], path: string): Record<string, unknown> {
  if (op === "upload") return { op, path, size: 6, overwrite: true };
  if (op === "rmdir") return { op, path, recursive: true };
  return { op, path };
}

async function ask(
  conn: FrameConn,
  msg: Record<string, unknown>,
): Promise<Record<string, unknown> | null> {
  try {
    await conn.send(msg);
    return await conn.readMessage();
  } catch {
    return null;
  }
}

Deno.test("every command refuses each path of the hostile corpus and nothing changes", async () => {
  await using srv = await startServer();
  await plant(srv);
  const before = await snapshot(srv.dir);
  const corpus = await loadCorpus();
  assert.ok(corpus.length >= 60, `corpus has ${corpus.length} paths`);
  let conn: FrameConn = await rawSession(srv.port);
  const failures: string[] = [];
  try {
    for (const entry of corpus) {
      for (const op of COMMANDS) {
        if (conn.closed) conn = await rawSession(srv.port);
        const label = `${op} ${JSON.stringify(entry.path.slice(0, 60))} (${entry.why})`;
        let answer = await ask(conn, request(op, entry.path));
        if (answer === null) {
          // The server closed after the previous refusal (a protocol-level one): ask again.
          conn.close();
          conn = await rawSession(srv.port);
          answer = await ask(conn, request(op, entry.path));
        }
        if (answer === null) {
          failures.push(`${label}: connection closed without an answer`);
          conn.close();
          continue;
        }
        if (answer.status !== "error") {
          failures.push(`${label}: accepted (${JSON.stringify(answer).slice(0, 80)})`);
          conn.close(); // out of step (a body or more entries may follow)
          continue;
        }
        if (answer.code !== entry.code) {
          failures.push(`${label}: ${answer.code} "${answer.message}", expected ${entry.code}`);
        }
        if (String(answer.message).includes(srv.dir)) {
          failures.push(`${label}: the answer shows a server path`);
        }
      }
    }
  } finally {
    conn.close();
  }
  assert.deepEqual(failures, []);
  assert.deepEqual(await snapshot(srv.dir), before, "something changed on the server's disk");
  // Still serving.
  await using c = await srv.connect("alice");
  assert.deepEqual((await c.list("inside")).map((e) => e.name), ["d", "ok.txt"]);
  assert.ok((await listTree(srv.root)).includes("inside/ok.txt"));
});

Deno.test("mkdir of 4 KiB of nested folders is refused at once and creates none", async () => {
  await using srv = await startServer();
  await using conn = await rawSession(srv.port);
  const started = performance.now();
  await conn.send({ op: "mkdir", path: "d/".repeat(2047) + "x" });
  const answer = await conn.expectMessage();
  const ms = performance.now() - started;
  assert.equal(answer.code, "BAD_REQUEST");
  assert.match(String(answer.message), /deeper than 64 levels/);
  assert.deepEqual(await listTree(srv.root), []);
  console.log(`deep mkdir answered in ${ms.toFixed(1)} ms`);
});
