import type { ErrorCode } from "../protocol/codes.ts";

/** Event names of the activity log (docs/log-format.md). */
export const EVENT_NAMES = [
  "server_start",
  "server_stop",
  "connect",
  "auth_ok",
  "auth_fail",
  "upload",
  "download",
  "delete",
  "dir",
  "mkdir",
  "rmdir",
  "df",
  "rename",
  "error",
  "disconnect",
  "bench_start",
  "bench_end",
  "auth_throttle",
  "auth_ban",
] as const;

/** One of the activity log's event names. */
export type EventName = typeof EVENT_NAMES[number];

/** One activity log line before `ts` is added. */
export interface ActivityEvent {
  event: EventName;
  ok: boolean;
  conn?: number;
  remote?: string;
  user?: string;
  path?: string;
  bytes?: number;
  size?: number;
  ms?: number;
  sha256?: string;
  code?: ErrorCode;
  message?: string;
  run?: string;
  /** A folded line stands for itself and this many more like it (see FailureAggregator). */
  repeated?: number;
  [extra: string]: unknown;
}
