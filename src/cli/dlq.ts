/**
 * The dead-letter queue, said the same way by every command. While it holds messages, `status`
 * and `up` finish with exit code 1 (a check failed), `replay` does not start (exit code 2)
 * unless --force, and `redrive` is what empties it.
 */
export function dlqHolds(messages: number): string {
  return `the DLQ holds ${messages} messages`;
}

/** What to do about messages in the DLQ. */
export const REDRIVE_ADVICE =
  "once their cause is fixed (`ticklake up` with TICKLAKE_DEBUG=1 prints the processor's errors), run `ticklake redrive`";
