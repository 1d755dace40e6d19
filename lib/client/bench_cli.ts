import { UsageError } from "../cli/errors.ts";

/** `client bench ...`: load test against a running server (see issue 5). */
export function benchMain(_args: string[]): Promise<number> {
  return Promise.reject(new UsageError("client bench is not built yet"));
}
