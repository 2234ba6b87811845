// Damage that is not a torn tail: open refuses with WAL_CORRUPTION, names
// the file and offset, points to `wal repair`, and changes nothing on disk.
import fs from 'node:fs';
import path from 'node:path';
import { CorruptionError, encodeRecord, SEGMENT_HEADER_SIZE } from '@wal/codec';
import { Wal } from '@wal/fs';
import { describe, expect, test } from 'vitest';
import { FaultyFs } from './faulty-fs.js';
import {
  append,
  puts,
  readEntries,
  readSegments,
  rejectsWith,
  snapshot,
  tempDir,
} from './helpers.js';

const segment = (dir: string, n: number) => path.join(dir, `wal_${String(n).padStart(8, '0')}.log`);

// Three segments: 0 (seqs 0..3), 1 (4..7), 2 (8..11, active).
async function threeSegments(dir: string): Promise<void> {
  const wal = await Wal.open({ dir, sync: 'none' });
  await append(wal, puts(4));
  await wal.rotate();
  await append(wal, puts(4, 4));
  await wal.rotate();
  await append(wal, puts(4, 8));
  await wal.close();
}

function flip(file: string, offset: number): void {
  const bytes = fs.readFileSync(file);
  bytes[offset] = (bytes[offset] as number) ^ 0x04;
  fs.writeFileSync(file, bytes);
}

// Opens twice (a refused open must leave nothing behind, the lock included)
// and checks the error and that the directory is byte for byte the same.
async function expectRefused(dir: string, file: string, offset: number, reason: string) {
  const before = snapshot(dir);
  const faulty = new FaultyFs();
  for (const attempt of [0, 1]) {
    const error = await rejectsWith(Wal.open({ dir, fs: faulty.fs }), 'WAL_CORRUPTION');
    expect(error).toBeInstanceOf(CorruptionError);
    expect(error).toMatchObject({ file, offset, reason });
    expect(error.message).toContain(file);
    expect(error.message).toContain(`offset ${offset}`);
    expect(error.message).toContain(`wal repair ${dir}`);
    expect(snapshot(dir), `attempt ${attempt}`).toEqual(before);
  }
  expect([...faulty.openHandles.values()]).toEqual([]);
  expect(faulty.count('ftruncate')).toBe(0);
}

describe('open refuses damage that is not a torn tail', () => {
  test('a bit flip in a record of the last segment that valid records follow', async () => {
    const dir = tempDir();
    await threeSegments(dir);
    const records = readSegments(dir)[2]?.results ?? [];
    const second = records[1]?.offset as number;
    flip(segment(dir, 2), second + 15);
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
      const offset = readSegments(dir)[0]?.results[record]?.offset as number;
      flip(segment(dir, 0), offset + 50_000);
      await expectRefused(dir, segment(dir, 0), offset, 'checksum-mismatch');
    },
  );

  test('a bit flip in a length field mid-log', async () => {
    const dir = tempDir();
    await threeSegments(dir);
    const first = readSegments(dir)[2]?.results[0]?.offset as number;
    flip(segment(dir, 2), first + 1);
    await expectRefused(dir, segment(dir, 2), first, 'bad-length');
  });

  test('a valid frame with the wrong sequence in the last segment', async () => {
    const dir = tempDir();
    await threeSegments(dir);
    const file = segment(dir, 2);
    const size = fs.statSync(file).size;
    // CRC-valid, so not torn, but sequence 20 where 12 was expected.
    fs.appendFileSync(file, encodeRecord(20, [{ type: 'delete', key: new Uint8Array(1) }]));
    await expectRefused(dir, file, size, 'bad-sequence');
  });

  test('a bad header in a sealed segment', async () => {
    const dir = tempDir();
    await threeSegments(dir);
    flip(segment(dir, 1), 21);
    await expectRefused(dir, segment(dir, 1), 0, 'bad-header');
  });

  test('a bad header in the last segment', async () => {
    const dir = tempDir();
    await threeSegments(dir);
    flip(segment(dir, 2), 2);
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
    fs.copyFileSync(segment(dir, 0), segment(dir, 3));
    await expectRefused(dir, segment(dir, 3), 0, 'bad-header');
  });

  test('a missing middle segment', async () => {
    const dir = tempDir();
    await threeSegments(dir);
    fs.unlinkSync(segment(dir, 1));
    await expectRefused(dir, segment(dir, 2), 0, 'bad-sequence');
  });

  test('a single segment numbered above 0 that is too short for a header', async () => {
    const dir = tempDir();
    fs.writeFileSync(segment(dir, 5), 'tiny');
    await expectRefused(dir, segment(dir, 5), 0, 'bad-header');
  });
});

describe('a record longer than the maxRecordBytes it is reopened with', () => {
  test.each([
    ['the last record', 0],
    ['a record other records follow', 2],
  ])('%s is refused (WAL_RECORD_TOO_LARGE), never cut as a torn tail', async (_, after) => {
    const dir = tempDir();
    const wal = await Wal.open(dir); // the default limit, 16 MiB
    await wal.put('small', 'x');
    await wal.put('big', 'y'.repeat(5_000));
    for (let i = 0; i < after; i++) await wal.put(`after${i}`, 'z');
    await wal.close();
    const before = snapshot(dir);

    const error = await rejectsWith(
      Wal.open({ dir, maxRecordBytes: 4_096 }),
      'WAL_RECORD_TOO_LARGE',
    );
    expect(error.message).toContain('maxRecordBytes >= 5025'); // 13 + 5 + 3 + 4 + 5000;
    expect(snapshot(dir)).toEqual(before);
    const reopened = await Wal.open({ dir, maxRecordBytes: 8_192 });
    expect(reopened.repairs).toEqual([]);
    expect(reopened.nextSequence).toBe(2 + after);
    await reopened.close();
  });
});

describe('what open does not read', () => {
  test('records inside sealed segments are not scanned (recovery reports them), nor changed', async () => {
    // By design open reads every header but scans only the last segment, so
    // startup does not grow with the log. Damage inside a sealed segment's
    // records is found by a reader, never cut by open.
    const dir = tempDir();
    await threeSegments(dir);
    const sealed = segment(dir, 0);
    const offset = readSegments(dir)[0]?.results[1]?.offset as number;
    flip(sealed, offset + 15);
    const damaged = fs.readFileSync(sealed);
    const wal = await Wal.open(dir);
    expect(wal.repairs).toEqual([]);
    expect(wal.nextSequence).toBe(12);
    await wal.close();
    expect(fs.readFileSync(sealed)).toEqual(damaged);
    expect(() => readEntries(dir)).toThrow(/checksum-mismatch/);
  });
});
