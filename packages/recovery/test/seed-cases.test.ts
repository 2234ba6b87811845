// The Rust original's recovery tests, on @wal's format, plus the cases where
// it went wrong (empty values, max_sequence = 0, silent skipping).
import fs from 'node:fs';
import path from 'node:path';
import { CorruptionError, ErrorCode } from '@wal/codec';
import { Wal } from '@wal/fs';
import { recover, scanLog } from '@wal/recovery';
import { describe, expect, test } from 'vitest';
import {
  buildLog,
  collect,
  del,
  edit,
  plain,
  put,
  puts,
  tempDir,
  utf8,
  writeLog,
} from './helpers.js';

describe('the original recovery cases', () => {
  test('put, put, delete, put come back in order, with their types and values', async () => {
    const dir = tempDir();
    const log = buildLog(dir, [[[put('a', '1')], [put('b', '2')], [del('a')], [put('c', '3')]]]);
    writeLog(log);
    const { entries, nextSequence, lastSequence, stats } = await recover(dir);
    expect(entries.map(plain)).toEqual(log.entries);
    expect(entries.map((e) => [e.sequence, e.type])).toEqual([
      [0, 'put'],
      [1, 'put'],
      [2, 'delete'],
      [3, 'put'],
    ]);
    expect('value' in (entries[2] as object)).toBe(false);
    expect(Buffer.from(entries[3]?.value as Uint8Array).toString()).toBe('3');
    expect([nextSequence, lastSequence]).toEqual([4, 3]);
    expect(stats).toMatchObject({
      entriesRecovered: 4,
      entriesCorrupted: 0,
      bytesSkipped: 0,
      segmentsScanned: 1,
      tornTail: null,
      corruptions: [],
      gaps: [],
    });
    expect(stats.bytesRecovered).toBe(log.segments[0]?.frames.reduce((n, f) => n + f.size, 0));
  });

  test('many segments are read in number order, not directory order', async () => {
    const dir = tempDir();
    const log = buildLog(
      dir,
      Array.from({ length: 12 }, (_, i) => puts(3, 8, `s${i}-`)),
    );
    // Written newest first, so the directory order differs from the log order.
    for (const s of [...log.segments].reverse()) {
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(s.file, s.bytes);
    }
    const { entries, stats } = await recover(dir, { mode: 'strict' });
    expect(entries.map(plain)).toEqual(log.entries);
    expect(stats.segmentsScanned).toBe(12);
  });

  test('an empty directory and a missing directory are an empty log', async () => {
    const dir = tempDir();
    for (const d of [dir, path.join(dir, 'missing')]) {
      const r = await recover(d, { mode: 'strict' });
      expect(r).toMatchObject({ entries: [], nextSequence: 0, lastSequence: null });
      expect(r.stats.segmentsScanned).toBe(0);
    }
  });

  test('a single entry: lastSequence 0 is not confused with an empty log', async () => {
    const dir = tempDir();
    writeLog(buildLog(dir, [[[put('only', 'one')]]]));
    const r = await recover(dir);
    expect(r.entries.map(plain)).toEqual([
      { sequence: 0, type: 'put', key: Buffer.from('only').toString('hex'), value: '6f6e65' },
    ]);
    expect([r.nextSequence, r.lastSequence]).toEqual([1, 0]);
  });

  test('a put with an empty value is a put with an empty value, not a missing one', async () => {
    const dir = tempDir();
    writeLog(buildLog(dir, [[[put('k', 'old')], [put('k', '')], [put('', 'empty key')]]]));
    const { entries } = await recover(dir);
    expect(entries[1]?.type).toBe('put');
    expect(entries[1]?.value).toBeInstanceOf(Uint8Array);
    expect(entries[1]?.value?.length).toBe(0);
    expect(entries[2]?.key.length).toBe(0);
  });

  test('a large log (20,000 entries over 3 MiB, many chunks) comes back whole', async () => {
    const dir = tempDir();
    const log = buildLog(dir, [puts(8_000, 150), puts(8_000, 150, 'x'), puts(4_000, 150, 'y')]);
    writeLog(log);
    const { entries, nextSequence, stats } = await recover(dir, { mode: 'strict' });
    expect(entries.length).toBe(20_000);
    expect(entries.map(plain)).toEqual(log.entries);
    expect(nextSequence).toBe(20_000);
    expect(stats.bytesRecovered).toBe(log.segments.reduce((n, s) => n + s.bytes.length - 32, 0));
  });

  test('a truncated file: the complete records come back and the cut record is a torn tail', async () => {
    const dir = tempDir();
    const log = buildLog(dir, [puts(5, 40)]);
    const seg = log.segments[0];
    const last = seg?.frames[4];
    if (!seg || !last) throw new Error('fixture');
    writeLog(log);
    fs.truncateSync(seg.file, last.offset + 11);
    const r = await recover(dir);
    expect(r.entries.map(plain)).toEqual(log.entries.slice(0, 4));
    expect(r.stats.tornTail).toMatchObject({ file: seg.file, offset: last.offset, bytes: 11 });
    expect(r.stats.corruptions).toEqual([]);
    expect(r.nextSequence).toBe(4);
    const strict = await collect(scanLog(dir, { mode: 'strict' }));
    expect(strict.error).toBeInstanceOf(CorruptionError);
    expect(strict.entries).toEqual(log.entries.slice(0, 4));
  });

  test('a flipped byte in the middle entry: skip-corrupted keeps the first and third', async () => {
    const dir = tempDir();
    const log = buildLog(dir, [
      [[put('one', '1111')], [put('two', '2222')], [put('three', '3333')]],
    ]);
    const seg = log.segments[0];
    const middle = seg?.frames[1];
    if (!seg || !middle) throw new Error('fixture');
    writeLog(log);
    const flipAt = middle.offset + middle.size - 2;
    fs.writeFileSync(
      seg.file,
      edit(seg.bytes, (b) => {
        b[flipAt] = (b[flipAt] as number) ^ 0x01;
      }),
    );
    const { entries, stats } = await recover(dir, { mode: 'skip-corrupted' });
    expect(entries.map(plain)).toEqual([log.entries[0], log.entries[2]]);
    expect(stats.entriesCorrupted).toBe(1);
    expect(stats.corruptions).toEqual([
      expect.objectContaining({
        offset: middle.offset,
        bytes: middle.size,
        reason: 'checksum-mismatch',
      }),
    ]);
    // The original skipped it silently everywhere; the default mode refuses.
    await expect(recover(dir)).rejects.toMatchObject({
      code: ErrorCode.CORRUPTION,
      offset: middle.offset,
    });
  });

  test('garbage appended after valid entries: skip-corrupted keeps both and reports it', async () => {
    const dir = tempDir();
    const log = buildLog(dir, [[[put('a', 'x')], [put('b', 'y')]]]);
    const seg = log.segments[0];
    if (!seg) throw new Error('fixture');
    writeLog(log);
    const garbage = utf8('this is definitely not a frame, just some trailing junk bytes');
    fs.appendFileSync(seg.file, garbage);
    const { entries, stats } = await recover(dir, { mode: 'skip-corrupted' });
    expect(entries.map(plain)).toEqual(log.entries);
    expect(stats.corruptions.length).toBeGreaterThanOrEqual(1);
    expect(stats.entriesCorrupted).toBeGreaterThanOrEqual(1);
    expect(stats.bytesSkipped).toBe(garbage.length);
  });

  test('sequences carry across rotations, and the writer continues from nextSequence', async () => {
    const dir = tempDir();
    const wal = await Wal.open({ dir, sync: 'none' });
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 5; i++) await wal.put(`r${round}-${i}`, `v${i}`);
      await wal.rotate();
    }
    await wal.close();
    const r = await recover(dir, { mode: 'strict' });
    expect(r.entries.map((e) => e.sequence)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(r.stats.segmentsScanned).toBe(5); // the last one is header-only
    expect(r.nextSequence).toBe(20);
    const reopened = await Wal.open({ dir, sync: 'none' });
    expect(reopened.nextSequence).toBe(r.nextSequence);
    expect(await reopened.put('after', 'reopen')).toBe(20);
    await reopened.close();
    expect((await recover(dir)).lastSequence).toBe(20);
  });
});
