import { BTree, Cursor } from '@wal/memtable/internal';
import { expect, test } from 'vitest';

/** A tree holding each key, its value the key in upper case; enough keys split it into levels. */
function treeOf(keys: string[]): BTree<string> {
  const tree = new BTree<string>();
  for (const key of keys) tree.set(key, key.toUpperCase());
  return tree;
}

const rest = (cursor: Cursor<string>): string[] => {
  const seen: string[] = [];
  while (cursor.next()) seen.push(cursor.key);
  return seen;
};

const padded = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(4, '0')}`);

test('takeFrom moves the other tree in: an open cursor goes on past its last key, later sets land, the other is left empty', () => {
  const mine = padded('m', 1000);
  const theirs = padded('k', 600).concat(padded('t', 600));
  const tree = treeOf(mine);
  // A set leaves the insert path and finger in the tree's own last leaf.
  tree.set('m0999x', 'x');
  const cursor = new Cursor(tree);
  for (let i = 0; i < 10; i++) cursor.next();
  expect(cursor.key).toBe('m0009');
  const other = treeOf(theirs);
  tree.takeFrom(other);
  expect(tree.size).toBe(theirs.length);
  expect(other.size).toBe(0);
  expect(rest(new Cursor(other))).toEqual([]);
  // Past its last key (m0009) in the keys it now holds.
  expect(cursor.next() && cursor.key).toBe('t0000');
  // Keys within the old finger's fences land in the new nodes.
  tree.set('m0999y', 'y');
  tree.set('z', 'Z');
  expect(tree.get('m0999y')).toBe('y');
  expect(tree.get('z')).toBe('Z');
  expect(tree.get('m0999x')).toBeUndefined();
  expect(tree.get('k0000')).toBe('K0000');
  expect(rest(cursor)).toEqual([...padded('t', 600).slice(1), 'z']);
  expect(rest(new Cursor(tree))).toEqual([...padded('k', 600), 'm0999y', ...padded('t', 600), 'z']);
  // The other tree is usable on its own.
  other.set('a', 'A');
  expect(rest(new Cursor(other))).toEqual(['a']);
  expect(tree.get('a')).toBeUndefined();
});
