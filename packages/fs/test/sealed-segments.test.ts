// The sealed-segment hook: listSealedSegments for what was sealed before a
// writer started, wal.sealedSegments() for a running one. Each segment is
// listed only once its seal is synced and the next segment exists, with the
// SHA-256 of its whole file.
import { createHash } from 'node:crypto';
import { listSealedSegments, type SealedSegmentInfo, type Wal } from '@wal/fs';
import { SimFs } from '@wal/fs/testing';
import { describe, expect, test } from 'vitest';
import { flipByte, openWal, rejectsWith, rootCode, segmentFile, tempDir } from './helpers.js';

const DIR = '/log';
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

// Three sealed segments (the second empty) and an active one.
async function sealedLog(wal: Wal): Promise<void> {
  await wal.put('a', '1');
  await wal.put('b', '2');
  await wal.rotate(); // segment 0: sequences 0..1
  await wal.rotate(); // segment 1: none
  await wal.batch([
    { type: 'put', key: 'c', value: '3' },
    { type: 'delete', key: 'a' },
  ]);
  await wal.rotate(); // segment 2: sequences 2..3
  await wal.put('d', '4'); // segment 3, active
}

function expected(sim: SimFs, segment: number, first: number, last: number): SealedSegmentInfo {
  const file = segmentFile(DIR, segment);
  const bytes = sim.readFile(file);
  return {
    segment,
    file,
    firstSequence: first,
    lastSequence: last,
    bytes: bytes.length,
    checksum: sha256(bytes),
  };
}

async function collect(feed: AsyncIterable<SealedSegmentInfo>): Promise<SealedSegmentInfo[]> {
  const out: SealedSegmentInfo[] = [];
  for await (const s of feed) out.push(s);
  return out;
}

// What a promise has settled to so far (nothing while it is pending).
function watch<T>(promise: Promise<T>): { result?: T; error?: unknown } {
  const seen: { result?: T; error?: unknown } = {};
  promise.then(
    (result) => {
      seen.result = result;
    },
    (error: unknown) => {
      seen.error = error;
    },
  );
  return seen;
}

// SimFs answers in microtasks: after one turn of the event loop, whatever
// can settle has settled, and a promise still pending never will.
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const DONE = { done: true, value: undefined };

describe('listSealedSegments', () => {
  test('lists every segment but the last, with its sequences, length and SHA-256', async () => {
    const sim = new SimFs();
    const wal = await openWal({ dir: DIR, fs: sim });
    await sealedLog(wal);
    const all = [expected(sim, 0, 0, 1), expected(sim, 1, 2, 1), expected(sim, 2, 2, 3)];
    expect(await listSealedSegments(DIR, { fs: sim })).toEqual(all);
    // `from` skips (and does not hash) the earlier ones.
    expect(await listSealedSegments(DIR, { fs: sim, from: 2 })).toEqual(all.slice(2));
    await wal.close();
    // Close marks the active segment; it is still not sealed.
    expect(await listSealedSegments(DIR, { fs: sim })).toEqual(all);
  });

  test('a seal with no next segment yet is not listed: the rotation may not have synced it', async () => {
    const sim = new SimFs();
    const wal = await openWal({ dir: DIR, fs: sim });
    await wal.put('a', '1');
    // The seal is written and synced, then creating the next segment fails.
    sim.inject({ ops: ['rename'] });
    await rejectsWith(wal.rotate(), 'WAL_FAILED');
    expect(wal.state).toBe('failed');
    expect(await listSealedSegments(DIR, { fs: sim })).toEqual([]);
    await wal.close();
    // The next open finishes the rotation: now it is sealed for good.
    const reopened = await openWal({ dir: DIR, fs: sim });
    expect(reopened.segment).toBe(1);
    expect(await listSealedSegments(DIR, { fs: sim })).toEqual([expected(sim, 0, 0, 0)]);
  });

  test('a broken chain is WAL_CORRUPTION; a missing directory WAL_NOT_FOUND; bad options WAL_INVALID_OPTIONS', async () => {
    const dir = tempDir();
    const wal = await openWal(dir);
    await wal.put('a', '1');
    await wal.rotate();
    await wal.close();
    // The seal's CRC no longer holds: segment 0 reads as unsealed.
    const [sealed] = await listSealedSegments(dir);
    flipByte(segmentFile(dir, 0), (sealed?.bytes ?? 0) - 1);
    const error = await rejectsWith(listSealedSegments(dir), 'WAL_CORRUPTION');
    expect(error.message).toContain('wal_00000000.log');
    await rejectsWith(listSealedSegments(`${dir}/missing`), 'WAL_NOT_FOUND');
    for (const bad of [{ from: -1 }, { fs: {} }, { bogus: 1 }]) {
      await rejectsWith(listSealedSegments(dir, bad as object), 'WAL_INVALID_OPTIONS');
    }
    await rejectsWith(listSealedSegments(''), 'WAL_INVALID_ARGUMENT');
    await rejectsWith(listSealedSegments(`${dir}\0x`), 'WAL_INVALID_ARGUMENT');
  });
});

describe('listSealedSegments while retention deletes', () => {
  // Segment 0 is unlinked right after `op` (of `path`, when given) completes.
  async function listDeletingSegment0(op: 'readdir' | 'close', path?: string) {
    const sim = new SimFs();
    const wal = await openWal({ dir: DIR, fs: sim });
    await sealedLog(wal);
    await wal.close();
    const left = [expected(sim, 1, 2, 1), expected(sim, 2, 2, 3)];
    sim.onOperation = (event) => {
      if (event.op !== op || (path !== undefined && event.path !== path)) return;
      sim.onOperation = undefined;
      void sim.unlink(segmentFile(DIR, 0));
    };
    return { listed: await listSealedSegments(DIR, { fs: sim }), left };
  }

  test('a segment deleted between the listing and its open is left out', async () => {
    const { listed, left } = await listDeletingSegment0('readdir');
    expect(listed).toEqual(left);
  });

  test('a segment deleted after its seal was read, before it is hashed, is left out', async () => {
    // Its header and seal are read through one handle, closed before the hash opens it again.
    const { listed, left } = await listDeletingSegment0('close', segmentFile(DIR, 0));
    expect(listed).toEqual(left);
  });

  test('a segment still listed that cannot be opened to be hashed is WAL_IO_ERROR, not left out', async () => {
    const sim = new SimFs();
    const wal = await openWal({ dir: DIR, fs: sim });
    await sealedLog(wal);
    await wal.close();
    // Opens 1 to 4 read the four segments' headers and seals; from the 5th
    // (hashing segment 0) on, every open finds nothing: a dangling link.
    sim.inject({ ops: ['open'], nth: 5, code: 'ENOENT', persistent: true });
    const error = await rejectsWith(listSealedSegments(DIR, { fs: sim }), 'WAL_IO_ERROR');
    expect(error.message).toMatch(
      /wal_00000000\.log, found ENOENT although the directory still lists it/,
    );
    expect(rootCode(error)).toBe('ENOENT');
  });
});

describe('wal.sealedSegments()', () => {
  test('yields what is sealed, then each segment as it is sealed, in order; ends at close', async () => {
    const sim = new SimFs();
    const wal = await openWal({ dir: DIR, fs: sim });
    await wal.put('a', '1');
    await wal.rotate();
    const feed = collect(wal.sealedSegments());
    await wal.put('b', '2');
    await wal.rotate();
    await wal.rotate();
    await wal.put('c', '3');
    await wal.close();
    expect(await feed).toEqual([
      expected(sim, 0, 0, 0),
      expected(sim, 1, 1, 1),
      expected(sim, 2, 2, 1),
    ]);
  });

  test('from skips earlier segments; from below the oldest left is WAL_TRUNCATED', async () => {
    const sim = new SimFs();
    const wal = await openWal({ dir: DIR, fs: sim });
    await sealedLog(wal);
    const later = wal.sealedSegments({ from: 2 });
    expect((await later.next()).value).toEqual(expected(sim, 2, 2, 3));
    await later.return?.();
    expect(await wal.truncateThrough(1)).toBe(2);
    const error = await rejectsWith(wal.sealedSegments({ from: 0 }).next(), 'WAL_TRUNCATED');
    expect(error.message).toMatch(/expected segment 0 .* oldest left is 2/);
  });

  test('from past the active segment skips the segments sealed later below it', async () => {
    const sim = new SimFs();
    const wal = await openWal({ dir: DIR, fs: sim });
    const feed = wal.sealedSegments({ from: 2 });
    await wal.put('a', '1');
    await wal.rotate(); // segment 0
    await wal.rotate(); // segment 1
    await wal.put('b', '2');
    await wal.rotate(); // segment 2
    expect((await feed.next()).value).toEqual(expected(sim, 2, 1, 1));
    await feed.return?.();
    await wal.close();
  });

  test('a segment retention deleted before it was taken is WAL_TRUNCATED, never skipped', async () => {
    const sim = new SimFs();
    const wal = await openWal({ dir: DIR, fs: sim, maxSegments: 1 });
    const feed = wal.sealedSegments();
    await wal.put('a', '1');
    await wal.rotate(); // lossy maxSegments deletes segment 0 at once
    const error = await rejectsWith(feed.next(), 'WAL_TRUNCATED');
    expect(error.message).toContain('wal_00000000.log (sequences 0 to 0)');
  });

  test('a retention failure after a rotation still yields the sealed segment; rotate() reports it', async () => {
    const sim = new SimFs();
    const wal = await openWal({ dir: DIR, fs: sim, sync: 'none', maxSegments: 2 });
    const feed = wal.sealedSegments();
    await wal.put('a', '1');
    await wal.rotate(); // seals 0
    expect((await feed.next()).value?.segment).toBe(0);
    await wal.put('b', '2');
    sim.inject({ ops: ['unlink'], code: 'EACCES' });
    const error = await rejectsWith(wal.rotate(), 'WAL_IO_ERROR'); // seals 1; deleting 0 fails
    expect(error.message).toMatch(
      /remove segment .*wal_00000000\.log.*EACCES.*segment 1 was sealed and 2 started/,
    );
    expect(rootCode(error)).toBe('EACCES');
    expect(wal.state).toBe('open');
    expect(wal.segment).toBe(2);
    expect(wal.durableSequence).toBe(2);
    // The feed yields segment 1 before the next retention could delete it.
    expect((await feed.next()).value).toEqual(expected(sim, 1, 1, 1));
    await wal.put('c', '3');
    await wal.rotate(); // seals 2; retention deletes 0 and 1
    expect((await feed.next()).value?.segment).toBe(2);
    expect(await wal.put('d', '4')).toBe(3);
  });

  test("a failed writer's feed yields what was sealed, then throws WAL_FAILED", async () => {
    const sim = new SimFs();
    // No zeros: the first sync after the rotation is that of b's frames.
    const wal = await openWal({ dir: DIR, fs: sim, preallocateBytes: 0 });
    const feed = wal.sealedSegments();
    await wal.put('a', '1');
    await wal.rotate();
    sim.inject({ ops: ['fdatasync'] });
    await rejectsWith(wal.put('b', '2'), 'WAL_FAILED');
    expect((await feed.next()).value?.segment).toBe(0);
    await rejectsWith(feed.next(), 'WAL_FAILED');
  });

  test('abort rejects a waiting feed with the reason; return() detaches it', async () => {
    const wal = await openWal({ dir: DIR, fs: new SimFs() });
    const controller = new AbortController();
    const feed = wal.sealedSegments({ signal: controller.signal });
    const waiting = feed.next();
    controller.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
    expect(await feed.next()).toEqual({ done: true, value: undefined });
    const other = wal.sealedSegments();
    await wal.rotate();
    for await (const s of other) {
      expect(s.segment).toBe(0);
      break;
    }
    await wal.rotate();
    expect(await other.next()).toEqual({ done: true, value: undefined });
  });

  test('next() calls waiting at once each take one segment, in call order', async () => {
    const sim = new SimFs();
    const wal = await openWal({ dir: DIR, fs: sim });
    const feed = wal.sealedSegments();
    const first = watch(feed.next());
    const second = watch(feed.next());
    await wal.put('a', '1');
    await wal.rotate();
    await wal.put('b', '2');
    await wal.rotate();
    await turn();
    expect(first).toEqual({ result: { done: false, value: expected(sim, 0, 0, 0) } });
    expect(second).toEqual({ result: { done: false, value: expected(sim, 1, 1, 1) } });
    const third = watch(feed.next());
    const fourth = watch(feed.next());
    await wal.close();
    await turn();
    expect(third).toEqual({ result: DONE });
    expect(fourth).toEqual({ result: DONE });
  });

  test('return() settles every waiting next() with done; so does an abort after the first throws', async () => {
    const wal = await openWal({ dir: DIR, fs: new SimFs() });
    const feed = wal.sealedSegments();
    const waiting = [watch(feed.next()), watch(feed.next())];
    expect(await feed.return?.()).toEqual(DONE);
    await turn();
    expect(waiting).toEqual([{ result: DONE }, { result: DONE }]);
    const controller = new AbortController();
    const aborted = wal.sealedSegments({ signal: controller.signal });
    const [first, second] = [watch(aborted.next()), watch(aborted.next())];
    controller.abort(new Error('stop'));
    await turn();
    expect(first.error).toEqual(new Error('stop'));
    expect(second).toEqual({ result: DONE });
    // Neither feed takes the next segment: they are detached.
    await wal.rotate();
    expect(await feed.next()).toEqual(DONE);
    expect(await aborted.next()).toEqual(DONE);
    await wal.close();
  });

  test('a feed subscribed while a rotation announces its segment yields it once', async () => {
    const sim = new SimFs();
    const wal = await openWal({ dir: DIR, fs: sim });
    await wal.put('a', '1');
    const feeds: AsyncIterableIterator<SealedSegmentInfo>[] = [];
    const file = segmentFile(DIR, 0);
    let rotated = false;
    // From the rotation's close of segment 0 until it resolves, a feed
    // subscribes at every microtask: microtasks run in order, so one lands
    // between the log taking segment 0 as sealed and the writer announcing
    // it to the feeds.
    sim.onOperation = ({ op, path }) => {
      if (op !== 'close' || path !== file) return;
      sim.onOperation = undefined;
      const subscribe = (): void => {
        if (rotated) return;
        feeds.push(wal.sealedSegments());
        queueMicrotask(subscribe);
      };
      queueMicrotask(subscribe);
    };
    await wal.rotate();
    rotated = true;
    await wal.close();
    expect(feeds.length).toBeGreaterThan(1);
    const sealed = expected(sim, 0, 0, 0);
    for (const feed of feeds) expect(await collect(feed)).toEqual([sealed]);
  });

  test('bad options throw WAL_INVALID_ARGUMENT; a closed writer WAL_CLOSED', async () => {
    const wal = await openWal({ dir: DIR, fs: new SimFs() });
    expect(() => wal.sealedSegments({ from: -1 })).toThrow(
      expect.objectContaining({ code: 'WAL_INVALID_ARGUMENT' }),
    );
    expect(() => wal.sealedSegments({ signal: 'x' as unknown as AbortSignal })).toThrow(
      expect.objectContaining({ code: 'WAL_INVALID_ARGUMENT' }),
    );
    await wal.close();
    expect(() => wal.sealedSegments()).toThrow(expect.objectContaining({ code: 'WAL_CLOSED' }));
  });
});
