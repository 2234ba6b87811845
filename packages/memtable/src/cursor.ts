import type { BTree } from './btree.js';
import type { Leaf } from './node.js';

/**
 * A forward cursor over a {@link BTree}, from a start key. It survives inserts
 * made while it is open: when the tree's version changes it re-seeks past the
 * last key it returned, so no key is returned twice or skipped, and keys added
 * ahead of it are seen. Allocates nothing per step.
 */
export class Cursor<V> {
  /** The key of the last `next()` that returned true. */
  key = '';
  /** Its value. */
  value: V | undefined = undefined;
  readonly #tree: BTree<V>;
  readonly #start: string | undefined;
  #started = false;
  #leaf: Leaf<V>;
  #index: number;
  #version: number;

  /** Starts before the first key >= `start`, or before the first key. */
  constructor(tree: BTree<V>, start?: string) {
    this.#tree = tree;
    this.#start = start;
    ({ leaf: this.#leaf, index: this.#index } = tree.seek(start));
    this.#version = tree.version;
  }

  /** Moves to the next key; false at the end. */
  next(): boolean {
    if (this.#version !== this.#tree.version) this.#reseek();
    let leaf = this.#leaf;
    let i = this.#index;
    while (i >= leaf.keys.length) {
      if (leaf.next === null) {
        this.#leaf = leaf;
        this.#index = i;
        return false;
      }
      leaf = leaf.next;
      i = 0;
    }
    this.key = leaf.keys[i] as string;
    this.value = leaf.values[i];
    this.#leaf = leaf;
    this.#index = i + 1;
    this.#started = true;
    return true;
  }

  #reseek(): void {
    const position = this.#tree.seek(this.#started ? this.key : this.#start);
    if (this.#started && position.leaf.keys[position.index] === this.key) position.index++;
    this.#leaf = position.leaf;
    this.#index = position.index;
    this.#version = this.#tree.version;
  }
}
