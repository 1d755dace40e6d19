/** Fewest characters a new password may have unless the administrator allows a weak one. */
export const MIN_PASSWORD_LENGTH = 10;

/**
 * Why `password` is too weak for a new account or password, or null when it is acceptable.
 * Length is counted in characters (code points), not bytes. Online guessing is slowed by the
 * server (see docs/security.md), but a short password falls to an offline search of a stolen
 * users file within hours whatever the iteration count, so the floor is set here.
 *
 * @example
 * ```ts
 * import { weakPasswordReason } from "./password_policy.ts";
 *
 * console.log(weakPasswordReason("hunter2")); // "... at least 10 characters ..."
 * console.log(weakPasswordReason("correct horse battery")); // null
 * ```
 */
export function weakPasswordReason(password: string): string | null {
  const length = [...password].length;
  if (length >= MIN_PASSWORD_LENGTH) return null;
  return `Password is too short: ${length} characters, at least ${MIN_PASSWORD_LENGTH} are ` +
    `needed because short passwords are guessed quickly from a stolen users file ` +
    `(use a longer one, or --allow-weak to accept it anyway)`;
}
