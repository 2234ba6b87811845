import { types } from 'node:util';
import type { BytesLike } from '@wal/codec';
import {
  boolean,
  integer,
  invalidOptions,
  type Kind,
  option,
  parseOptions,
  problem,
} from '@wal/codec/internal';
import type { Bounds } from './cursor.js';
import { encodeKey } from './keys.js';

/**
 * Which live entries {@link Memtable.range} yields, as abstract-level's
 * iterator options. Bounds are keys (a `Uint8Array` or a string, as for
 * `put`); an omitted (or undefined) bound leaves that side open. A range
 * whose lower bound is above its upper bound is empty, not an error.
 */
export interface RangeOptions {
  /** Keys greater than this. At most one of `gt` and `gte`. */
  gt?: BytesLike | undefined;
  /** Keys greater than or equal to this. */
  gte?: BytesLike | undefined;
  /** Keys less than this. At most one of `lt` and `lte`. */
  lt?: BytesLike | undefined;
  /** Keys less than or equal to this. */
  lte?: BytesLike | undefined;
  /** Walk from the upper bound down, highest key first. Default false. */
  reverse?: boolean | undefined;
  /**
   * Most entries to yield: a non-negative integer, or -1 or Infinity for no
   * limit (the default). With `reverse`, the highest keys are the ones kept.
   */
  limit?: number | undefined;
}

/** {@link RangeOptions} checked, with keys encoded as the tree stores them. */
export interface ResolvedRange extends Bounds {
  limit: number;
}

const key: Kind<BytesLike> = {
  expected: 'a Uint8Array or a string',
  test: (value): value is BytesLike => typeof value === 'string' || types.isUint8Array(value),
};

const count = integer(0);
const limit: Kind<number> = {
  expected: 'a non-negative integer, -1 or Infinity',
  test: (value): value is number =>
    value === -1 || value === Number.POSITIVE_INFINITY || count.test(value),
};

const table = {
  gt: option(key),
  gte: option(key),
  lt: option(key),
  lte: option(key),
  reverse: option(boolean, false),
  limit: option(limit, -1),
};

/**
 * Validates range options; throws `WAL_INVALID_OPTIONS`. Giving both `gt`
 * and `gte` (or `lt` and `lte`) is refused: which one was meant cannot be
 * told, and abstract-level implementations disagree on it.
 */
export function parseRange(input: unknown): ResolvedRange {
  const { gt, gte, lt, lte, reverse, limit } = parseOptions('range', table, input);
  if (gt !== undefined && gte !== undefined) {
    throw invalidOptions('range', [problem('gt, gte', 'at most one', 'both')]);
  }
  if (lt !== undefined && lte !== undefined) {
    throw invalidOptions('range', [problem('lt, lte', 'at most one', 'both')]);
  }
  const lower = gt ?? gte;
  const upper = lt ?? lte;
  return {
    lower: lower === undefined ? undefined : encodeKey(lower, gt === undefined ? 'gte' : 'gt'),
    lowerExclusive: gt !== undefined,
    upper: upper === undefined ? undefined : encodeKey(upper, lt === undefined ? 'lte' : 'lt'),
    upperExclusive: lt !== undefined,
    reverse,
    limit: limit === -1 ? Number.POSITIVE_INFINITY : limit,
  };
}
