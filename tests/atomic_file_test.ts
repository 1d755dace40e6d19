import assert from "node:assert/strict";
import { AtomicFile } from "../lib/atomic_file.ts";
import { writeAll } from "../lib/write_all.ts";

const enc = new TextEncoder();

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "fileshare-atomic-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("AtomicFile.commit() moves the whole file into place and leaves no temporary", async () => {
  await withDir(async (dir) => {
    const target = `${dir}/t.txt`;
    await Deno.writeTextFile(target, "old");
    const file = await AtomicFile.create(target, { temp: `${dir}/.t.part`, overwrite: true });
    await writeAll(file, enc.encode("new"));
    assert.equal(await Deno.readTextFile(target), "old", "the target is untouched until commit");
    await file.commit();
    assert.equal(await Deno.readTextFile(target), "new");
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["t.txt"]);
  });
});

Deno.test("AtomicFile.commit() without overwrite refuses a target that appeared", async () => {
  await withDir(async (dir) => {
    const target = `${dir}/t.txt`;
    const file = await AtomicFile.create(target, { temp: `${dir}/.t.part`, overwrite: false });
    await writeAll(file, enc.encode("mine"));
    await Deno.writeTextFile(target, "theirs");
    await assert.rejects(file.commit(), Deno.errors.AlreadyExists);
    assert.equal(await Deno.readTextFile(target), "theirs");
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["t.txt"]);
  });
});

Deno.test("AtomicFile.abort() and await using drop the temporary file", async () => {
  await withDir(async (dir) => {
    {
      await using file = await AtomicFile.create(`${dir}/a`, {
        temp: `${dir}/.a`,
        overwrite: true,
      });
      await writeAll(file, enc.encode("x"));
    }
    const file = await AtomicFile.create(`${dir}/b`, { temp: `${dir}/.b`, overwrite: true });
    await file.abort();
    await file.abort();
    await assert.rejects(file.commit(), Deno.errors.BadResource);
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  });
});

Deno.test("AtomicFile.create() never reuses an existing temporary name", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/.c`, "someone else's");
    await assert.rejects(
      AtomicFile.create(`${dir}/c`, { temp: `${dir}/.c`, overwrite: true }),
      Deno.errors.AlreadyExists,
    );
    assert.equal(await Deno.readTextFile(`${dir}/.c`), "someone else's");
  });
});
