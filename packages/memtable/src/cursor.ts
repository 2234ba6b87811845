import type { BTree, Position } from './btree.js';
import type { Leaf } from './node.js';

/** A key range to walk and its direction; keys as the tree stores them. */
export interface Bounds {
  /** Lowest key, or undefined for none. */
  lower: string | undefined;
  /** True when `lower` itself is out (`gt`), false when it is in (`gte`). */
  lowerExclusive: boolean;
  upper: string | undefined;
  upperExclusive: boolean;
  /** Walk from the upper bound down. */
  reverse: boolean;
}

/** Every key, in order. */
export const ALL: Bounds = {
  lower: undefined,
  lowerExclusive: false,
  upper: undefined,
  upperExclusive: false,
  reverse: false,
};

/**
 * A cursor over the keys of a {@link BTree} within {@link Bounds}, forward or
 * in reverse. It survives inserts made while it is open: when the tree's
 * version changes it re-seeks past the last key it returned, so no key is
 * returned twice or skipped, and keys added ahead of it are seen. Allocates
 * nothing per step.
 */
export class Cursor<V> {
  /** The key of the last `next()` that returned true. */
  key = '';
  /** Its value. */
  value: V | undefined = undefined;
  readonly #tree: BTree<V>;
  readonly #bounds: Bounds;
  #started = false;
  #done = false;
  /** Forward: the next key is at `#index`. Reverse: it is the one before. */
  #leaf!: Leaf<V>;
  #index = 0;
  #version: number;

  constructor(tree: BTree<V>, bounds: Bounds = ALL) {
    this.#tree = tree;
    this.#bounds = bounds;
    this.#moveTo(this.#start());
    this.#version = tree.version;
  }

  /** Moves to the next key in range; false at the end (and from then on). */
  next(): boolean {
    if (this.#done) return false;
    if (this.#version !== this.#tree.version) this.#reseek();
    const found = this.#bounds.reverse ? this.#stepBack() : this.#stepForward();
    if (found) this.#started = true;
    else this.#done = true;
    return found;
  }

  #stepForward(): boolean {
    let leaf = this.#leaf;
    let i = this.#index;
    while (i >= leaf.keys.length) {
      if (leaf.next === null) return false;
      leaf = leaf.next;
      i = 0;
    }
    const key = leaf.keys[i] as string;
    const { upper, upperExclusive } = this.#bounds;
    if (upper !== undefined && (upperExclusive ? key >= upper : key > upper)) return false;
    this.key = key;
    this.value = leaf.values[i];
    this.#leaf = leaf;
    this.#index = i + 1;
    return true;
  }

  #stepBack(): boolean {
    let leaf = this.#leaf;
    let i = this.#index;
    while (i === 0) {
      if (leaf.prev === null) return false;
      leaf = leaf.prev;
      i = leaf.keys.length;
    }
    i--;
    const key = leaf.keys[i] as string;
    const { lower, lowerExclusive } = this.#bounds;
    if (lower !== undefined && (lowerExclusive ? key <= lower : key < lower)) return false;
    this.key = key;
    this.value = leaf.values[i];
    this.#leaf = leaf;
    this.#index = i;
    return true;
  }

  /** Where the walk begins: at the lower bound going forward, at the upper one in reverse. */
  #start(): Position<V> {
    const { lower, lowerExclusive, upper, upperExclusive, reverse } = this.#bounds;
    if (reverse) {
      return upper === undefined ? this.#tree.end() : this.#tree.seek(upper, !upperExclusive);
    }
    return lower === undefined ? this.#tree.first() : this.#tree.seek(lower, lowerExclusive);
  }

  /** Finds the place again after the tree changed: past the last key returned. */
  #reseek(): void {
    this.#moveTo(this.#started ? this.#tree.seek(this.key, !this.#bounds.reverse) : this.#start());
    this.#version = this.#tree.version;
  }

  #moveTo(position: Position<V>): void {
    this.#leaf = position.leaf;
    this.#index = position.index;
  }
}
