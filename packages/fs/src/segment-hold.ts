import { describeValue, ErrorCode, isIndex, WalError } from '@wal/codec';

/** Options of {@link Wal.holdSegments}. */
export interface SegmentHoldOptions {
  /**
   * Bound on the bytes of the sealed segments the hold keeps (the active
   * segment is not counted). Checked at each rotation: sealing one more
   * segment may not take them past it. Default: no bound.
   */
  maxBytes?: number;
  /**
   * What a rotation past `maxBytes` does. `'block'` (default): it waits
   * until the hold advances or is released (or the writer closes), so
   * appends that need a new segment wait too: back-pressure. So do calls
   * queued behind it (`sync()`, `truncateThrough()`, `totalSize()`): a
   * holder must not await them before it advances. What was written before
   * the rotation is synced before it waits (`waitDurable` resolves). `'error'`: the
   * hold is dropped (`state: 'dropped'`, `error` set, `onDropped` called)
   * and the rotation goes on: retention may then delete what it kept, so a
   * dead reader cannot fill the disk.
   */
  onExceeded?: 'block' | 'error';
  /** Called once (in a microtask) when `'error'` drops the hold, with a `WAL_HOLD_EXCEEDED` error. */
  onDropped?: (error: WalError) => void;
}

/** What a hold is doing: keeping segments, let go by its owner, or dropped past its bound. */
export type SegmentHoldState = 'held' | 'released' | 'dropped';

/**
 * Keeps segments from retention: `truncateThrough`, `maxSegments` and
 * `dropExcessSegments` delete no segment numbered {@link SegmentHold.from}
 * or above while it is held. A deletion it prevented is not redone later:
 * the next retention call (or rotation, for `maxSegments`) applies again.
 * Made by {@link Wal.holdSegments}; `using hold = wal.holdSegments(n)`
 * releases it at the end of the block.
 */
export class SegmentHold implements Disposable {
  readonly maxBytes: number | undefined;
  readonly onExceeded: 'block' | 'error';
  readonly #onDropped: ((error: WalError) => void) | undefined;
  readonly #changed: (hold: SegmentHold) => void;
  #from: number;
  #state: SegmentHoldState = 'held';
  #error: WalError | undefined;

  /** @internal Use {@link Wal.holdSegments}. */
  constructor(from: number, options: SegmentHoldOptions, changed: (hold: SegmentHold) => void) {
    this.#from = from;
    this.maxBytes = options.maxBytes;
    this.onExceeded = options.onExceeded ?? 'block';
    this.#onDropped = options.onDropped;
    this.#changed = changed;
  }

  /** The lowest segment number kept. */
  get from(): number {
    return this.#from;
  }

  /** See {@link SegmentHoldState}. */
  get state(): SegmentHoldState {
    return this.#state;
  }

  /** Why it was dropped (`WAL_HOLD_EXCEEDED`), or undefined. */
  get error(): WalError | undefined {
    return this.#error;
  }

  /**
   * Keeps only segments numbered `from` or above from now on (it never
   * moves back: that could not bring deleted segments back). A blocked
   * rotation looks again. No-op once released or dropped.
   */
  advance(from: number): void {
    if (!isIndex(from) || from < this.#from) {
      throw new WalError(
        ErrorCode.INVALID_ARGUMENT,
        `expected a segment number at or above ${this.#from}, found ${describeValue(from)}`,
      );
    }
    if (this.#state !== 'held' || from === this.#from) return;
    this.#from = from;
    this.#changed(this);
  }

  /** Lets go: retention may delete what it kept. Idempotent. */
  release(): void {
    if (this.#state !== 'held') return;
    this.#state = 'released';
    this.#changed(this);
  }

  /** {@link SegmentHold.release}, for `using`. */
  [Symbol.dispose](): void {
    this.release();
  }

  /** @internal The writer drops it past its bound (`onExceeded: 'error'`). */
  drop(error: WalError): void {
    if (this.#state !== 'held') return;
    this.#state = 'dropped';
    this.#error = error;
    this.#changed(this);
    const onDropped = this.#onDropped;
    if (onDropped) queueMicrotask(() => onDropped(error));
  }
}
