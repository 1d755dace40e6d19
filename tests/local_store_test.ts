import assert from "node:assert/strict";
import { parseRemotePath } from "../lib/store/paths.ts";
import { LocalStore } from "../lib/store/local_store.ts";
import { CHUNK_BYTES } from "../lib/transfer.ts";
import { storeContract } from "./_store_contract.ts";

storeContract("LocalStore", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fileshare-store-" });
  return {
    open: () => LocalStore.open(`${dir}/root`, { fsync: false }),
    chunk: CHUNK_BYTES,
    dispose: () => Deno.remove(dir, { recursive: true }),
  };
});

Deno.test("LocalStore.usage() counts regular files once and follows no link", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fileshare-usage-" });
  try {
    const store = await LocalStore.open(`${dir}/root`, { fsync: false });
    await Deno.mkdir(`${dir}/root/sub`);
    await Deno.writeFile(`${dir}/root/sub/big.bin`, new Uint8Array(100));
    await Deno.writeFile(`${dir}/outside.bin`, new Uint8Array(1000));
    await Deno.symlink("sub/big.bin", `${dir}/root/file-link`);
    await Deno.symlink("sub", `${dir}/root/dir-link`);
    await Deno.symlink("..", `${dir}/root/sub/loop`);
    await Deno.symlink(`${dir}/outside.bin`, `${dir}/root/out-link`);
    const p = (text: string) => parseRemotePath(text);
    assert.equal(await store.usage(p("")), 100);
    assert.equal(await store.usage(p("sub")), 100);
    assert.equal(
      await store.usage(p("file-link")),
      0,
      "a link replaced by an upload frees nothing",
    );
    assert.equal(await store.usage(p("out-link")), 0);
    await store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
