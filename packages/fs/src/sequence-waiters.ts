interface Waiter<T> {
  sequence: number;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

/**
 * Promises waiting for a count that only grows (a durable sequence, a
 * replicated one, an archived segment) to pass a number. Each resolves once
 * `release` passes it, or rejects with `fail`'s error or its signal's
 * reason. A settled waiter leaves nothing behind: its abort listener goes
 * with it, so a long-lived signal does not collect them.
 */
export class SequenceWaiters<T = void> {
  readonly #waiting = new Set<Waiter<T>>();

  /** Resolves once `release(next, value)` is called with `next > sequence`. */
  wait(sequence: number, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => {
        this.#waiting.delete(waiter);
        reject(signal?.reason);
      };
      const waiter: Waiter<T> = {
        sequence,
        resolve: (value) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(value);
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiting.add(waiter);
    });
  }

  /** Resolves with `value`, in the order they came, the waiters for sequences below `next`. */
  release(next: number, value: T): void {
    for (const waiter of this.#waiting) {
      if (waiter.sequence < next) {
        this.#waiting.delete(waiter);
        waiter.resolve(value);
      }
    }
  }

  /** Rejects every waiter with `error`. */
  fail(error: unknown): void {
    const waiting = [...this.#waiting];
    this.#waiting.clear();
    for (const waiter of waiting) waiter.reject(error);
  }
}
