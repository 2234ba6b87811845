// Torn tails: open cuts them (keeping the bytes in a .broken file), reports
// the cut, and records appended afterwards never follow garbage.
import fs from 'node:fs';
import path from 'node:path';
import { SECTOR_SIZE } from '@wal/codec';
import { Wal } from '@wal/fs';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  append,
  type Entry,
  openWal,
  puts,
  readEntries,
  readSegments,
  segmentNames,
  tempDir,
} from './helpers.js';

const longPuts = (count: number, from = 0, size = 1_500): Entry[] =>
  puts(count, from).map((e) => ({ ...e, value: `${e.value}:${'#'.repeat(size)}` }));

// Writes `entries` into a fresh log, closes it, and returns the active
// segment's path, its bytes, and where each record starts.
async function writeLog(dir: string, entries: Entry[], rotations = 0) {
  const wal = await Wal.open({ dir, sync: 'none' });
  for (let i = 0; i < rotations; i++) await wal.rotate();
  await append(wal, entries);
  const file = wal.path;
  await wal.close();
  const segment = readSegments(dir).at(-1);
  const offsets = segment?.results.map((r) => r.offset) ?? [];
  return { file, bytes: fs.readFileSync(file), offsets };
}

// Reopens after damage, checks the report and the .broken copy, appends, and
// reopens again: the complete records before the cut and the new ones are
// all there, in order, and nothing that was cut comes back.
async function expectRepaired(
  dir: string,
  file: string,
  damaged: Buffer,
  cutAt: number,
  kept: Entry[],
  reasons: string[],
) {
  const wal = await Wal.open(dir);
  expect(wal.repairs).toEqual([
    {
      segment: file,
      offset: cutAt,
      bytes: damaged.length - cutAt,
      reason: expect.toBeOneOf(reasons),
      keptIn: `${file}.broken`,
    },
  ]);
  expect(fs.readFileSync(`${file}.broken`)).toEqual(damaged.subarray(cutAt));
  expect(fs.statSync(file).size).toBe(cutAt);
  expect(wal.segmentSize).toBe(cutAt);
  expect(wal.nextSequence).toBe(kept.length);
  const added = puts(3, kept.length);
  await append(wal, added);
  await wal.close();

  const again = await openWal(dir);
  expect(again.repairs).toEqual([]);
  expect(again.nextSequence).toBe(kept.length + added.length);
  expect(readEntries(dir)).toEqual([...kept, ...added]);
}

describe('a torn tail is cut, kept and reported', () => {
  test('truncated in the middle of the last record', async () => {
    const dir = tempDir();
    const entries = puts(10);
    const { file, bytes, offsets } = await writeLog(dir, entries);
    const last = offsets.at(-1) as number;
    const damaged = bytes.subarray(0, last + 11);
    fs.writeFileSync(file, damaged);
    await expectRepaired(dir, file, damaged, last, entries.slice(0, 9), ['truncated']);
  });

  test('truncated inside the last frame header', async () => {
    const dir = tempDir();
    const entries = puts(5);
    const { file, bytes, offsets } = await writeLog(dir, entries);
    const damaged = bytes.subarray(0, (offsets.at(-1) as number) + 3);
    fs.writeFileSync(file, damaged);
    await expectRepaired(dir, file, damaged, offsets.at(-1) as number, puts(4), ['truncated']);
  });

  test('garbage appended after the last complete record', async () => {
    const dir = tempDir();
    const entries = puts(6);
    const { file, bytes } = await writeLog(dir, entries);
    const garbage = Buffer.from('this is not a frame, it is what a dying writer left'.repeat(9));
    const damaged = Buffer.concat([bytes, garbage]);
    fs.writeFileSync(file, damaged);
    await expectRepaired(dir, file, damaged, bytes.length, entries, [
      'bad-length',
      'checksum-mismatch',
      'truncated',
    ]);
  });

  test('a zero-filled tail (the size reached the disk, the data did not)', async () => {
    const dir = tempDir();
    const entries = puts(6);
    const { file, bytes } = await writeLog(dir, entries);
    const damaged = Buffer.concat([bytes, Buffer.alloc(4_096)]);
    fs.writeFileSync(file, damaged);
    await expectRepaired(dir, file, damaged, bytes.length, entries, ['zero-fill']);
  });

  test('the last record zeroed from its start', async () => {
    const dir = tempDir();
    const entries = puts(6);
    const { file, bytes, offsets } = await writeLog(dir, entries);
    const damaged = Buffer.from(bytes);
    damaged.fill(0, offsets.at(-1));
    fs.writeFileSync(file, damaged);
    await expectRepaired(dir, file, damaged, offsets.at(-1) as number, puts(5), ['zero-fill']);
  });

  test('a bit flipped in the last record, nothing after it', async () => {
    const dir = tempDir();
    const entries = puts(6);
    const { file, bytes, offsets } = await writeLog(dir, entries);
    const damaged = Buffer.from(bytes);
    const at = (offsets.at(-1) as number) + 20;
    damaged[at] = (damaged[at] as number) ^ 0x10;
    fs.writeFileSync(file, damaged);
    await expectRepaired(dir, file, damaged, offsets.at(-1) as number, puts(5), [
      'checksum-mismatch',
    ]);
  });

  test('a zeroed sector inside an unsynced record, valid frames after it: all of it is cut', async () => {
    const dir = tempDir();
    const entries = longPuts(10);
    const { file, bytes, offsets } = await writeLog(dir, entries);
    // A whole sector inside record 4: a power loss kept the file size and the
    // later frames' sectors, but not this one. Nothing from here was synced.
    const start = offsets[4] as number;
    const sector = Math.ceil((start + 9) / SECTOR_SIZE) * SECTOR_SIZE;
    expect(sector + SECTOR_SIZE).toBeLessThan(offsets[5] as number);
    const damaged = Buffer.from(bytes);
    damaged.fill(0, sector, sector + SECTOR_SIZE);
    fs.writeFileSync(file, damaged);
    await expectRepaired(dir, file, damaged, start, entries.slice(0, 4), [
      'checksum-mismatch',
      'zero-fill',
    ]);
  });

  test('only the last segment is cut; sealed ones are untouched', async () => {
    const dir = tempDir();
    const wal = await Wal.open(dir);
    await append(wal, puts(3));
    await wal.rotate();
    await append(wal, puts(3, 3));
    const file = wal.path;
    await wal.close();
    const sealed = fs.readFileSync(path.join(dir, 'wal_00000000.log'));
    const bytes = fs.readFileSync(file);
    const damaged = bytes.subarray(0, bytes.length - 4);
    fs.writeFileSync(file, damaged);
    const offsets =
      readSegments(dir)
        .at(-1)
        ?.results.map((r) => r.offset) ?? [];
    await expectRepaired(dir, file, damaged, offsets.at(-1) as number, puts(5), ['truncated']);
    expect(fs.readFileSync(path.join(dir, 'wal_00000000.log'))).toEqual(sealed);
  });

  test('a second repair keeps the first .broken file and writes .broken.1', async () => {
    const dir = tempDir();
    const { file, bytes } = await writeLog(dir, puts(2));
    fs.appendFileSync(file, 'first tear');
    await (await Wal.open(dir)).close();
    fs.appendFileSync(file, 'second tear');
    const wal = await openWal(dir);
    expect(wal.repairs[0]?.keptIn).toBe(`${file}.broken.1`);
    expect(fs.readFileSync(`${file}.broken`, 'utf8')).toBe('first tear');
    expect(fs.readFileSync(`${file}.broken.1`, 'utf8')).toBe('second tear');
    expect(fs.readFileSync(file)).toEqual(bytes);
  });

  test('property: a cut anywhere in the last segment leaves exactly the complete records', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.nat({ max: 700 }), { minLength: 1, maxLength: 8 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        async (sizes, where) => {
          const dir = tempDir();
          const entries = sizes.map(
            (n, i) => ({ ...puts(1, i)[0], value: 'v'.repeat(n) }) as Entry,
          );
          const { file, bytes, offsets } = await writeLog(dir, entries);
          const cut = 32 + Math.floor(where * (bytes.length - 32));
          fs.writeFileSync(file, bytes.subarray(0, cut));
          const complete = offsets.filter((_, i) => (offsets[i + 1] ?? bytes.length) <= cut);
          const wal = await Wal.open({ dir, sync: 'none' });
          const cutAt = offsets[complete.length] ?? bytes.length;
          expect(wal.repairs.map((r) => [r.offset, r.bytes])).toEqual(
            cut > cutAt ? [[cutAt, cut - cutAt]] : [],
          );
          await append(wal, puts(1, complete.length));
          await wal.close();
          expect(readEntries(dir)).toEqual([
            ...entries.slice(0, complete.length),
            ...puts(1, complete.length),
          ]);
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('unfinished segment creations', () => {
  test('a leftover .tmp segment is removed; it never held records', async () => {
    const dir = tempDir();
    await writeLog(dir, puts(2));
    fs.writeFileSync(path.join(dir, 'wal_00000001.log.tmp'), 'half a header');
    const wal = await openWal(dir);
    expect(fs.existsSync(path.join(dir, 'wal_00000001.log.tmp'))).toBe(false);
    expect(wal.segmentNumber).toBe(0);
    expect(wal.nextSequence).toBe(2);
  });

  test('a last segment shorter than a header is set aside (or removed when empty)', async () => {
    const dir = tempDir();
    await writeLog(dir, puts(2));
    const short = path.join(dir, 'wal_00000001.log');
    fs.writeFileSync(short, 'short');
    const wal = await Wal.open(dir);
    expect(wal.repairs).toEqual([
      { segment: short, offset: 0, bytes: 5, reason: 'bad-header', keptIn: `${short}.broken` },
    ]);
    expect(fs.readFileSync(`${short}.broken`, 'utf8')).toBe('short');
    expect(wal.segmentNumber).toBe(0);
    await append(wal, puts(1, 2));
    await wal.rotate(); // segment 1 again, made properly this time
    await wal.close();

    fs.writeFileSync(path.join(dir, 'wal_00000002.log'), '');
    const reopened = await openWal(dir);
    expect(reopened.repairs).toMatchObject([{ bytes: 0, keptIn: null }]);
    expect(segmentNames(dir)).toEqual(['wal_00000000.log', 'wal_00000001.log']);
    expect(reopened.nextSequence).toBe(3);
    expect(readEntries(dir)).toEqual(puts(3));
  });
});
