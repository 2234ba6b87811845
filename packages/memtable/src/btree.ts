import {
  Branch,
  copyPrefixes,
  fitSkip,
  insertKey,
  Leaf,
  lowerBound,
  NODE_CAPACITY,
  type Node,
  splitPoint,
  upperBound,
} from './node.js';

/** A place between two keys: before `leaf.keys[index]`. */
export interface Position<V> {
  leaf: Leaf<V>;
  index: number;
}

/**
 * An insert-only B+-tree keyed by latin1 strings (every char below 256).
 *
 * A memtable never removes a key (a delete is a tombstone value) until it is
 * cleared, so the tree has no delete path. Values must not be `undefined`,
 * which `get` and `set` use for "absent".
 */
export class BTree<V> {
  #root: Node<V> = new Leaf<V>([], [], null, null);
  /** Branch levels above the leaves. */
  #height = 0;
  #size = 0;
  /** Bumped whenever a key is added (positions shift) or the tree is cleared, so cursors re-seek. */
  #version = 0;
  // The descent path of the last insert: each branch, the child taken, and the
  // branch's fences (see `node.ts`). Reused to avoid allocating per call.
  readonly #path: Branch<V>[] = [];
  readonly #pathIndex: number[] = [];
  readonly #pathLower: (string | undefined)[] = [];
  readonly #pathUpper: (string | undefined)[] = [];
  /**
   * The leaf of the last descent and its fences, while the path above still
   * leads there (until a split): a run of nearby keys, as replay's ascending
   * sequence keys, skips the descent.
   */
  #finger: Leaf<V> | null = null;
  #fingerLower: string | undefined;
  #fingerUpper: string | undefined;

  /** Keys held. */
  get size(): number {
    return this.#size;
  }

  get version(): number {
    return this.#version;
  }

  /** The value stored under `key`, or undefined. */
  get(key: string): V | undefined {
    const leaf = this.#leafFor(key);
    const i = lowerBound(leaf, key);
    return leaf.keys[i] === key ? leaf.values[i] : undefined;
  }

  /** Stores `value` under `key`. Returns the value it replaced, or undefined for a new key. */
  set(key: string, value: V): V | undefined {
    const finger = this.#finger;
    const lower = this.#fingerLower;
    const upper = this.#fingerUpper;
    // A key within the last insert's leaf fences goes to that leaf by the same
    // path; past its last key (ascending keys, as replay's often are) it goes
    // at the end without a search.
    let leaf: Leaf<V>;
    let i: number;
    if (
      finger !== null &&
      (lower === undefined || key >= lower) &&
      (upper === undefined || key < upper)
    ) {
      leaf = finger;
      const n = leaf.keys.length;
      i = n > 0 && (leaf.keys[n - 1] as string) < key ? n : lowerBound(leaf, key);
    } else {
      leaf = this.#descend(key);
      i = lowerBound(leaf, key);
    }
    if (leaf.keys[i] === key) {
      const previous = leaf.values[i];
      leaf.values[i] = value;
      return previous;
    }
    insertKey(leaf, i, key);
    leaf.values.splice(i, 0, value);
    this.#size++;
    this.#version++;
    if (leaf.keys.length > NODE_CAPACITY) {
      // The split changes the path and the fences.
      this.#finger = null;
      this.#splitLeaf(leaf, i, this.#fingerLower, this.#fingerUpper);
    }
    return undefined;
  }

  /**
   * The position of the first key >= `key` (> `key` when `above`): a leaf and
   * an index in it, which may be the leaf's length when that key is in the
   * next leaf or there is none. Every key before the position is < `key`
   * (<= when `above`).
   */
  seek(key: string, above: boolean): Position<V> {
    const leaf = this.#leafFor(key);
    return { leaf, index: above ? upperBound(leaf, key) : lowerBound(leaf, key) };
  }

  /** The position of the first key. */
  first(): Position<V> {
    let node = this.#root;
    for (let h = this.#height; h > 0; h--) node = (node as Branch<V>).children[0] as Node<V>;
    return { leaf: node as Leaf<V>, index: 0 };
  }

  /** The position after the last key. */
  end(): Position<V> {
    let node = this.#root;
    for (let h = this.#height; h > 0; h--) {
      const { children } = node as Branch<V>;
      node = children[children.length - 1] as Node<V>;
    }
    return { leaf: node as Leaf<V>, index: node.keys.length };
  }

  /** Drops every key. */
  clear(): void {
    this.#root = new Leaf<V>([], [], null, null);
    this.#height = 0;
    this.#size = 0;
    this.#version++;
    this.#finger = null;
    this.#path.length = 0;
    this.#pathIndex.length = 0;
    this.#pathLower.length = 0;
    this.#pathUpper.length = 0;
  }

  /**
   * Replaces this tree's keys with all of `other`'s, leaving `other` empty:
   * its nodes move, in O(1). This tree object stays, and its version moves
   * on, so a cursor open on it re-seeks into the keys it now holds.
   */
  takeFrom(other: BTree<V>): void {
    this.#root = other.#root;
    this.#height = other.#height;
    this.#size = other.#size;
    this.#version++;
    // The last insert's path and finger lead into nodes this tree no longer holds.
    this.#finger = null;
    this.#path.length = 0;
    this.#pathIndex.length = 0;
    this.#pathLower.length = 0;
    this.#pathUpper.length = 0;
    other.clear();
  }

  /** The leaf for `key`, recording the path to it and its fences for `set` and the splits. */
  #descend(key: string): Leaf<V> {
    let node = this.#root;
    let lower: string | undefined;
    let upper: string | undefined;
    for (let depth = 0; depth < this.#height; depth++) {
      const branch = node as Branch<V>;
      const i = upperBound(branch, key);
      this.#path[depth] = branch;
      this.#pathIndex[depth] = i;
      this.#pathLower[depth] = lower;
      this.#pathUpper[depth] = upper;
      if (i > 0) lower = branch.keys[i - 1];
      if (i < branch.keys.length) upper = branch.keys[i];
      node = branch.children[i] as Node<V>;
    }
    const leaf = node as Leaf<V>;
    this.#finger = leaf;
    this.#fingerLower = lower;
    this.#fingerUpper = upper;
    return leaf;
  }

  /** The leaf whose range holds `key`. */
  #leafFor(key: string): Leaf<V> {
    let node = this.#root;
    for (let h = this.#height; h > 0; h--) {
      const branch = node as Branch<V>;
      node = branch.children[upperBound(branch, key)] as Node<V>;
    }
    return node as Leaf<V>;
  }

  /** Splits an overfull leaf whose fences are `lower` and `upper`. */
  #splitLeaf(
    leaf: Leaf<V>,
    inserted: number,
    lower: string | undefined,
    upper: string | undefined,
  ): void {
    const at = splitPoint(leaf.keys.length, inserted, upper === undefined);
    const right = new Leaf(
      leaf.keys.splice(at),
      leaf.values.splice(at),
      leaf,
      leaf.next,
      leaf.skip,
    );
    copyPrefixes(right, leaf, at);
    const separator = right.keys[0] as string;
    if (leaf.next !== null) leaf.next.prev = right;
    leaf.next = right;
    fitSkip(leaf, lower, separator);
    fitSkip(right, separator, upper);
    this.#addChild(this.#height - 1, separator, right);
  }

  /** Adds `child`, whose smallest key is `separator`, to the branch at `depth` of the insert path. */
  #addChild(depth: number, separator: string, child: Node<V>): void {
    if (depth < 0) {
      const root = new Branch<V>([], [this.#root, child]);
      insertKey(root, 0, separator);
      this.#root = root;
      this.#height++;
      return;
    }
    const branch = this.#path[depth] as Branch<V>;
    const i = this.#pathIndex[depth] as number;
    insertKey(branch, i, separator);
    branch.children.splice(i + 1, 0, child);
    if (branch.keys.length <= NODE_CAPACITY) return;
    // The separator at the split point moves up; the keys on either side stay in their halves.
    const lower = this.#pathLower[depth];
    const upper = this.#pathUpper[depth];
    const at = splitPoint(branch.keys.length, i, upper === undefined);
    const up = branch.keys[at] as string;
    const right = new Branch(
      branch.keys.splice(at + 1),
      branch.children.splice(at + 1),
      branch.skip,
    );
    copyPrefixes(right, branch, at + 1);
    branch.keys.length = at;
    fitSkip(branch, lower, up);
    fitSkip(right, up, upper);
    this.#addChild(depth - 1, up, right);
  }
}
