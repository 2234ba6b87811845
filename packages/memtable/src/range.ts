import { type BytesLike, describeValue } from '@wal/codec';
import type { Bounds } from './cursor.js';
import { encodeKey } from './keys.js';
import { invalidOptions } from './options.js';

/**
 * Which live entries {@link Memtable.range} yields, as abstract-level's
 * iterator options. Bounds are keys (a `Uint8Array` or a string, as for
 * `put`); an omitted (or undefined) bound leaves that side open. A range
 * whose lower bound is above its upper bound is empty, not an error.
 */
export interface RangeOptions {
  /** Keys greater than this. At most one of `gt` and `gte`. */
  gt?: BytesLike;
  /** Keys greater than or equal to this. */
  gte?: BytesLike;
  /** Keys less than this. At most one of `lt` and `lte`. */
  lt?: BytesLike;
  /** Keys less than or equal to this. */
  lte?: BytesLike;
  /** Walk from the upper bound down, highest key first. Default false. */
  reverse?: boolean;
  /**
   * Most entries to yield: a non-negative integer, or -1 or Infinity for no
   * limit (the default). With `reverse`, the highest keys are the ones kept.
   */
  limit?: number;
}

/** {@link RangeOptions} checked, with keys encoded as the tree stores them. */
export interface ResolvedRange extends Bounds {
  limit: number;
}

const KNOWN = new Set(['gt', 'gte', 'lt', 'lte', 'reverse', 'limit']);

/**
 * Validates range options; throws `WAL_INVALID_OPTIONS`. Giving both `gt`
 * and `gte` (or `lt` and `lte`) is refused: which one was meant cannot be
 * told, and abstract-level implementations disagree on it.
 */
export function parseRange(input: unknown): ResolvedRange {
  if (input === undefined) return { ...ALL_RANGE };
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw invalid('options', 'an object', describeValue(input));
  }
  for (const key of Object.keys(input)) {
    if (!KNOWN.has(key)) {
      throw invalid(key, `one of ${[...KNOWN].join(', ')}`, 'an unknown option');
    }
  }
  const { gt, gte, lt, lte, reverse = false, limit = -1 } = input as Record<string, unknown>;
  if (gt !== undefined && gte !== undefined) {
    throw invalid('gt, gte', 'at most one', 'both');
  }
  if (lt !== undefined && lte !== undefined) {
    throw invalid('lt, lte', 'at most one', 'both');
  }
  if (typeof reverse !== 'boolean') {
    throw invalid('reverse', 'a boolean', describeValue(reverse));
  }
  if (!(limit === -1 || limit === Number.POSITIVE_INFINITY || isCount(limit))) {
    throw invalid('limit', 'a non-negative integer, -1 or Infinity', describeValue(limit));
  }
  const lower = gt ?? gte;
  const upper = lt ?? lte;
  return {
    lower: lower === undefined ? undefined : bound(lower, gt === undefined ? 'gte' : 'gt'),
    lowerExclusive: gt !== undefined,
    upper: upper === undefined ? undefined : bound(upper, lt === undefined ? 'lte' : 'lt'),
    upperExclusive: lt !== undefined,
    reverse,
    limit: limit === -1 ? Number.POSITIVE_INFINITY : (limit as number),
  };
}

const ALL_RANGE: ResolvedRange = {
  lower: undefined,
  lowerExclusive: false,
  upper: undefined,
  upperExclusive: false,
  reverse: false,
  limit: Number.POSITIVE_INFINITY,
};

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function bound(value: unknown, name: string): string {
  if (typeof value !== 'string' && !(value instanceof Uint8Array)) {
    throw invalid(name, 'a Uint8Array or a string', describeValue(value));
  }
  return encodeKey(value, name);
}

function invalid(name: string, expected: string, found: string) {
  return invalidOptions('range', name, expected, found);
}
