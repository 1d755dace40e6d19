/**
 * Why a file operation failed, in words for an error line: `not found` (or `notFound`),
 * `permission denied`, `it is a folder`, else the runtime's message.
 */
export function fileErrorReason(err: unknown, notFound = "not found"): string {
  if (err instanceof Deno.errors.NotFound) return notFound;
  if (err instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (err instanceof Deno.errors.IsADirectory) return "it is a folder";
  return err instanceof Error ? err.message : String(err);
}
