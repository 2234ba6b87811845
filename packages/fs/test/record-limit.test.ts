// Every segment header holds the record limit it was written under, and
// readers use it (issues 12, 13): a log reopened with a smaller
// maxRecordBytes still opens, and one reopened with a larger one never
// writes a record above the active segment's limit into it.
import { Wal } from '@wal/fs';
import { describe, expect, test } from 'vitest';
import {
  openWal,
  readEntries,
  readRecords,
  readSegments,
  rejectsWith,
  tempDir,
} from './helpers.js';

describe('a larger maxRecordBytes on reopen', () => {
  test('rotates before writing a record above the active segment header limit', async () => {
    const dir = tempDir();
    const first = await Wal.open({ dir, maxRecordBytes: 4_096 });
    await first.put('small', 'x');
    await first.close();

    const wal = await openWal({ dir, maxRecordBytes: 16_384 });
    expect(wal.segment).toBe(0);
    await wal.put('fits the old limit', 'y'.repeat(3_000));
    expect(wal.segment).toBe(0); // no need to rotate
    await wal.put('big', 'z'.repeat(10_000));
    expect(wal.segment).toBe(1);
    await wal.put('after', 'w');
    await wal.close();

    const segments = readSegments(dir);
    expect(segments.map((s) => s.header.maxRecordBytes)).toEqual([4_096, 16_384]);
    expect(readRecords(dir).map((r) => [r.segment, r.first])).toEqual([
      ['wal_00000000.log', 0],
      ['wal_00000000.log', 1],
      ['wal_00000001.log', 2],
      ['wal_00000001.log', 3],
    ]);
    expect(readEntries(dir).map((e) => e.value?.length)).toEqual([1, 3_000, 10_000, 1]);

    const reopened = await openWal({ dir, maxRecordBytes: 16_384 });
    expect(reopened.repairs).toEqual([]);
    expect(reopened.nextSequence).toBe(4);
  });

  test('concurrent appends around the big record keep their order across the rotation', async () => {
    const dir = tempDir();
    await (await Wal.open({ dir, maxRecordBytes: 4_096 })).close();
    const wal = await openWal({ dir, maxRecordBytes: 16_384 });
    const sequences = await Promise.all([
      wal.put('a', '1'),
      wal.put('big', 'z'.repeat(10_000)),
      wal.put('b', '2'),
    ]);
    expect(sequences).toEqual([0, 1, 2]);
    await wal.close();
    expect(readRecords(dir).map((r) => r.segment)).toEqual([
      'wal_00000000.log',
      'wal_00000001.log',
      'wal_00000001.log',
    ]);
  });
});

describe('a smaller maxRecordBytes on reopen', () => {
  test.each([
    ['the active segment', false],
    ['a sealed segment', true],
  ])('still opens a log whose %s holds a larger record', async (_, sealed) => {
    const dir = tempDir();
    const wal = await Wal.open(dir); // the default limit, 16 MiB
    await wal.put('small', 'x');
    await wal.put('big', 'y'.repeat(5_000));
    if (sealed) await wal.rotate();
    await wal.put('after', 'z');
    await wal.close();

    const reopened = await openWal({ dir, maxRecordBytes: 4_096 });
    expect(reopened.repairs).toEqual([]);
    expect(reopened.nextSequence).toBe(3);
    // The new limit applies to new records.
    await rejectsWith(reopened.put('big again', 'y'.repeat(5_000)), 'WAL_RECORD_TOO_LARGE');
    expect(await reopened.put('small again', 'x')).toBe(3);
    await reopened.close();
    expect(readEntries(dir).map((e) => e.key)).toEqual(['small', 'big', 'after', 'small again']);
  });
});
