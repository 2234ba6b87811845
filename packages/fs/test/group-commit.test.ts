// Group commit: concurrent appends share one write and one fdatasync; while
// one group syncs, the next fills and goes out as soon as the sync returns.
// Disk order = sequence order = resolution order, and a group's promises
// resolve only after its own sync. And what each sync mode costs in fdatasyncs.
import { nodeFs, Wal, type WalFs } from '@wal/fs';
import { afterEach, describe, expect, test, vi } from 'vitest';
import {
  framesOf,
  GatedFs,
  isZeros,
  openWal,
  readEntries,
  readRecords,
  readSegments,
  simDisk,
  tempDir,
  until,
} from './helpers.js';

// Counts fdatasyncs and writes, as a user would: by wrapping nodeFs. Writes
// of frames and writes of the zeros the writer preallocates count apart. A
// write of frames on a durable handle ('r+dsync', under 'always') syncs its
// range: it counts as a sync too.
function countingFs(): {
  fs: WalFs;
  syncs: () => number;
  writes: () => number;
  zeroWrites: () => number;
} {
  let syncs = 0;
  let writes = 0;
  let zeroWrites = 0;
  const durable = new Set<number>();
  const fs: WalFs = {
    ...nodeFs,
    async open(file, flags) {
      const fd = await nodeFs.open(file, flags);
      if (flags === 'r+dsync') durable.add(fd);
      return fd;
    },
    close(fd) {
      durable.delete(fd);
      return nodeFs.close(fd);
    },
    fdatasync(fd) {
      syncs++;
      return nodeFs.fdatasync(fd);
    },
    write(fd, buffer, position) {
      if (isZeros(buffer)) zeroWrites++;
      else {
        writes++;
        if (durable.has(fd)) syncs++;
      }
      return nodeFs.write(fd, buffer, position);
    },
  };
  return { fs, syncs: () => syncs, writes: () => writes, zeroWrites: () => zeroWrites };
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
    expect(counter.zeroWrites()).toBe(1); // 1 MiB of zeros after the frames, in the same sync
    const order = Array.from({ length: 256 }, (_, i) => i);
    expect(sequences).toEqual(order); // sequence order = call order
    expect(resolved).toEqual(order); // resolution order = sequence order
    // disk order = sequence order, and each sequence holds its own put
    expect(readEntries(dir)).toEqual(
      order.map((i) => ({ sequence: i, type: 'put', key: key(i), value: value(i) })),
    );
  });

  test('16 writers in a loop share fdatasyncs: about one per round, not one per put', async () => {
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
    expect(used).toBeLessThanOrEqual(rounds + 1);
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

describe('pipelined group commit', () => {
  test('while one group syncs, the next fills; it is written as soon as the sync returns and resolves after its own', async () => {
    const sim = new GatedFs();
    const dir = '/log';
    const wal = await Wal.open({ dir, fs: sim });
    const fd = () => sim.writes.at(-1)?.fd as number;
    sim.writes.splice(0); // the segment header, written by open
    sim.hold = true;
    const resolved: string[] = [];
    const track = (name: string, p: Promise<number>) => p.then((s) => resolved.push(`${name}${s}`));

    const a = track('a', wal.put('a', '1'));
    await until(() => sim.waiting.length === 1, "group 1's fdatasync");
    expect(sim.writes).toHaveLength(1);
    const [first] = sim.writes;

    // Appended while group 1 syncs: they fill group 2, which waits.
    const b = track('b', wal.put('b', '2'));
    const c = track('c', wal.batch([{ type: 'delete', key: 'a' }]));
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    expect(sim.writes).toHaveLength(1);
    expect(resolved).toEqual([]); // a is written, not yet synced

    sim.release();
    await until(() => sim.waiting.length === 1, "group 2's fdatasync");
    expect(resolved).toEqual(['a0']); // after its own sync, before group 2's
    expect(sim.durable.get(fd())).toBe((first?.position ?? 0) + (first?.length ?? 0));
    // Group 2 went out in one write right behind group 1.
    expect(sim.writes).toHaveLength(2);
    expect(sim.writes[1]?.position).toBe((first?.position ?? 0) + (first?.length ?? 0));

    sim.release();
    await Promise.all([a, b, c]);
    expect(resolved).toEqual(['a0', 'b1', 'c2']);
    sim.hold = false;
    await wal.close();

    // Group 2's frames were encoded while group 1 was unsynced: a mark in
    // front of them says how much was durable when they were written.
    const frames = framesOf(readSegments(dir, simDisk(sim))[0]);
    expect(frames.map((f) => f.type)).toEqual(['batch', 'mark', 'batch', 'batch', 'mark']);
    const [fa, mark, fb] = frames;
    expect(fa?.synced).toBe(48);
    expect(mark?.synced).toBe(fa?.end);
    expect(fb?.synced).toBe(48);
    expect(readEntries(dir, simDisk(sim)).map((e) => [e.sequence, e.key])).toEqual([
      [0, 'a'],
      [1, 'b'],
      [2, 'a'],
    ]);
  });

  test('under random sync delays: disk order = sequence order = resolution order, each after its own sync', async () => {
    const sim = new GatedFs();
    const dir = '/log';
    const wal = await Wal.open({ dir, fs: sim });
    const file = wal.file;
    sim.hold = true;
    let seed = 7;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const resolutions: { sequence: number; durable: number }[] = [];
    const pending: Promise<unknown>[] = [];
    for (let step = 0; step < 200; step++) {
      if (random() < 0.6) {
        const i = pending.length;
        pending.push(
          wal.put(key(i), value(i)).then((sequence) => {
            const durable = Math.max(0, ...sim.durable.values());
            resolutions.push({ sequence, durable });
          }),
        );
      }
      if (sim.waiting.length > 0 && random() < 0.5) sim.release();
      if (random() < 0.5) await new Promise((r) => setImmediate(r));
    }
    sim.hold = false;
    while (sim.waiting.length > 0) sim.release();
    await Promise.all(pending);
    await wal.close();

    const n = pending.length;
    expect(resolutions.map((r) => r.sequence)).toEqual(Array.from({ length: n }, (_, i) => i));
    const frames = framesOf(readSegments(dir, simDisk(sim))[0]).filter((f) => f.type === 'batch');
    expect(frames.map((f) => (f.type === 'batch' ? f.firstSequence : -1))).toEqual(
      Array.from({ length: n }, (_, i) => i),
    );
    // Each put resolved only once a completed fdatasync covered its frame.
    for (const r of resolutions) {
      expect(r.durable, `sequence ${r.sequence}`).toBeGreaterThanOrEqual(
        frames[r.sequence]?.end as number,
      );
    }
    expect(sim.writes.length).toBeLessThan(n); // groups, not one write per put
    expect(readEntries(dir, simDisk(sim))).toHaveLength(n);
    expect(file).toBe('/log/wal_00000000.log'); // one segment: the durable sizes compare
  });
});

describe("sync: 'none'", () => {
  // Small writes complete at once (on the main thread): the writer still
  // yields a turn of the event loop per group, so timers and I/O run.
  test('a loop of awaited puts lets the event loop run: a timer fires while it goes on', async () => {
    // No preallocation: its large writes go to the pool, which would yield anyway.
    const wal = await openWal({ dir: tempDir(), sync: 'none', preallocateBytes: 0 });
    let fired = -1;
    let done = 0;
    const timer = setTimeout(() => {
      fired = done;
    }, 1);
    // Bounded by puts, not time: 20,000 of them stay far below a rotation
    // (whose I/O on the pool would let the timer run without the yield).
    while (fired < 0 && done < 20_000) {
      await wal.put(key(done), value(done));
      done++;
    }
    clearTimeout(timer);
    expect(fired).toBeGreaterThanOrEqual(0);
    expect(readEntries(wal.dir)).toHaveLength(done);
  });

  test('never fdatasyncs on append; sync(), rotate() and close() do', async () => {
    const counter = countingFs();
    const dir = tempDir();
    const wal = await openWal({ dir, fs: counter.fs, sync: 'none' });
    const syncs = counter.syncs();
    const writes = counter.writes();
    await Promise.all(Array.from({ length: 256 }, (_, i) => wal.put(key(i), value(i))));
    for (let i = 0; i < 10; i++) await wal.put(key(i), value(i));
    expect(counter.syncs() - syncs).toBe(0);
    expect(counter.writes() - writes).toBe(11); // one per group, not one per put
    // A resolved put has reached the OS: another reader sees it before any sync.
    expect(readEntries(dir)).toHaveLength(266);

    await wal.sync();
    expect(counter.syncs() - syncs).toBe(1);
    await wal.sync(); // nothing new: nothing to sync
    expect(counter.syncs() - syncs).toBe(1);

    await wal.put('x', 'y');
    // Syncs the cut of the preallocated zeros, the seal, then the new segment's header.
    await wal.rotate();
    expect(counter.syncs() - syncs).toBe(4);
    await wal.put('x', 'y');
    await wal.close(); // syncs what is written, then the close mark after it
    expect(counter.syncs() - syncs).toBe(6);
  });
});

describe("sync: 'interval'", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  // The timer only queues a sync; a later job of the writer runs after it.
  const settle = (wal: Wal) => wal.totalSize();

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
    await settle(wal);
    expect(counter.syncs() - syncs).toBe(0);
    vi.advanceTimersByTime(1);
    await settle(wal);
    expect(counter.syncs() - syncs).toBe(1);

    vi.advanceTimersByTime(1_000); // idle: nothing to sync
    await settle(wal);
    expect(counter.syncs() - syncs).toBe(1);

    await wal.put('again', 'data');
    vi.advanceTimersByTime(50);
    await wal.put('and again', 'data');
    vi.advanceTimersByTime(49);
    await settle(wal);
    expect(counter.syncs() - syncs).toBe(1);
    vi.advanceTimersByTime(1);
    await settle(wal);
    expect(counter.syncs() - syncs).toBe(2);

    await wal.put('at close', 'data');
    await wal.close(); // close syncs what the timer has not, then the mark
    expect(counter.syncs() - syncs).toBe(4);
    vi.advanceTimersByTime(1_000); // and leaves no timer behind
    await new Promise((r) => setImmediate(r));
    expect(counter.syncs() - syncs).toBe(4);
  });

  test('rotate syncs the sealed segment without waiting for the timer', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const counter = countingFs();
    const dir = tempDir();
    const wal = await openWal({ dir, fs: counter.fs, sync: 'interval', syncIntervalMs: 100 });
    const syncs = counter.syncs();
    await wal.put('k', 'v');
    await wal.rotate();
    // The cut of the preallocated zeros, the seal, the new header.
    expect(counter.syncs() - syncs).toBe(3);
    vi.advanceTimersByTime(1_000); // the timer was for the sealed segment: nothing left
    await settle(wal);
    expect(counter.syncs() - syncs).toBe(3);
  });
});
