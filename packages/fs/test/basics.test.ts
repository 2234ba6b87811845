// The Rust original's behaviours (seed/wal.rs), batches and empty values.
import fs from 'node:fs';
import path from 'node:path';
import { ErrorCode, SEAL_FRAME_SIZE, SEGMENT_HEADER_SIZE } from '@wal/codec';
import { Wal } from '@wal/fs';
import { segmentFileName } from '@wal/fs/segments';
import { describe, expect, test } from 'vitest';
import {
  append,
  type DecodedSegment,
  framesOf,
  openWal,
  puts,
  readEntries,
  readSegments,
  segmentNames,
  tempDir,
} from './helpers.js';

describe('sequences', () => {
  test('start at 0 and increase by one, across put, delete and batch', async () => {
    const wal = await openWal(tempDir());
    expect(wal.nextSequence).toBe(0);
    expect(await wal.put('a', '1')).toBe(0);
    expect(await wal.delete('a')).toBe(1);
    expect(
      await wal.batch([
        { type: 'put', key: 'b', value: '2' },
        { type: 'delete', key: 'c' },
      ]),
    ).toBe(2);
    expect(await wal.put('d', '4')).toBe(4);
    expect(wal.nextSequence).toBe(5);
  });

  test('continue after a reopen, also after a rotation', async () => {
    const dir = tempDir();
    const first = await Wal.open(dir);
    await append(first, puts(3));
    await first.rotate();
    await append(first, puts(2, 3));
    await first.close();

    const second = await openWal(dir);
    expect(second.nextSequence).toBe(5);
    expect(second.segment).toBe(1);
    await append(second, puts(2, 5));
    await second.close();
    expect(readEntries(dir)).toEqual(puts(7));
  });

  test('a reopened empty log starts at 0 again', async () => {
    const dir = tempDir();
    await (await Wal.open(dir)).close();
    const wal = await openWal(dir);
    expect(wal.nextSequence).toBe(0);
    expect(await wal.put('k', 'v')).toBe(0);
  });
});

describe('rotation and retention', () => {
  test('rotate increments the segment number and starts a file named with 8 digits', async () => {
    const dir = tempDir();
    const wal = await openWal(dir);
    expect(wal.segment).toBe(0);
    expect(wal.file).toBe(path.join(dir, 'wal_00000000.log'));
    await wal.put('a', '1');
    await wal.rotate();
    expect(wal.segment).toBe(1);
    expect(wal.file).toBe(path.join(dir, segmentFileName(1)));
    expect(wal.segmentSize).toBe(SEGMENT_HEADER_SIZE);
    await wal.rotate();
    expect(segmentNames(dir)).toEqual(['wal_00000000.log', 'wal_00000001.log', 'wal_00000002.log']);
  });

  test('truncateThrough removes only sealed segments it covers, never the active one', async () => {
    const dir = tempDir();
    const wal = await openWal(dir);
    await append(wal, puts(3)); // segment 0: 0..2
    await wal.rotate();
    await append(wal, puts(3, 3)); // segment 1: 3..5
    await wal.rotate();
    await append(wal, puts(1, 6)); // segment 2 (active): 6

    expect(await wal.truncateThrough(1)).toBe(0); // segment 0 still holds 2
    expect(await wal.truncateThrough(2)).toBe(1);
    expect(segmentNames(dir)).toEqual(['wal_00000001.log', 'wal_00000002.log']);
    expect(await wal.truncateThrough(4)).toBe(0);
    expect(await wal.truncateThrough(1_000)).toBe(1); // everything, but the active one stays
    expect(segmentNames(dir)).toEqual(['wal_00000002.log']);
    expect(await wal.truncateThrough(1_000)).toBe(0);

    await append(wal, puts(1, 7));
    await wal.close();
    const reopened = await openWal(dir);
    expect(reopened.nextSequence).toBe(8);
    expect(readEntries(dir)).toEqual(puts(2, 6));
  });

  test('truncateThrough removes empty sealed segments before the covered sequence', async () => {
    const dir = tempDir();
    const wal = await openWal(dir);
    await wal.rotate(); // segment 0 holds nothing
    await append(wal, puts(2)); // segment 1: 0..1
    await wal.rotate();
    expect(await wal.truncateThrough(0)).toBe(1);
    expect(segmentNames(dir)).toEqual(['wal_00000001.log', 'wal_00000002.log']);
  });
});

describe('sizes', () => {
  const MiB = 1024 * 1024;

  test('segmentSize tracks the frames; the file holds 1 MiB of zeros past them; totalSize is the sum of all segment files', async () => {
    const dir = tempDir();
    const wal = await openWal(dir);
    const sizeOnDisk = () => fs.statSync(wal.file).size;
    const dataEnd = () => (readSegments(dir).at(-1) as DecodedSegment).dataEnd;
    const sumOnDisk = () =>
      segmentNames(dir).reduce((sum, name) => sum + fs.statSync(path.join(dir, name)).size, 0);

    expect(wal.segmentSize).toBe(SEGMENT_HEADER_SIZE);
    expect(await wal.totalSize()).toBe(SEGMENT_HEADER_SIZE);
    await wal.put('key', 'value');
    expect(wal.segmentSize).toBe(dataEnd());
    expect(sizeOnDisk()).toBe(wal.segmentSize + MiB);
    const one = wal.segmentSize - SEGMENT_HEADER_SIZE;
    await wal.put('key', 'value');
    expect(wal.segmentSize).toBe(SEGMENT_HEADER_SIZE + 2 * one);
    expect(sizeOnDisk()).toBe(SEGMENT_HEADER_SIZE + one + MiB); // written over the zeros
    const sealed = wal.file;
    await wal.rotate(); // the seal is the sealed segment's last frame: the zeros are cut
    expect(fs.statSync(sealed).size).toBe(SEGMENT_HEADER_SIZE + 2 * one + SEAL_FRAME_SIZE);
    await wal.put('k', 'a longer value than before');
    expect(wal.segmentSize).toBe(dataEnd());
    expect(await wal.totalSize()).toBe(sumOnDisk());
    await wal.close();

    const reopened = await openWal(dir);
    expect(reopened.segmentSize).toBe(dataEnd());
    expect(await reopened.totalSize()).toBe(sumOnDisk());
    await reopened.put('k', 'after the reopen'); // over the zeros the first writer left
    expect(reopened.segmentSize).toBe(dataEnd());
    expect(await reopened.totalSize()).toBe(sumOnDisk());
  });

  test('preallocateBytes: the file grows by that many zeros when they run out, never past maxSegmentBytes; 0 writes none', async () => {
    const dir = tempDir();
    const wal = await openWal({ dir, preallocateBytes: 200, maxSegmentBytes: 1000 });
    let size = fs.statSync(wal.file).size;
    let segment = wal.segment;
    let grew = 0;
    for (let i = 0; i < 30; i++) {
      const before = wal.segmentSize;
      await wal.put('k', 'v'.repeat(20));
      const frame = wal.segmentSize - before;
      const now = fs.statSync(wal.file).size;
      if (wal.segment === segment && size - before >= frame) {
        expect(now, `put ${i}: over the zeros`).toBe(size);
      } else {
        expect(now, `put ${i}: 200 more zeros`).toBe(Math.min(wal.segmentSize + 200, 1000));
        grew++;
      }
      expect(now).toBeLessThanOrEqual(1000);
      size = now;
      segment = wal.segment;
    }
    expect(wal.segment).toBeGreaterThan(0);
    expect(grew).toBeGreaterThan(wal.segment + 1);
    expect(grew).toBeLessThan(30);
    expect(readEntries(dir)).toHaveLength(30);

    const plain = tempDir();
    const none = await openWal({ dir: plain, preallocateBytes: 0 });
    await none.put('k', 'v');
    expect(fs.statSync(none.file).size).toBe(none.segmentSize);
  });
});

describe('batches and values', () => {
  test('a batch is one record with consecutive sequences; resolves to the first', async () => {
    const dir = tempDir();
    const wal = await openWal(dir);
    await wal.put('before', 'x');
    const first = await wal.batch([
      { type: 'put', key: 'a', value: '1' },
      { type: 'delete', key: 'b' },
      { type: 'put', key: utf8Buffer('c'), value: new Uint8Array([51]) },
    ]);
    expect(first).toBe(1);
    expect(wal.nextSequence).toBe(4);
    await wal.close();

    const [segment] = readSegments(dir);
    // The batch is one frame (all of it or none after a crash); close adds a mark.
    expect(framesOf(segment).map((f) => f.type)).toEqual(['batch', 'batch', 'mark']);
    expect(readEntries(dir)).toEqual([
      { sequence: 0, type: 'put', key: 'before', value: 'x' },
      { sequence: 1, type: 'put', key: 'a', value: '1' },
      { sequence: 2, type: 'delete', key: 'b' },
      { sequence: 3, type: 'put', key: 'c', value: '3' },
    ]);
  });

  test('an empty value reads back as a put with an empty value, not as a delete', async () => {
    const dir = tempDir();
    const wal = await openWal(dir);
    await wal.put('k', 'old');
    await wal.put('k', '');
    await wal.batch([{ type: 'put', key: '', value: new Uint8Array(0) }]);
    await wal.close();
    const [segment] = readSegments(dir);
    const entries = framesOf(segment).flatMap((f) => (f.type === 'batch' ? f.entries : []));
    expect(entries.map((e) => [e.type, e.value?.length])).toEqual([
      ['put', 3],
      ['put', 0],
      ['put', 0],
    ]);
  });

  test('strings are UTF-8; Buffers and Uint8Arrays are written as given', async () => {
    const dir = tempDir();
    const wal = await openWal(dir);
    await wal.put('ключ', 'värde ✓');
    await wal.put(Buffer.from([0, 255]), new Uint8Array([1, 2, 3]));
    await wal.close();
    const [segment] = readSegments(dir);
    const entries = framesOf(segment).flatMap((f) => (f.type === 'batch' ? f.entries : []));
    expect(
      entries.map((e) => [
        Buffer.from(e.key).toString('hex'),
        Buffer.from(e.value ?? []).toString('hex'),
      ]),
    ).toEqual([
      [Buffer.from('ключ').toString('hex'), Buffer.from('värde ✓').toString('hex')],
      ['00ff', '010203'],
    ]);
  });

  test('a Proxy of a Uint8Array is refused as a key or value: no trap runs, nothing is written', async () => {
    const dir = tempDir();
    const wal = await openWal(dir);
    let traps = 0;
    const proxy = new Proxy(new Uint8Array([7]), {
      get(target, key) {
        traps++;
        return Reflect.get(target, key);
      },
      getPrototypeOf(target) {
        traps++;
        return Reflect.getPrototypeOf(target);
      },
    });
    const bytes = proxy as Uint8Array;
    for (const append of [
      () => wal.put(bytes, 'v'),
      () => wal.put('k', bytes),
      () => wal.delete(bytes),
      () => wal.batch([{ type: 'put', key: 'k', value: bytes }]),
    ]) {
      await expect(append()).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
    }
    expect(traps).toBe(0);
    expect(wal.nextSequence).toBe(0);
    await wal.close();
    expect(readEntries(dir)).toEqual([]);
  });

  test('a Uint8Array subclass is written as the bytes it holds, whatever its length getter says', async () => {
    const dir = tempDir();
    const wal = await openWal(dir);
    // Before the fix the frame took the getter's length: the value came out
    // 1000 bytes long, its tail stale bytes of the group buffer.
    class Sneaky extends Uint8Array {
      override get length() {
        return 1000;
      }
    }
    await wal.put(new Sneaky([1, 2, 3]), new Sneaky([4, 5]));
    await wal.batch([
      { type: 'put', key: 'a', value: new Sneaky([6]) },
      { type: 'delete', key: new Sneaky([8, 9]) },
    ]);
    await wal.close();
    const [segment] = readSegments(dir);
    const entries = framesOf(segment).flatMap((f) => (f.type === 'batch' ? f.entries : []));
    expect(entries.map((e) => [[...e.key], e.value === undefined ? null : [...e.value]])).toEqual([
      [
        [1, 2, 3],
        [4, 5],
      ],
      [[...Buffer.from('a')], [6]],
      [[8, 9], null],
    ]);
  });
});

function utf8Buffer(s: string): Buffer {
  return Buffer.from(s, 'utf8');
}
