// Damage that is not a torn tail: open refuses with WAL_CORRUPTION, names
// the file and offset, points to `wal repair`, and changes nothing on disk.
// Bit rot is told from a torn write by write order (a later frame's
// `synced` watermark), never by byte content; the chain of segments is
// checked from headers and seals before anything is acknowledged.
import fs from 'node:fs';
import {
  BATCH_PREFIX_SIZE,
  CorruptionError,
  encodeBatchFrame,
  encodeSegmentHeader,
  FRAME_HEADER_SIZE,
  OP_HEADER_SIZE,
  SEGMENT_HEADER_SIZE,
} from '@wal/codec';
import { nodeFs, WAL_FS_METHODS, Wal, type WalFs } from '@wal/fs';
import { SimFs } from '@wal/fs/testing';
import { describe, expect, test } from 'vitest';
import { FaultyFs } from './faulty-fs.js';
import {
  append,
  batchOffsets,
  flipByte,
  GatedFs,
  headerOf,
  puts,
  readEntries,
  readSegments,
  rejectsWith,
  SegmentBuilder,
  segmentFile as segment,
  simDisk,
  snapshot,
  tempDir,
  until,
  utf8,
} from './helpers.js';

// Three segments: 0 (seqs 0..3), 1 (4..7), 2 (8..11, active, ends with the close mark).
async function threeSegments(dir: string): Promise<void> {
  const wal = await Wal.open({ dir, sync: 'none' });
  await append(wal, puts(4));
  await wal.rotate();
  await append(wal, puts(4, 4));
  await wal.rotate();
  await append(wal, puts(4, 8));
  await wal.close();
}

// Opens twice (a refused open must leave nothing behind, the lock included)
// and checks the error and that the directory is byte for byte the same.
async function expectRefused(
  dir: string,
  file: string,
  offset: number,
  reason: string,
): Promise<CorruptionError> {
  const before = snapshot(dir);
  const faulty = new FaultyFs();
  let error: CorruptionError | undefined;
  for (const attempt of [0, 1]) {
    const e = await rejectsWith(Wal.open({ dir, fs: faulty.fs }), 'WAL_CORRUPTION');
    expect(e).toBeInstanceOf(CorruptionError);
    error = e as CorruptionError;
    expect(error.damage).toMatchObject({ file, offset, reason });
    expect(error.message).toContain(file);
    expect(error.message).toContain(`offset ${offset}`);
    expect(error.message).toContain(`wal repair ${dir}`);
    expect(snapshot(dir), `attempt ${attempt}`).toEqual(before);
  }
  expect([...faulty.openHandles.values()]).toEqual([]);
  expect(faulty.count('ftruncate')).toBe(0);
  expect(faulty.count('write')).toBe(0);
  // The lock was released: a third open gets the same answer, not WAL_LOCKED.
  await rejectsWith(Wal.open(dir), 'WAL_CORRUPTION');
  return error as CorruptionError;
}

describe('open refuses damage that is not a torn tail', () => {
  test('a bit flip in a record of the last segment that valid records follow', async () => {
    const dir = tempDir();
    await threeSegments(dir);
    const second = batchOffsets(readSegments(dir)[2])[1] as number;
    flipByte(segment(dir, 2), second + 15);
    await expectRefused(dir, segment(dir, 2), second, 'checksum-mismatch');
  });

  test.each([3, 9, 10, 13])(
    'a bit flip in record %i of a last segment read in several chunks',
    async (record) => {
      const dir = tempDir();
      const wal = await Wal.open({ dir, sync: 'none' });
      const big = 'x'.repeat(100_000);
      for (let i = 0; i < 15; i++) await wal.put(`k${i}`, `${i}${big}`);
      await wal.close();
      const offset = batchOffsets(readSegments(dir)[0])[record] as number;
      flipByte(segment(dir, 0), offset + 50_000);
      await expectRefused(dir, segment(dir, 0), offset, 'checksum-mismatch');
    },
  );

  test('a bit flip in a length field mid-log', async () => {
    const dir = tempDir();
    await threeSegments(dir);
    const first = batchOffsets(readSegments(dir)[2])[0] as number;
    flipByte(segment(dir, 2), first + 1);
    // 1 KiB longer: the record now runs over the next frames into the
    // preallocated zeros, so its CRC fails.
    await expectRefused(dir, segment(dir, 2), first, 'checksum-mismatch');
  });

  test('an intact frame with the wrong sequence, later-synced frames after it', async () => {
    const dir = tempDir();
    await threeSegments(dir);
    const file = segment(dir, 2);
    const [decoded] = readSegments(dir).slice(2);
    const at = batchOffsets(decoded)[2] as number;
    // CRC-valid with the segment's salt, so not torn, but sequence 20 where 10 was expected.
    const context = { salt: decoded?.header.salt as number, synced: SEGMENT_HEADER_SIZE };
    const stray = encodeBatchFrame(context, 20, [{ type: 'delete', key: utf8('x') }]);
    const bytes = fs.readFileSync(file);
    fs.writeFileSync(file, Buffer.concat([bytes.subarray(0, at), stray, bytes.subarray(at)]));
    await expectRefused(dir, file, at, 'bad-sequence');
  });

  test('a bad header in a sealed segment', async () => {
    const dir = tempDir();
    await threeSegments(dir);
    flipByte(segment(dir, 1), 21);
    await expectRefused(dir, segment(dir, 1), 0, 'bad-header');
  });

  test('a refused open whose lock release then fails still throws the refusal', async () => {
    const dir = tempDir();
    await threeSegments(dir);
    flipByte(segment(dir, 1), 21);
    const released: string[] = [];
    const failingRelease: WalFs = {
      ...(Object.fromEntries(
        WAL_FS_METHODS.map((m) => [m, (nodeFs[m] as (...a: unknown[]) => unknown).bind(nodeFs)]),
      ) as unknown as WalFs),
      lock: async (d) => {
        const release = await nodeFs.lock(d);
        return async () => {
          await release();
          released.push(d);
          throw Object.assign(new Error('EIO: i/o error, unlink'), { code: 'EIO' });
        };
      },
    };
    const error = await rejectsWith(Wal.open({ dir, fs: failingRelease }), 'WAL_CORRUPTION');
    expect(error).toBeInstanceOf(CorruptionError);
    expect(released).toEqual([dir]);
  });

  test('a bad header in the last segment', async () => {
    const dir = tempDir();
    await threeSegments(dir);
    flipByte(segment(dir, 2), 2);
    await expectRefused(dir, segment(dir, 2), 0, 'bad-header');
  });

  test('a sealed segment cut shorter than its header', async () => {
    const dir = tempDir();
    await threeSegments(dir);
    fs.truncateSync(segment(dir, 0), SEGMENT_HEADER_SIZE - 1);
    await expectRefused(dir, segment(dir, 0), 0, 'bad-header');
  });

  test('a segment whose header names another segment number', async () => {
    const dir = tempDir();
    await threeSegments(dir);
    fs.copyFileSync(segment(dir, 0), segment(dir, 2));
    const error = await expectRefused(dir, segment(dir, 2), 0, 'bad-header');
    expect(error.damage.detail).toContain('expected segment number 2');
  });

  test('a missing middle segment', async () => {
    const dir = tempDir();
    await threeSegments(dir);
    fs.unlinkSync(segment(dir, 1));
    const error = await expectRefused(dir, segment(dir, 2), 0, 'missing-segment');
    expect(error.damage.detail).toContain('wal_00000001.log');
  });

  test('a single segment numbered above 0 that is too short for a header', async () => {
    const dir = tempDir();
    fs.writeFileSync(segment(dir, 5), 'tiny');
    await expectRefused(dir, segment(dir, 5), 0, 'bad-header');
  });
});

describe('bit rot is never cut as a torn tail (issue 12)', () => {
  // The repro of issue 12: the first record's value is zero-filled, so a
  // zero-run heuristic took the flipped record for a torn write and cut it,
  // and the acknowledged, fdatasync'ed record after it.
  async function zeroFilledLog(dir: string, after: string[]): Promise<number> {
    const wal = await Wal.open(dir);
    expect(await wal.put('a', Buffer.alloc(1024))).toBe(0);
    for (const [i, key] of after.entries()) expect(await wal.put(key, 'x')).toBe(i + 1);
    await wal.close();
    const first = batchOffsets(readSegments(dir)[0])[0] as number;
    return first + FRAME_HEADER_SIZE + BATCH_PREFIX_SIZE + OP_HEADER_SIZE; // the key byte
  }

  test('a flip in a zero-filled record that an intact later-synced record follows', async () => {
    const dir = tempDir();
    const key = await zeroFilledLog(dir, ['b']);
    flipByte(segment(dir, 0), key, 0x03); // 'a' -> 'b'
    await expectRefused(dir, segment(dir, 0), SEGMENT_HEADER_SIZE, 'checksum-mismatch');
  });

  test('the same flip in the last record before the close mark', async () => {
    const dir = tempDir();
    const key = await zeroFilledLog(dir, []);
    flipByte(segment(dir, 0), key, 0x03);
    await expectRefused(dir, segment(dir, 0), SEGMENT_HEADER_SIZE, 'checksum-mismatch');
  });

  test('the same flip after a kill (no close mark): the later record alone says it was synced', async () => {
    const sim = new SimFs();
    const wal = await Wal.open({ dir: '/log', fs: sim });
    await wal.put('a', Buffer.alloc(1024));
    await wal.put('b', 'x');
    const killed = sim.kill(); // never closed: no mark
    const file = segment('/log', 0);
    const bytes = killed.readFile(file);
    const key = SEGMENT_HEADER_SIZE + FRAME_HEADER_SIZE + BATCH_PREFIX_SIZE + OP_HEADER_SIZE;
    expect(bytes[key]).toBe(0x61);
    bytes[key] = 0x62;
    killed.writeFile(file, bytes);
    const before = killed.snapshot();
    const error = await rejectsWith(Wal.open({ dir: '/log', fs: killed }), 'WAL_CORRUPTION');
    expect((error as CorruptionError).damage).toMatchObject({
      file,
      offset: SEGMENT_HEADER_SIZE,
      reason: 'checksum-mismatch',
    });
    expect(killed.snapshot()).toEqual(before);
    expect(killed.openHandles).toBe(0);
  });
});

describe('bit rot in a group the next one was encoded behind', () => {
  // Group 2 is encoded while group 1's fdatasync runs, so its frames carry
  // the watermark from before group 1. The mark written in front of group 2
  // is the only frame that says group 1 was durable: without it, rot in
  // group 1 of a killed writer's log (no close mark) reads as a torn write,
  // and open would cut both acknowledged groups.
  test('is refused: the mark in front of the later group says it was synced', async () => {
    const sim = new GatedFs();
    const wal = await Wal.open({ dir: '/log', fs: sim });
    sim.hold = true;
    const a = wal.put('a', 'one');
    await until(() => sim.waiting.length === 1, "group 1's fdatasync");
    const b = wal.put('b', 'two'); // fills group 2 while group 1 syncs
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    sim.release();
    await until(() => sim.waiting.length === 1, "group 2's fdatasync");
    sim.release();
    expect(await Promise.all([a, b])).toEqual([0, 1]); // both acknowledged, both durable
    sim.hold = false;
    const killed = sim.kill(); // no close mark
    await wal.close();

    const file = segment('/log', 0);
    const bytes = killed.readFile(file);
    const first = SEGMENT_HEADER_SIZE;
    const key = first + FRAME_HEADER_SIZE + BATCH_PREFIX_SIZE + OP_HEADER_SIZE;
    expect(bytes[key]).toBe(0x61);
    bytes[key] = 0x62;
    killed.writeFile(file, bytes);
    const before = killed.snapshot();
    const error = await rejectsWith(Wal.open({ dir: '/log', fs: killed }), 'WAL_CORRUPTION');
    expect((error as CorruptionError).damage).toMatchObject({
      file,
      offset: first,
      reason: 'checksum-mismatch',
    });
    expect(killed.snapshot()).toEqual(before);
  });
});

describe('the segment chain is checked before anything is acknowledged (issues 12, 13)', () => {
  test('a sealed segment that lost its last 100 bytes', async () => {
    const dir = tempDir();
    await threeSegments(dir);
    const file = segment(dir, 0);
    fs.truncateSync(file, fs.statSync(file).size - 100);
    const error = await expectRefused(dir, file, fs.statSync(file).size, 'bad-seal');
    expect(error.damage.segment).toBe(0);
  });

  test('a sealed segment with bytes after its seal', async () => {
    const dir = tempDir();
    await threeSegments(dir);
    const file = segment(dir, 1);
    fs.appendFileSync(file, Buffer.alloc(64));
    await expectRefused(dir, file, fs.statSync(file).size, 'bad-seal');
  });

  test('an empty last segment whose header starts at 5, after a segment that ends at 9', async () => {
    const dir = tempDir();
    const wal = await Wal.open(dir);
    await append(wal, puts(10));
    await wal.rotate();
    const { logId } = wal;
    await wal.close();
    fs.writeFileSync(
      segment(dir, 1),
      encodeSegmentHeader(headerOf({ segment: 1, firstSequence: 5, logId })),
    );
    const error = await expectRefused(dir, segment(dir, 1), 0, 'bad-sequence');
    expect(error.damage.detail).toContain('start at sequence 10');
  });

  test('a segment with records that does not continue the one before', async () => {
    const dir = tempDir();
    const wal = await Wal.open(dir);
    await append(wal, puts(4));
    await wal.rotate();
    const { logId } = wal;
    await wal.close();
    const next = new SegmentBuilder(headerOf({ segment: 1, firstSequence: 100, logId }));
    next.put('k100', 'v100').put('k101', 'v101');
    fs.writeFileSync(segment(dir, 1), next.bytes());
    await expectRefused(dir, segment(dir, 1), 0, 'bad-sequence');
  });

  test('a segment of another log, in its place and continuing its sequences', async () => {
    const dir = tempDir();
    const other = tempDir();
    await threeSegments(dir);
    await threeSegments(other);
    fs.copyFileSync(segment(other, 2), segment(dir, 2));
    const error = await expectRefused(dir, segment(dir, 2), 0, 'bad-header');
    expect(error.damage.detail).toContain('another log');
  });

  test('a segment of another log as one of two', async () => {
    const dir = tempDir();
    const other = tempDir();
    for (const d of [dir, other]) {
      const wal = await Wal.open(d);
      await append(wal, puts(2));
      await wal.rotate();
      await wal.close();
    }
    fs.copyFileSync(segment(other, 1), segment(dir, 1));
    const before = snapshot(dir);
    const error = await rejectsWith(Wal.open(dir), 'WAL_CORRUPTION');
    expect((error as CorruptionError).damage).toMatchObject({ reason: 'bad-header' });
    expect((error as CorruptionError).damage.detail).toContain('another log');
    expect(snapshot(dir)).toEqual(before);
  });

  test.each([
    ['a 1-byte', 1],
    ['an empty', 0],
  ])(
    '%s wal_00000000.log is damage, not an unfinished creation: refused, not set aside',
    async (_, size) => {
      const dir = tempDir();
      fs.writeFileSync(segment(dir, 0), Buffer.alloc(size, 0x89));
      const error = await expectRefused(dir, segment(dir, 0), 0, 'bad-header');
      expect(error.damage.bytes).toBe(size);
      expect(fs.readdirSync(dir).filter((n) => n.includes('broken'))).toEqual([]);
    },
  );

  test('a last segment shorter than a header after intact ones', async () => {
    const dir = tempDir();
    const wal = await Wal.open(dir);
    await append(wal, puts(2));
    await wal.rotate();
    await wal.close();
    fs.writeFileSync(segment(dir, 1), 'short');
    await expectRefused(dir, segment(dir, 1), 0, 'bad-header');
  });
});

describe('what open does not read', () => {
  test('records inside sealed segments are not scanned (recovery reports them), nor changed', async () => {
    // By design open reads every header and seal but scans only the last
    // segment, so startup does not grow with the log. Damage inside a sealed
    // segment's records is found by a reader, never cut by open.
    const dir = tempDir();
    await threeSegments(dir);
    const sealed = segment(dir, 0);
    const offset = batchOffsets(readSegments(dir)[0])[1] as number;
    flipByte(sealed, offset + 15);
    const damaged = fs.readFileSync(sealed);
    const wal = await Wal.open(dir);
    expect(wal.repairs).toEqual([]);
    expect(wal.nextSequence).toBe(12);
    await wal.close();
    expect(fs.readFileSync(sealed)).toEqual(damaged);
    expect(() => readEntries(dir)).toThrow(/checksum-mismatch/);
  });

  test('a refused open leaves a SimFs with no handle and no lock', async () => {
    const sim = new SimFs();
    const dir = '/log';
    const wal = await Wal.open({ dir, fs: sim });
    await wal.put('k', 'v');
    await wal.rotate();
    await wal.close();
    const file = segment(dir, 0);
    sim.writeFile(file, sim.readFile(file).subarray(0, 60));
    await rejectsWith(Wal.open({ dir, fs: sim }), 'WAL_CORRUPTION');
    expect(sim.openHandles).toBe(0);
    expect(sim.locks).toBe(0);
    expect(readSegments(dir, simDisk(sim))).toHaveLength(2);
  });
});
