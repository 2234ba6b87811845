import { JetStreamApiError } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { WalError } from '@wal/codec';
import { remoteError } from './errors.js';

const RETRY_MIN_MS = 50;
const RETRY_MAX_MS = 2_000;

/**
 * True for a failure that a later try may not meet: a timeout, no
 * responders, a lost connection, or the cluster answering 503 while it
 * elects a leader. A refusal (a 4xx API error), a closed connection or an
 * error of ours is final.
 */
export function isTransient(nats: NatsConnection, error: unknown): boolean {
  if (WalError.isInstance(error) || nats.isClosed()) return false;
  if (error instanceof JetStreamApiError) return error.status >= 500 || error.status === 408;
  return !(error instanceof Error && /max.?payload/i.test(error.message));
}

/**
 * Runs `attempt` until it succeeds, retrying transient failures with
 * backoff (50 ms doubling to 2 s) for up to `timeoutMs`; then, or on a final
 * failure, rejects with `WAL_REMOTE_ERROR` naming `what` (a WalError passes
 * through as it is).
 */
export async function retrying<T>(
  nats: NatsConnection,
  what: string,
  timeoutMs: number,
  attempt: () => Promise<T>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = RETRY_MIN_MS; ; delay = Math.min(delay * 2, RETRY_MAX_MS)) {
    try {
      return await attempt();
    } catch (error) {
      if (WalError.isInstance(error)) throw error;
      if (!isTransient(nats, error) || Date.now() + delay > deadline)
        throw remoteError(what, error);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
