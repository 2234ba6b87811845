// tailLog: a live reader that yields only durable entries, across rotations
// and retention, with a typed error (never a silent later start) when the
// entries it needs are gone.
import fs from 'node:fs';
import path from 'node:path';
import type { WalEntry } from '@wal/codec';
import { nodeFs, Wal, type WalFs } from '@wal/fs';
import { SimFs } from '@wal/fs/testing';
import { type LogTail, recover, TruncatedError, tailLog } from '@wal/recovery';
import fc from 'fast-check';
import { describe, expect, onTestFinished, test } from 'vitest';
import { plain, tempDir, utf8 } from './helpers.js';

const DIR = '/log';
const text = (b: Uint8Array): string => Buffer.from(b).toString();
const seqs = (entries: readonly { sequence: number }[]): number[] => entries.map((e) => e.sequence);
const upTo = (from: number, to: number): number[] =>
  Array.from({ length: to - from }, (_, i) => from + i);

// Lets file-system callbacks and queued jobs run for `turns` event-loop turns.
async function settle(turns = 50): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}

async function open(options: Parameters<typeof Wal.open>[0]): Promise<Wal> {
  const wal = await Wal.open(options);
  return wal;
}

// Collects what a tail yields in the background; `until(n)` waits for n entries.
// The tail is closed when the test ends: a cross-process tail never ends by
// itself, and one left polling slows every later test in the file.
function collector(tail: LogTail) {
  onTestFinished(() => tail.close());
  const got: WalEntry[] = [];
  let error: unknown;
  let ended = false;
  const waiters: (() => void)[] = [];
  const done = (async () => {
    try {
      for await (const batch of tail.batches()) {
        got.push(...batch);
        for (const w of waiters.splice(0)) w();
      }
    } catch (e) {
      error = e;
    } finally {
      ended = true;
      for (const w of waiters.splice(0)) w();
    }
  })();
  const until = async (n: number): Promise<void> => {
    while (got.length < n && !ended) await new Promise<void>((r) => waiters.push(r));
    if (error) throw error;
    expect(got.length).toBeGreaterThanOrEqual(n);
  };
  return {
    got,
    until,
    done: async () => {
      await done;
      return error;
    },
  };
}

describe('with the writer in this process', () => {
  test('yields every entry once durable, in order, across rotations, then ends at close', async () => {
    const sim = new SimFs();
    const wal = await open({ dir: DIR, fs: sim, maxSegmentBytes: 600 });
    const tail = tailLog(DIR, { wal });
    const c = collector(tail);
    for (let i = 0; i < 60; i++) await wal.put(`k${i}`, `v${i}`);
    await wal.batch([
      { type: 'put', key: 'b0', value: 'x' },
      { type: 'delete', key: 'k0' },
    ]);
    await c.until(62);
    expect(wal.segment).toBeGreaterThan(3);
    await wal.close();
    expect(await c.done()).toBeUndefined();
    expect(seqs(c.got)).toEqual(upTo(0, 62));
    expect(text(c.got[5]?.key as Uint8Array)).toBe('k5');
    expect(c.got[61]).toMatchObject({ type: 'delete' });
  });

  test("'none': nothing before a sync covers it; a power loss at any wakeup keeps every yielded entry", async () => {
    const sim = new SimFs();
    const wal = await open({ dir: DIR, fs: sim, sync: 'none', maxSegmentBytes: 500 });
    const tail = tailLog(DIR, { wal });
    const yielded: number[] = [];
    const checked = (async () => {
      for await (const batch of tail.batches()) {
        // A power loss right now keeps everything this tail has yielded.
        const { entries } = await recover(DIR, { fs: sim.crash() });
        yielded.push(...seqs(batch));
        expect(seqs(entries).slice(0, yielded.length)).toEqual(yielded);
      }
    })();
    for (let i = 0; i < 5; i++) await wal.put(`k${i}`, 'v');
    await settle();
    expect(yielded).toEqual([]);
    await wal.sync();
    await settle();
    expect(yielded).toEqual(upTo(0, 5));
    for (let i = 5; i < 40; i++) {
      await wal.put(`k${i}`, 'v'.repeat(i));
      if (i % 7 === 0) await wal.sync();
    }
    await settle();
    // Rotations sync too: what is yielded is exactly what is durable.
    expect(yielded).toEqual(upTo(0, wal.durableSequence));
    await wal.close();
    await checked;
    expect(yielded).toEqual(upTo(0, 40));
  });

  test('property: whatever the appends, syncs and rotations, every yielded entry survives a power loss and the tail ends with everything', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('always' as const, 'none' as const),
        fc.array(fc.oneof(fc.integer({ min: 1, max: 5 }), fc.constantFrom('sync', 'rotate')), {
          minLength: 1,
          maxLength: 20,
        }),
        async (sync, ops) => {
          const sim = new SimFs();
          const wal = await open({ dir: DIR, fs: sim, sync, maxSegmentBytes: 400 });
          const tail = tailLog(DIR, { wal });
          const yielded: number[] = [];
          const checked = (async () => {
            for await (const batch of tail.batches()) {
              yielded.push(...seqs(batch));
              const { entries } = await recover(DIR, { fs: sim.crash() });
              expect(seqs(entries).slice(0, yielded.length)).toEqual(yielded);
            }
          })();
          for (const op of ops) {
            if (op === 'sync') await wal.sync();
            else if (op === 'rotate') await wal.rotate();
            else await Promise.all(Array.from({ length: op }, (_, i) => wal.put(`k${i}`, 'value')));
          }
          const end = wal.nextSequence;
          await wal.close();
          await checked;
          expect(yielded).toEqual(upTo(0, end));
        },
      ),
      { numRuns: 30 },
    );
  });

  test("'latest' starts at the durable end; a sequence starts there; both skip nothing after", async () => {
    const sim = new SimFs();
    const wal = await open({ dir: DIR, fs: sim, maxSegmentBytes: 400 });
    for (let i = 0; i < 20; i++) await wal.put(`k${i}`, 'v');
    const latest = collector(tailLog(DIR, { wal, from: 'latest' }));
    const middle = collector(tailLog(DIR, { wal, from: 7 }));
    await middle.until(13);
    await settle();
    for (let i = 20; i < 25; i++) await wal.put(`k${i}`, 'v');
    await wal.close();
    await latest.done();
    await middle.done();
    expect(seqs(latest.got)).toEqual(upTo(20, 25));
    expect(seqs(middle.got)).toEqual(upTo(7, 25));
  });

  test('follows retention: truncateThrough behind the reader never makes it skip', async () => {
    const sim = new SimFs();
    const wal = await open({ dir: DIR, fs: sim, maxSegmentBytes: 400 });
    const c = collector(tailLog(DIR, { wal }));
    for (let i = 0; i < 80; i++) {
      await wal.put(`k${i}`, 'v');
      // Delete every segment the reader has fully read.
      const read = c.got.at(-1)?.sequence;
      if (read !== undefined) await wal.truncateThrough(read);
    }
    await c.until(80);
    expect(await wal.truncateThrough(79)).toBeGreaterThanOrEqual(0);
    await wal.close();
    expect(await c.done()).toBeUndefined();
    expect(seqs(c.got)).toEqual(upTo(0, 80));
  });

  test('a reader retention overtook fails with WAL_TRUNCATED naming both sequences, after what it read', async () => {
    const sim = new SimFs();
    const wal = await open({ dir: DIR, fs: sim, maxSegmentBytes: 400 });
    const tail = tailLog(DIR, { wal });
    const it = tail[Symbol.asyncIterator]();
    await wal.put('k0', 'v');
    expect((await it.next()).value?.sequence).toBe(0);
    // The reader pauses; the writer moves three segments on and deletes them.
    for (let i = 1; i < 40; i++) await wal.put(`k${i}`, 'v');
    const segment = wal.segment;
    await wal.rotate();
    expect(await wal.truncateThrough(39)).toBe(segment + 1);
    const read: number[] = [];
    let error: unknown;
    try {
      for (let r = await it.next(); !r.done; r = await it.next()) read.push(r.value.sequence);
    } catch (e) {
      error = e;
    }
    // It finishes the segment it had open (its file stays readable), then stops.
    expect(read).toEqual(upTo(1, read.length + 1));
    expect(error).toBeInstanceOf(TruncatedError);
    const truncated = error as TruncatedError;
    expect(truncated.code).toBe('WAL_TRUNCATED');
    expect(truncated.requestedSequence).toBe(read.length + 1);
    expect(truncated.earliestSequence).toBe(40);
    expect(truncated.message).toContain(`expected sequence ${read.length + 1}`);
    expect(truncated.message).toContain('the earliest sequence left is 40');
    await wal.close();
  });

  test('retain: retention cannot overtake the tail; it reads everything after a pause', async () => {
    const sim = new SimFs();
    const wal = await open({ dir: DIR, fs: sim, maxSegmentBytes: 400 });
    const tail = tailLog(DIR, { wal, retain: true });
    const it = tail[Symbol.asyncIterator]();
    await wal.put('k0', 'v');
    expect((await it.next()).value?.sequence).toBe(0);
    for (let i = 1; i < 40; i++) await wal.put(`k${i}`, 'v');
    await wal.rotate();
    // Everything is flushed elsewhere, but the tail still needs it.
    expect(await wal.truncateThrough(39)).toBe(0);
    const read: number[] = [];
    let deleted = 0;
    while (read.length < 39) {
      read.push((await it.next()).value?.sequence as number);
      // What the tail has left behind goes at the next retention call.
      deleted += await wal.truncateThrough(39);
    }
    expect(read).toEqual(upTo(1, 40));
    expect(deleted).toBe(wal.segment - 1); // all but the one it reads (and the active one)
    await tail.close();
    await wal.close();
  });

  test("retain with a bound, 'error': a tail that falls too far behind fails with WAL_HOLD_EXCEEDED", async () => {
    const sim = new SimFs();
    const wal = await open({ dir: DIR, fs: sim, maxSegmentBytes: 400 });
    const tail = tailLog(DIR, { wal, retain: { maxBytes: 1000, onExceeded: 'error' } });
    const it = tail[Symbol.asyncIterator]();
    await wal.put('k0', 'v');
    expect((await it.next()).value?.sequence).toBe(0);
    for (let i = 1; i < 60; i++) await wal.put(`k${i}`, 'v');
    await wal.rotate();
    const read: number[] = [];
    const error = await (async () => {
      for (let r = await it.next(); !r.done; r = await it.next()) read.push(r.value.sequence);
    })().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'WAL_HOLD_EXCEEDED' });
    expect(await wal.truncateThrough(59)).toBeGreaterThan(0);
    await wal.close();
  });

  test('a start retention already deleted is WAL_TRUNCATED, never a later start', async () => {
    const sim = new SimFs();
    const wal = await open({ dir: DIR, fs: sim });
    for (let i = 0; i < 10; i++) await wal.put(`k${i}`, 'v');
    await wal.rotate();
    await wal.put('k10', 'v');
    await wal.truncateThrough(9);
    const error = await tailLog(DIR, { wal, from: 3 })
      [Symbol.asyncIterator]()
      .next()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TruncatedError);
    expect(error).toMatchObject({ requestedSequence: 3, earliestSequence: 10 });
    expect(String(error)).toMatch(/expected sequence 3 .* earliest sequence left is 10/);
    // 'earliest' starts at what is left.
    const c = collector(tailLog(DIR, { wal }));
    await c.until(1);
    expect(seqs(c.got)).toEqual([10]);
    await wal.close();
  });

  test('a failed writer: the tail yields what was durable, then throws WAL_FAILED', async () => {
    const sim = new SimFs();
    const wal = await open({ dir: DIR, fs: sim });
    const c = collector(tailLog(DIR, { wal }));
    await wal.put('a', '1');
    sim.inject({ ops: ['fdatasync'] });
    await expect(wal.put('b', '2')).rejects.toMatchObject({ code: 'WAL_FAILED' });
    expect(await c.done()).toMatchObject({ code: 'WAL_FAILED' });
    expect(seqs(c.got)).toEqual([0]);
    await wal.close();
  });
});

describe('across processes (no writer given: the files only)', () => {
  test('the last synced group waits for a later frame to prove it durable: here, the close mark', async () => {
    const dir = tempDir();
    const wal = await open(dir);
    const tail = tailLog(dir, { pollIntervalMs: 5 });
    const c = collector(tail);
    await wal.put('a', '1');
    await wal.put('b', '2'); // written after 'a' was synced: its frame says so
    await c.until(1);
    await settle();
    expect(seqs(c.got)).toEqual([0]);
    await wal.close(); // the mark says 'b' is durable
    await c.until(2);
    expect(seqs(c.got)).toEqual([0, 1]);
    await tail.close();
    expect(await c.done()).toBeUndefined();
  });

  test('fs.watch wakes it: with an hour between polls, appends still arrive', async () => {
    const dir = tempDir();
    const wal = await open(dir);
    await wal.put('a', '1');
    const tail = tailLog(dir, { pollIntervalMs: 3_600_000 });
    const c = collector(tail);
    await wal.put('b', '2');
    await c.until(1);
    await wal.put('c', '3');
    await wal.rotate();
    await wal.put('d', '4');
    await c.until(3);
    expect(seqs(c.got)).toEqual([0, 1, 2]);
    await wal.close();
    await c.until(4);
    await tail.close();
  });

  test("'none': a sync alone is invisible; the next frame carries it", async () => {
    const sim = new SimFs();
    const wal = await open({ dir: DIR, fs: sim, sync: 'none' });
    const c = collector(tailLog(DIR, { fs: sim, pollIntervalMs: 1 }));
    await wal.put('a', '1');
    await wal.put('b', '2');
    await settle();
    expect(c.got).toEqual([]);
    await wal.sync();
    await settle();
    expect(c.got).toEqual([]);
    await wal.put('c', '3'); // encoded after the sync: its synced field covers 'a' and 'b'
    await c.until(2);
    const { entries } = await recover(DIR, { fs: sim.crash() });
    expect(seqs(entries)).toEqual([0, 1]);
    await settle();
    expect(seqs(c.got)).toEqual([0, 1]);
    await wal.close();
    await c.until(3);
  });

  test('follows rotations and truncateThrough; yields each entry once, in order', async () => {
    const dir = tempDir();
    const wal = await open({ dir, maxSegmentBytes: 400 });
    const tail = tailLog(dir, { pollIntervalMs: 5 });
    const c = collector(tail);
    for (let i = 0; i < 60; i++) {
      await wal.put(`k${i}`, 'v');
      const read = c.got.at(-1)?.sequence;
      if (read !== undefined && i % 10 === 0) await wal.truncateThrough(read);
    }
    await wal.close();
    await c.until(60);
    await tail.close();
    expect(await c.done()).toBeUndefined();
    expect(seqs(c.got)).toEqual(upTo(0, 60));
  });

  test("'latest' skips what is confirmed already", async () => {
    const dir = tempDir();
    const wal = await open(dir);
    for (let i = 0; i < 5; i++) await wal.put(`k${i}`, 'v');
    await wal.close();
    const c = collector(tailLog(dir, { from: 'latest', pollIntervalMs: 5 }));
    await settle();
    const again = await open(dir);
    await again.put('k5', 'v');
    await again.close();
    await c.until(1);
    expect(seqs(c.got)).toEqual([5]);
  });

  test('rot in durable bytes is WAL_CORRUPTION; a write still landing is waited for', async () => {
    const sim = new SimFs();
    const wal = await open({ dir: DIR, fs: sim });
    for (let i = 0; i < 3; i++) await wal.put(`k${i}`, 'value');
    await wal.close();
    const file = `${DIR}/wal_00000000.log`;
    const good = sim.readFile(file);
    // Half a frame appended: no later frame vouches for it, so it is waited for.
    sim.writeFile(file, new Uint8Array(Buffer.concat([good, utf8('\x20\x00\x00\x00garbage')])));
    const landing = collector(tailLog(DIR, { fs: sim, pollIntervalMs: 1 }));
    await landing.until(3);
    await settle();
    expect(seqs(landing.got)).toEqual([0, 1, 2]);
    // A bit flipped in the first frame, which the later frames say was durable.
    const rotten = good.slice();
    rotten[48 + 12] = (rotten[48 + 12] as number) ^ 1;
    sim.writeFile(file, rotten);
    const error = await tailLog(DIR, { fs: sim })
      [Symbol.asyncIterator]()
      .next()
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'WAL_CORRUPTION' });
    expect(String(error)).toContain('wal_00000000.log at offset 48');
  });
});

describe('moving on to the next segment, without a writer', () => {
  async function fourSegments(dir: string): Promise<(n: number) => string> {
    const wal = await Wal.open(dir);
    for (let s = 0; s < 4; s++) {
      await wal.put(`k${s}`, 'v');
      await wal.rotate();
    }
    await wal.close();
    return (n) => path.join(dir, `wal_${String(n).padStart(8, '0')}.log`);
  }

  test('a dangling link as the next segment is WAL_IO_ERROR, as the scan has it, not WAL_TRUNCATED', async () => {
    const dir = tempDir();
    const segment = await fourSegments(dir);
    const tail = tailLog(dir, { watch: false, pollIntervalMs: 3_600_000 });
    const it = tail[Symbol.asyncIterator]();
    expect((await it.next()).value?.sequence).toBe(0);
    fs.unlinkSync(segment(1));
    fs.symlinkSync(path.join(dir, 'elsewhere', 'wal_00000001.log'), segment(1));
    const error = await it.next().catch((e: unknown) => e);
    await tail.close();
    expect(error).toMatchObject({
      code: 'WAL_IO_ERROR',
      message: expect.stringMatching(
        /wal_00000001\.log, found ENOENT although the directory still lists it/,
      ),
    });
  });

  test('retention deleting the next segments around its listing is WAL_TRUNCATED', async () => {
    const dir = tempDir();
    const segment = await fourSegments(dir);
    let armed = false;
    const racing: WalFs = {
      ...nodeFs,
      readdir: async (d: string) => {
        const names = await nodeFs.readdir(d);
        // Retention goes on deleting right after the tail listed the directory.
        if (armed && fs.existsSync(segment(2))) fs.unlinkSync(segment(2));
        return names;
      },
    };
    const tail = tailLog(dir, { fs: racing, watch: false, pollIntervalMs: 3_600_000 });
    const it = tail[Symbol.asyncIterator]();
    expect((await it.next()).value?.sequence).toBe(0);
    armed = true;
    fs.unlinkSync(segment(1)); // deleted while the tail read segment 0
    const error = await it.next().catch((e: unknown) => e);
    await tail.close();
    expect(error).toMatchObject({ code: 'WAL_TRUNCATED' });
    expect(error).toBeInstanceOf(TruncatedError);
  });
});

describe('free space: the zeros a writer preallocates after its last frame', () => {
  const FILE = `${DIR}/wal_00000000.log`;

  // What a tail yields, and how it ends, within `turns` event-loop turns:
  // a tail that waits instead of failing is closed then (and ends with no error).
  async function outcome(tail: LogTail, turns = 500): Promise<{ got: number[]; error: unknown }> {
    const got: number[] = [];
    let ended = false;
    const done = (async () => {
      for await (const batch of tail.batches()) got.push(...seqs(batch));
    })().then(
      () => undefined,
      (e: unknown) => e,
    );
    void done.then(() => {
      ended = true;
    });
    for (let i = 0; i < turns && !ended; i++) await new Promise((r) => setImmediate(r));
    await tail.close();
    return { got, error: await done };
  }

  test('across processes, the tail waits at them and reads the frames written over them, across a reopen', async () => {
    const sim = new SimFs();
    const wal = await open({ dir: DIR, fs: sim, preallocateBytes: 4096 });
    const tail = tailLog(DIR, { fs: sim, pollIntervalMs: 1 });
    const c = collector(tail);
    await wal.put('a', '1');
    await wal.put('b', '2');
    await c.until(1);
    await settle();
    expect(sim.readFile(FILE).length).toBeGreaterThan(wal.segmentSize); // zeros after the frames
    expect(seqs(c.got)).toEqual([0]);
    await wal.close(); // its mark, written over the zeros, vouches for 'b'
    await c.until(2);
    const again = await open({ dir: DIR, fs: sim, preallocateBytes: 4096 });
    expect(sim.readFile(FILE).length).toBeGreaterThan(again.segmentSize);
    for (let i = 0; i < 3; i++) await again.put(`k${i}`, 'v');
    await again.close();
    await c.until(5);
    await settle();
    expect(seqs(c.got)).toEqual(upTo(0, 5));
    await tail.close();
    expect(await c.done()).toBeUndefined();
  });

  test('zeros where a durable frame was, before later frames, are WAL_CORRUPTION (zero-fill), never free space', async () => {
    const sim = new SimFs();
    const wal = await open({ dir: DIR, fs: sim });
    for (let i = 0; i < 3; i++) await wal.put(`k${i}`, 'value');
    await wal.close();
    const bytes = sim.readFile(FILE).slice();
    bytes.fill(0, 48, 48 + 20); // the first frame's header and part of its record
    sim.writeFile(FILE, bytes);
    const { got, error } = await outcome(tailLog(DIR, { fs: sim, pollIntervalMs: 1 }));
    expect(got).toEqual([]);
    expect(error).toMatchObject({ code: 'WAL_CORRUPTION', damage: { offset: 48 } });
  });

  test('zeros after the last frame of a segment that has a next one are WAL_CORRUPTION: only the last segment has free space', async () => {
    const sim = new SimFs();
    const wal = await open({ dir: DIR, fs: sim });
    for (let i = 0; i < 3; i++) await wal.put(`k${i}`, 'value');
    await wal.rotate();
    await wal.put('k3', 'value');
    await wal.close();
    const sealed = sim.readFile(FILE);
    // The seal replaced by zeros, as if a rotation had left the preallocation in place.
    const zeroed = sealed.slice();
    zeroed.fill(0, sealed.length - 29);
    sim.writeFile(FILE, new Uint8Array(Buffer.concat([zeroed, new Uint8Array(4096)])));
    const { got, error } = await outcome(tailLog(DIR, { fs: sim, pollIntervalMs: 1 }));
    expect(got).toEqual([0, 1, 2]);
    // As every reader reports it: the zeros end the data of a segment that must end with its seal.
    expect(error).toMatchObject({
      code: 'WAL_CORRUPTION',
      damage: { segment: 0, reason: 'bad-seal', offset: sealed.length - 29 },
    });
    await expect(recover(DIR, { fs: sim })).rejects.toMatchObject({
      reason: 'bad-seal',
      offset: sealed.length - 29,
    });
  });

  test('with the writer, a tail reads each group as its sync lands over the zeros', async () => {
    const sim = new SimFs();
    const wal = await open({ dir: DIR, fs: sim, preallocateBytes: 4096, maxSegmentBytes: 2048 });
    const c = collector(tailLog(DIR, { wal }));
    for (let i = 0; i < 40; i++) {
      await wal.put(`k${i}`, 'v'.repeat(20));
      await c.until(i + 1);
      expect(sim.readFile(wal.file).length).toBeGreaterThan(wal.segmentSize);
    }
    expect(wal.segment).toBeGreaterThan(0);
    await wal.close();
    expect(await c.done()).toBeUndefined();
    expect(seqs(c.got)).toEqual(upTo(0, 40));
  });
});

describe('lifecycle and options', () => {
  test('close() ends a waiting tail; abort rejects with the reason; await using closes', async () => {
    const sim = new SimFs();
    const wal = await open({ dir: DIR, fs: sim });
    const tail = tailLog(DIR, { wal });
    const it = tail[Symbol.asyncIterator]();
    const pending = it.next();
    await settle();
    await tail.close();
    expect(await pending).toEqual({ done: true, value: undefined });

    const controller = new AbortController();
    const aborted = tailLog(DIR, { wal, signal: controller.signal })[Symbol.asyncIterator]().next();
    await settle();
    controller.abort(new Error('stop'));
    await expect(aborted).rejects.toThrow('stop');

    const crossProcess = new AbortController();
    const polling = tailLog(DIR, { fs: sim, signal: crossProcess.signal })
      [Symbol.asyncIterator]()
      .next();
    await settle();
    crossProcess.abort(new Error('stop polling'));
    await expect(polling).rejects.toThrow('stop polling');

    await wal.put('a', '1');
    {
      await using scoped = tailLog(DIR, { wal });
      for await (const entry of scoped) {
        expect(plain(entry)).toMatchObject({ sequence: 0 });
        break;
      }
    }
    await wal.close();
    expect(sim.openHandles).toBe(0);
  });

  test('bad options are WAL_INVALID_OPTIONS before any I/O; a second iteration WAL_INVALID_ARGUMENT', async () => {
    const sim = new SimFs();
    const wal = await open({ dir: DIR, fs: sim });
    const other = await open({ dir: '/other', fs: sim });
    for (const bad of [
      { from: -1 },
      { from: 'newest' },
      { from: 1.5 },
      { wal: {} },
      { wal: other },
      { wal, fs: new SimFs() },
      { pollIntervalMs: 0 },
      { signal: 'x' },
      { retain: true },
      { wal, retain: { maxBytes: 0 } },
      { bogus: true },
    ]) {
      expect(() => tailLog(DIR, bad as object), JSON.stringify(Object.keys(bad))).toThrow(
        expect.objectContaining({ code: 'WAL_INVALID_OPTIONS' }),
      );
    }
    expect(() => tailLog('')).toThrow(expect.objectContaining({ code: 'WAL_INVALID_ARGUMENT' }));
    const tail = tailLog(DIR, { wal });
    tail.batches();
    expect(() => tail[Symbol.asyncIterator]()).toThrow(
      expect.objectContaining({ code: 'WAL_INVALID_ARGUMENT' }),
    );
    await tail.close();
    await expect(
      tailLog('/missing', { fs: sim })[Symbol.asyncIterator]().next(),
    ).rejects.toMatchObject({ code: 'WAL_NOT_FOUND' });
    await wal.close();
    await other.close();
  });
});
