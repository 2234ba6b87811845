// Group commit: concurrent appends share one write and one fdatasync, and
// what each sync mode costs in fdatasyncs.
import { nodeFs, type WalFs } from '@wal/fs';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { openWal, readEntries, readRecords, tempDir } from './helpers.js';

// Counts fdatasyncs and writes, as a user would: by wrapping nodeFs.
function countingFs(): { fs: WalFs; syncs: () => number; writes: () => number } {
  let syncs = 0;
  let writes = 0;
  const fs: WalFs = {
    ...nodeFs,
    fdatasync(fd) {
      syncs++;
      nodeFs.fdatasync(fd);
    },
    write(fd, buffer, position) {
      writes++;
      return nodeFs.write(fd, buffer, position);
    },
  };
  return { fs, syncs: () => syncs, writes: () => writes };
}

const key = (i: number) => `key-${String(i).padStart(4, '0')}`;
const value = (i: number) => `value-${i}-${'x'.repeat(100)}`;

describe("sync: 'always'", () => {
  test('256 concurrent puts go out in one write and one fdatasync', async () => {
    const counter = countingFs();
    const dir = tempDir();
    const wal = await openWal({ dir, fs: counter.fs });
    const [syncs, writes] = [counter.syncs(), counter.writes()];

    const resolved: number[] = [];
    const sequences = await Promise.all(
      Array.from({ length: 256 }, (_, i) =>
        wal.put(key(i), value(i)).then((sequence) => {
          resolved.push(sequence);
          return sequence;
        }),
      ),
    );

    expect(counter.syncs() - syncs).toBe(1);
    expect(counter.writes() - writes).toBe(1);
    const order = Array.from({ length: 256 }, (_, i) => i);
    expect(sequences).toEqual(order); // sequence order = call order
    expect(resolved).toEqual(order); // resolution order = sequence order
    // disk order = sequence order, and each sequence holds its own put
    expect(readEntries(dir)).toEqual(
      order.map((i) => ({ sequence: i, type: 'put', key: key(i), value: value(i) })),
    );
  });

  test('16 writers in a loop share fdatasyncs: one per round, not one per put', async () => {
    const counter = countingFs();
    const dir = tempDir();
    const wal = await openWal({ dir, fs: counter.fs });
    const syncs = counter.syncs();
    const rounds = 20;
    const resolved: number[] = [];
    await Promise.all(
      Array.from({ length: 16 }, async (_, writer) => {
        for (let r = 0; r < rounds; r++) {
          resolved.push(await wal.put(key(writer), value(r)));
        }
      }),
    );
    const used = counter.syncs() - syncs;
    expect(used).toBeGreaterThan(0);
    expect(used).toBeLessThanOrEqual(rounds);
    expect(resolved).toEqual(Array.from({ length: 16 * rounds }, (_, i) => i));
    expect(readRecords(dir).map((r) => r.first)).toEqual(resolved);
  });

  test('puts, deletes and batches issued together keep their order on disk', async () => {
    const dir = tempDir();
    const wal = await openWal(dir);
    const results = await Promise.all([
      wal.put('a', '1'),
      wal.batch([
        { type: 'put', key: 'b', value: '2' },
        { type: 'delete', key: 'a' },
      ]),
      wal.delete('b'),
      wal.put('c', ''),
    ]);
    expect(results).toEqual([0, 1, 3, 4]);
    expect(readEntries(dir)).toEqual([
      { sequence: 0, type: 'put', key: 'a', value: '1' },
      { sequence: 1, type: 'put', key: 'b', value: '2' },
      { sequence: 2, type: 'delete', key: 'a' },
      { sequence: 3, type: 'delete', key: 'b' },
      { sequence: 4, type: 'put', key: 'c', value: '' },
    ]);
  });
});

describe("sync: 'none'", () => {
  test('never fdatasyncs on append; sync(), rotate() and close() do, once each', async () => {
    const counter = countingFs();
    const dir = tempDir();
    const wal = await openWal({ dir, fs: counter.fs, sync: 'none' });
    const syncs = counter.syncs();
    const writes = counter.writes();
    await Promise.all(Array.from({ length: 256 }, (_, i) => wal.put(key(i), value(i))));
    for (let i = 0; i < 10; i++) await wal.put(key(i), value(i));
    expect(counter.syncs() - syncs).toBe(0);
    expect(counter.writes() - writes).toBe(11); // one per flush, not one per put
    // A resolved put has reached the OS: another reader sees it before any sync.
    expect(readEntries(dir)).toHaveLength(266);

    await wal.sync();
    expect(counter.syncs() - syncs).toBe(1);
    await wal.sync(); // nothing new: nothing to sync
    expect(counter.syncs() - syncs).toBe(1);

    await wal.put('x', 'y');
    await wal.rotate(); // syncs the sealed segment, then the new segment's header
    expect(counter.syncs() - syncs).toBe(3);
    await wal.put('x', 'y');
    await wal.close();
    expect(counter.syncs() - syncs).toBe(4);
  });
});

describe("sync: 'interval'", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  test('syncs once per interval while dirty, never on append, and not when idle', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const counter = countingFs();
    const dir = tempDir();
    const wal = await openWal({ dir, fs: counter.fs, sync: 'interval', syncIntervalMs: 100 });
    const syncs = counter.syncs();

    await Promise.all(Array.from({ length: 256 }, (_, i) => wal.put(key(i), value(i))));
    await wal.put('more', 'data');
    expect(counter.syncs() - syncs).toBe(0);
    vi.advanceTimersByTime(99);
    expect(counter.syncs() - syncs).toBe(0);
    vi.advanceTimersByTime(1);
    expect(counter.syncs() - syncs).toBe(1);

    vi.advanceTimersByTime(1_000); // idle: nothing to sync
    expect(counter.syncs() - syncs).toBe(1);

    await wal.put('again', 'data');
    vi.advanceTimersByTime(50);
    await wal.put('and again', 'data');
    vi.advanceTimersByTime(49);
    expect(counter.syncs() - syncs).toBe(1);
    vi.advanceTimersByTime(1);
    expect(counter.syncs() - syncs).toBe(2);

    await wal.put('at close', 'data');
    await wal.close(); // close syncs what the timer has not
    expect(counter.syncs() - syncs).toBe(3);
    vi.advanceTimersByTime(1_000); // and leaves no timer behind
    expect(counter.syncs() - syncs).toBe(3);
  });

  test('rotate syncs the sealed segment without waiting for the timer', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const counter = countingFs();
    const dir = tempDir();
    const wal = await openWal({ dir, fs: counter.fs, sync: 'interval', syncIntervalMs: 100 });
    const syncs = counter.syncs();
    await wal.put('k', 'v');
    await wal.rotate();
    expect(counter.syncs() - syncs).toBe(2); // the sealed segment, the new header
    vi.advanceTimersByTime(1_000); // the timer was for the sealed segment: nothing left
    expect(counter.syncs() - syncs).toBe(2);
  });
});
