/**
 * B+-tree nodes and the search inside one node.
 *
 * Keys are latin1 strings (one char per byte, see `keys.ts`), so `<` on them
 * is unsigned byte order. Besides its sorted keys, each node keeps:
 * - `prefixes`: for each key, 6 of its bytes as one number;
 * - `skip`: where those 6 bytes start. A node covers the keys from its lower
 *   fence (inclusive) to its upper fence (exclusive), the separators that led
 *   to it; every key in that range, the searched one included, starts with
 *   the bytes both fences share, so `skip` is their count and the numbers
 *   start after them.
 * A binary search compares the numbers, which sit together in one typed
 * array, and reads a key string only on a tie. On random keys that saves a
 * cache miss per comparison; on keys with a long shared prefix ("user:…"),
 * `skip` moves the numbers past it so they still tell keys apart.
 */

/**
 * Most keys a node holds before it splits. Measured on 1M keys: 128 puts
 * fastest; 256 gets about 5% faster but puts slower; 64 is slower at both.
 */
export const NODE_CAPACITY = 128;

/** Key bytes folded into a prefix number: 6 bytes fit a double exactly. */
const PREFIX_BYTES = 6;

class BaseNode {
  /** One spare slot holds the key that overflows the node before it splits. */
  readonly prefixes = new Float64Array(NODE_CAPACITY + 1);

  constructor(
    public keys: string[],
    public skip: number,
  ) {}
}

/** A leaf: sorted keys, their values, and its neighbours for scans in either direction. */
export class Leaf<V> extends BaseNode {
  constructor(
    keys: string[],
    public values: V[],
    public prev: Leaf<V> | null,
    public next: Leaf<V> | null,
    skip = 0,
  ) {
    super(keys, skip);
  }
}

/** An inner node: `keys[i]` is the smallest key under `children[i + 1]`. */
export class Branch<V> extends BaseNode {
  constructor(
    keys: string[],
    public children: Node<V>[],
    skip = 0,
  ) {
    super(keys, skip);
  }
}

export type Node<V> = Leaf<V> | Branch<V>;

/** Bytes `[skip, skip + 6)` of `key` as a number, zero-padded past its end. */
function prefixAt(key: string, skip: number): number {
  let p = 0;
  const end = skip + PREFIX_BYTES;
  for (let i = skip; i < end; i++) p = p * 256 + (i < key.length ? key.charCodeAt(i) : 0);
  return p;
}

/** How many leading chars `a` and `b` share. */
function sharedLength(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

/** Index of the first key >= `key` (`keys.length` if none). */
export function lowerBound(node: BaseNode, key: string): number {
  const { keys, prefixes } = node;
  const p = prefixAt(key, node.skip);
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const q = prefixes[mid] as number;
    if (q < p || (q === p && (keys[mid] as string) < key)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first key > `key` (`keys.length` if none). */
export function upperBound(node: BaseNode, key: string): number {
  const { keys, prefixes } = node;
  const p = prefixAt(key, node.skip);
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const q = prefixes[mid] as number;
    if (p < q || (p === q && key < (keys[mid] as string))) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Inserts `key` at `index`, as found by a bound search. */
export function insertKey(node: BaseNode, index: number, key: string): void {
  const { keys, prefixes } = node;
  if (index < keys.length) prefixes.copyWithin(index + 1, index, keys.length);
  prefixes[index] = prefixAt(key, node.skip);
  // splice shifts the tail natively: 1M random puts ran about 20% faster
  // than with a loop of element stores (apps/bench/src/memtable-cli.ts).
  keys.splice(index, 0, key);
}

/**
 * Copies the prefix numbers of the keys a split moved from `from` (starting
 * at `start`) to `to`, which was created with `from`'s skip.
 */
export function copyPrefixes(to: BaseNode, from: BaseNode, start: number): void {
  to.prefixes.set(from.prefixes.subarray(start, start + to.keys.length));
}

/**
 * Sets `skip` for a node whose fences are `lower` and `upper` (undefined when
 * unbounded). Called on both halves of a split, whose ranges are narrower, so
 * `skip` may grow; the prefix numbers are recomputed only when it does.
 */
export function fitSkip(
  node: BaseNode,
  lower: string | undefined,
  upper: string | undefined,
): void {
  const skip = lower === undefined || upper === undefined ? 0 : sharedLength(lower, upper);
  if (skip === node.skip) return;
  node.skip = skip;
  const { keys, prefixes } = node;
  for (let i = 0; i < keys.length; i++) prefixes[i] = prefixAt(keys[i] as string, skip);
}

/**
 * Where a node splits after an insert at `index`. An insert at the end of the
 * rightmost node (ascending keys) leaves the left node full, so sequential
 * loads fill nodes instead of leaving them half empty.
 */
export function splitPoint(length: number, index: number, rightmost: boolean): number {
  return rightmost && index === length - 1 ? length - 1 : length >>> 1;
}
