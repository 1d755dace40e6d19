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
