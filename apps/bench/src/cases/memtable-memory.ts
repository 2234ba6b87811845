import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type CaseResult, summarize } from '../harness.js';

const CHILD = fileURLToPath(new URL('../memtable-memory-child.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

interface ChildResult {
  bytesPerEntry: number;
  sizeBytesPerEntry: number;
}

function inChild(structure: 'memtable' | 'sorted-btree', count: number, valueBytes: number) {
  const out = execFileSync(
    process.execPath,
    [
      '--expose-gc',
      '--conditions=@wal/source',
      '--import',
      TSX,
      CHILD,
      structure,
      String(count),
      String(valueBytes),
    ],
    { encoding: 'utf8', maxBuffer: 1 << 20 },
  );
  return JSON.parse(out) as ChildResult;
}

/**
 * Memory per entry of a table of `count` random 16-byte keys, each in a
 * fresh process after a full GC: the Memtable (with its `sizeBytes` per
 * entry beside it, the formula that stands for it) and sorted-btree holding
 * a copy per value. Deterministic enough that one run each is enough.
 */
export function memtableMemory(count: number): CaseResult[] {
  return [8, 100].flatMap((valueBytes) => {
    const label = `(${count} keys of 16 B, ${valueBytes} B values)`;
    const table = inChild('memtable', count, valueBytes);
    const tree = inChild('sorted-btree', count, valueBytes);
    return [
      summarize(`memory: @wal Memtable ${label}`, 'B/entry', [table.bytesPerEntry]),
      summarize(`memory: @wal Memtable sizeBytes ${label}`, 'B/entry', [table.sizeBytesPerEntry]),
      summarize(`memory: sorted-btree, a copy per value ${label}`, 'B/entry', [tree.bytesPerEntry]),
    ];
  });
}
