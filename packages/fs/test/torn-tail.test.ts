// Torn tails. The rule is write order, not byte content: damage at offset D
// of the last segment is a torn write only when no later frame's `synced`
// watermark is past D (no later frame was written after D was durable).
// Open cuts such a tail (keeping the bytes in a .broken file), reports the
// cut, and records appended afterwards never follow garbage. A power loss
// at any point of an append leaves a log that opens.
import fs from 'node:fs';
import path from 'node:path';
import {
  type CorruptionError,
  FRAME_HEADER_SIZE,
  MARK_RECORD_SIZE,
  SEGMENT_HEADER_SIZE,
  type WalOp,
} from '@wal/codec';
import { Wal } from '@wal/fs';
import { SimFs } from '@wal/fs/testing';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  append,
  type BuiltFrame,
  batchOffsets,
  brokenCopy,
  concat,
  type Entry,
  framesOf,
  headerOf,
  openWal,
  puts,
  readEntries,
  readSegments,
  rejectsWith,
  SegmentBuilder,
  segmentFile,
  simDisk,
  tempDir,
  utf8,
} from './helpers.js';

const MARK_FRAME_SIZE = FRAME_HEADER_SIZE + MARK_RECORD_SIZE;
const SECTOR = 512;

const longPuts = (count: number, from = 0, size = 1_500): Entry[] =>
  puts(count, from).map((e) => ({ ...e, value: `${e.value}:${'#'.repeat(size)}` }));

const opsOf = (e: Entry): WalOp[] => [
  { type: 'put', key: utf8(e.key), value: utf8(e.value ?? '') },
];

// A single-segment log as a crash left it (no close mark), written as a
// writer in `mode` lays it out: 'always' syncs before each record (its
// synced is its own offset), 'none' never synced after the header.
function crashedLog(dir: string, entries: Entry[], mode: 'always' | 'none') {
  const builder = new SegmentBuilder(headerOf());
  for (const e of entries) builder.batch(opsOf(e), mode === 'always' ? 'here' : 'header');
  const file = segmentFile(dir, 0);
  fs.writeFileSync(file, builder.bytes());
  return { file, bytes: fs.readFileSync(file), offsets: builder.frames.map((f) => f.offset) };
}

// A log written by the writer and closed: the file ends with the close mark
// (the writer preallocates nothing, unless told to).
async function closedLog(dir: string, entries: Entry[], rotations = 0, preallocateBytes = 0) {
  const wal = await Wal.open({ dir, sync: 'none', preallocateBytes });
  for (let i = 0; i < rotations; i++) await wal.rotate();
  await append(wal, entries);
  const file = wal.file;
  await wal.close();
  const last = readSegments(dir).at(-1);
  expect(framesOf(last).at(-1)?.type).toBe('mark');
  return {
    file,
    bytes: fs.readFileSync(file),
    offsets: batchOffsets(last),
    dataEnd: last?.dataEnd as number,
  };
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
  endsWithCloseMark = false,
) {
  const wal = await Wal.open(dir);
  expect(wal.repairs).toEqual([
    {
      file,
      segment: 0,
      offset: cutAt,
      bytes: damaged.length - cutAt,
      reason: expect.toBeOneOf(reasons),
      detail: expect.any(String),
      keptIn: `${file}.broken`,
    },
  ]);
  // The .broken file holds the header and the cut bytes, at their offsets.
  expect(fs.readFileSync(`${file}.broken`)).toEqual(brokenCopy(damaged, cutAt));
  // Open ends what it kept with a mark vouching for it (nothing to vouch
  // for when nothing is kept): rot there is then never read as torn.
  const end = cutAt + (kept.length > 0 && !endsWithCloseMark ? MARK_FRAME_SIZE : 0);
  expect(fs.statSync(file).size).toBe(end);
  expect(wal.segmentSize).toBe(end);
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
    const { file, bytes, offsets } = crashedLog(dir, entries, 'always');
    const last = offsets.at(-1) as number;
    const damaged = bytes.subarray(0, last + 11);
    fs.writeFileSync(file, damaged);
    await expectRepaired(dir, file, damaged, last, entries.slice(0, 9), ['truncated']);
  });

  test('truncated inside the last frame header', async () => {
    const dir = tempDir();
    const entries = puts(5);
    const { file, bytes, offsets } = crashedLog(dir, entries, 'always');
    const damaged = bytes.subarray(0, (offsets.at(-1) as number) + 3);
    fs.writeFileSync(file, damaged);
    await expectRepaired(dir, file, damaged, offsets.at(-1) as number, puts(4), ['truncated']);
  });

  test('garbage appended after the close mark', async () => {
    const dir = tempDir();
    const entries = puts(6);
    const { file, bytes } = await closedLog(dir, entries);
    const garbage = Buffer.from('this is not a frame, it is what a dying writer left'.repeat(9));
    const damaged = Buffer.concat([bytes, garbage]);
    fs.writeFileSync(file, damaged);
    await expectRepaired(
      dir,
      file,
      damaged,
      bytes.length,
      entries,
      ['bad-length', 'checksum-mismatch', 'truncated'],
      true,
    );
  });

  test('a bit flipped in the last record, nothing after it (a crash before close)', async () => {
    // The inherent limit: the last synced group before a crash is protected
    // only by its CRC, since no frame was written after its sync.
    const dir = tempDir();
    const entries = puts(6);
    const { file, bytes, offsets } = crashedLog(dir, entries, 'always');
    const damaged = Buffer.from(bytes);
    const at = (offsets.at(-1) as number) + 20;
    damaged[at] = (damaged[at] as number) ^ 0x10;
    fs.writeFileSync(file, damaged);
    await expectRepaired(dir, file, damaged, offsets.at(-1) as number, puts(5), [
      'checksum-mismatch',
    ]);
  });

  test('a flip inside the close mark cuts only the mark (issue 12)', async () => {
    const dir = tempDir();
    const entries = puts(6);
    const { file, bytes } = await closedLog(dir, entries);
    const damaged = Buffer.from(bytes);
    damaged[bytes.length - 5] = (damaged[bytes.length - 5] as number) ^ 0x01;
    fs.writeFileSync(file, damaged);
    await expectRepaired(dir, file, damaged, bytes.length - MARK_FRAME_SIZE, entries, [
      'checksum-mismatch',
    ]);
  });

  test('a zeroed sector inside a record that later frames were written before syncing: all of it is cut', async () => {
    const dir = tempDir();
    const entries = longPuts(10);
    const { file, bytes, offsets } = crashedLog(dir, entries, 'none');
    // A whole sector inside record 4: a power loss kept the file size and the
    // later frames' sectors, but not this one. Nothing from here was synced
    // (every later frame says so), so none of it was acknowledged as durable.
    const start = offsets[4] as number;
    const sector = Math.ceil((start + 9) / SECTOR) * SECTOR;
    expect(sector + SECTOR).toBeLessThan(offsets[5] as number);
    const damaged = Buffer.from(bytes);
    damaged.fill(0, sector, sector + SECTOR);
    fs.writeFileSync(file, damaged);
    await expectRepaired(dir, file, damaged, start, entries.slice(0, 4), ['checksum-mismatch']);
  });

  test('the same zeroed sector is refused when a later frame says it was synced', async () => {
    const dir = tempDir();
    const entries = longPuts(10);
    const { file, bytes, offsets } = crashedLog(dir, entries, 'always');
    const start = offsets[4] as number;
    const sector = Math.ceil((start + 9) / SECTOR) * SECTOR;
    const damaged = Buffer.from(bytes);
    damaged.fill(0, sector, sector + SECTOR);
    fs.writeFileSync(file, damaged);
    const error = await rejectsWith(Wal.open(dir), 'WAL_CORRUPTION');
    expect((error as CorruptionError).damage).toMatchObject({ file, offset: start });
    expect(fs.readFileSync(file)).toEqual(damaged);
    expect(fs.existsSync(`${file}.broken`)).toBe(false);
  });

  test('only the last segment is cut; sealed ones are untouched', async () => {
    const dir = tempDir();
    const wal = await Wal.open({ dir, preallocateBytes: 0 });
    await append(wal, puts(3));
    await wal.rotate();
    await append(wal, puts(3, 3));
    const file = wal.file;
    await wal.close();
    const sealed = fs.readFileSync(segmentFile(dir, 0));
    const offsets = batchOffsets(readSegments(dir).at(-1));
    const bytes = fs.readFileSync(file);
    // Into the last record, through the mark after it.
    const damaged = bytes.subarray(0, bytes.length - MARK_FRAME_SIZE - 4);
    fs.writeFileSync(file, damaged);
    const wal2 = await Wal.open(dir);
    expect(wal2.repairs).toMatchObject([
      { file, segment: 1, offset: offsets.at(-1), reason: 'truncated', keptIn: `${file}.broken` },
    ]);
    expect(wal2.nextSequence).toBe(5);
    await wal2.close();
    expect(readEntries(dir)).toEqual(puts(5));
    expect(fs.readFileSync(segmentFile(dir, 0))).toEqual(sealed);
  });

  test('a second repair keeps the first .broken file and writes .broken.1', async () => {
    const dir = tempDir();
    const { file, bytes } = await closedLog(dir, puts(2));
    fs.appendFileSync(file, 'first tear');
    await (await Wal.open(dir)).close();
    const closedAgain = fs.readFileSync(file); // a new close mark after the first
    fs.appendFileSync(file, 'second tear');
    const wal = await openWal(dir);
    expect(wal.repairs[0]?.keptIn).toBe(`${file}.broken.1`);
    expect(fs.readFileSync(`${file}.broken`)).toEqual(
      brokenCopy(Buffer.concat([bytes, Buffer.from('first tear')]), bytes.length),
    );
    expect(fs.readFileSync(`${file}.broken.1`)).toEqual(
      brokenCopy(Buffer.concat([closedAgain, Buffer.from('second tear')]), closedAgain.length),
    );
    expect(fs.readFileSync(file)).toEqual(closedAgain);
    expect(closedAgain.subarray(0, bytes.length)).toEqual(bytes);
  });

  test('property: a cut anywhere in the last segment leaves exactly the complete frames', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.nat({ max: 700 }), { minLength: 1, maxLength: 8 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        async (sizes, where) => {
          const dir = tempDir();
          const entries = sizes.map(
            (n, i) => ({ ...puts(1, i)[0], value: 'v'.repeat(n) }) as Entry,
          );
          const { file, bytes } = await closedLog(dir, entries);
          const frames = framesOf(readSegments(dir)[0]);
          const cut =
            SEGMENT_HEADER_SIZE + Math.floor(where * (bytes.length - SEGMENT_HEADER_SIZE));
          fs.writeFileSync(file, bytes.subarray(0, cut));
          const complete = frames.filter((f) => f.end <= cut);
          const cutAt = complete.at(-1)?.end ?? SEGMENT_HEADER_SIZE;
          const kept = complete.filter((f) => f.type === 'batch').length;
          const wal = await Wal.open({ dir, sync: 'none' });
          expect(wal.repairs.map((r) => [r.offset, r.bytes])).toEqual(
            cut > cutAt ? [[cutAt, cut - cutAt]] : [],
          );
          expect(wal.nextSequence).toBe(kept);
          await append(wal, puts(1, kept));
          await wal.close();
          expect(readEntries(dir)).toEqual([...entries.slice(0, kept), ...puts(1, kept)]);
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('free space: zeros after the last frame of the last segment', () => {
  test('a closed log keeps its preallocated zeros; reopening cuts nothing and appends over them', async () => {
    const dir = tempDir();
    const { file, bytes, dataEnd } = await closedLog(dir, puts(6), 0, 4_096);
    expect(bytes.length).toBeGreaterThan(dataEnd);
    expect(bytes.subarray(dataEnd).every((b) => b === 0)).toBe(true);
    const wal = await openWal({ dir, preallocateBytes: 4_096 });
    expect(wal.repairs).toEqual([]);
    expect(wal.segmentSize).toBe(dataEnd);
    expect(fs.existsSync(`${file}.broken`)).toBe(false);
    await append(wal, puts(2, 6));
    expect(fs.statSync(file).size).toBe(bytes.length); // over the zeros, not after them
    await wal.close();
    expect(readEntries(dir)).toEqual(puts(8));
  });

  test('a zero-filled tail (the size reached the disk, the data did not) is free space', async () => {
    const dir = tempDir();
    const { file, bytes } = await closedLog(dir, puts(6));
    fs.writeFileSync(file, Buffer.concat([bytes, Buffer.alloc(4_096)]));
    const wal = await openWal(dir);
    expect(wal.repairs).toEqual([]);
    expect(wal.segmentSize).toBe(bytes.length);
    await append(wal, puts(1, 6));
    await wal.close();
    expect(readEntries(dir)).toEqual(puts(7));
  });

  test('the last record zeroed from its start reads as free space: the inherent limit', async () => {
    // No later frame vouches for the last record of a crashed log, and whole
    // zeros carry no CRC to fail: it reads as free space, as if never written.
    const dir = tempDir();
    const { file, bytes, offsets } = crashedLog(dir, puts(6), 'always');
    const damaged = Buffer.from(bytes);
    damaged.fill(0, offsets.at(-1));
    fs.writeFileSync(file, damaged);
    const wal = await openWal(dir);
    expect(wal.repairs).toEqual([]);
    expect(wal.nextSequence).toBe(5);
    await append(wal, puts(1, 5));
    await wal.close();
    expect(readEntries(dir)).toEqual(puts(6));
  });

  test('a synced record zeroed mid-segment, free space after the last frame: refused, nothing cut', async () => {
    const dir = tempDir();
    const wal = await Wal.open(dir); // 'always': each record is synced before the next is written
    for (const e of puts(6)) await wal.put(e.key, e.value ?? '');
    await wal.close();
    const file = segmentFile(dir, 0);
    const [segment] = readSegments(dir);
    const frames = framesOf(segment);
    const second = frames[1] as (typeof frames)[number];
    const damaged = fs.readFileSync(file);
    damaged.fill(0, second.offset, second.end);
    fs.writeFileSync(file, damaged);
    const error = await rejectsWith(Wal.open(dir), 'WAL_CORRUPTION');
    expect((error as CorruptionError).damage).toMatchObject({
      file,
      offset: second.offset,
      bytes: second.end - second.offset,
      reason: 'zero-fill',
    });
    expect(fs.readFileSync(file)).toEqual(damaged);
    expect(fs.existsSync(`${file}.broken`)).toBe(false);
  });

  test('garbage after the free space is a torn tail: cut from the last frame, zeros and all', async () => {
    const dir = tempDir();
    const { file, bytes, dataEnd } = await closedLog(dir, puts(6), 0, 4_096);
    const damaged = Buffer.concat([bytes, Buffer.from('what a dying writer left')]);
    fs.writeFileSync(file, damaged);
    await expectRepaired(dir, file, damaged, dataEnd, puts(6), ['bad-length'], true);
  });

  test('zeros after a seal are no free space: a sealed segment ends at its seal', async () => {
    const dir = tempDir();
    const wal = await Wal.open(dir);
    await append(wal, puts(3));
    await wal.rotate();
    await append(wal, puts(2, 3));
    await wal.close();
    const sealed = segmentFile(dir, 0);
    fs.appendFileSync(sealed, Buffer.alloc(4_096));
    const error = await rejectsWith(Wal.open(dir), 'WAL_CORRUPTION');
    expect((error as CorruptionError).damage).toMatchObject({ file: sealed, reason: 'bad-seal' });
  });

  test('property: a crash that keeps part of the last group and the zeros after it leaves exactly the complete frames', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.nat({ max: 700 }), { minLength: 1, maxLength: 8 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        async (sizes, where) => {
          const dir = tempDir();
          const entries = sizes.map(
            (n, i) => ({ ...puts(1, i)[0], value: 'v'.repeat(n) }) as Entry,
          );
          const { file, bytes, dataEnd } = await closedLog(dir, entries, 0, 8_192);
          const frames = framesOf(readSegments(dir)[0]);
          const from = SEGMENT_HEADER_SIZE + Math.floor(where * (dataEnd - SEGMENT_HEADER_SIZE));
          const crashed = Buffer.from(bytes);
          crashed.fill(0, from); // the writes from there on never reached the disk
          fs.writeFileSync(file, crashed);
          // A frame is intact when it ends before `from`, or its bytes from there were zeros.
          const complete = frames.filter((f) =>
            crashed.subarray(f.offset, f.end).equals(bytes.subarray(f.offset, f.end)),
          );
          const cutAt = complete.at(-1)?.end ?? SEGMENT_HEADER_SIZE;
          const kept = complete.filter((f) => f.type === 'batch').length;
          const torn = crashed.subarray(cutAt).some((b) => b !== 0);
          const wal = await Wal.open({ dir, sync: 'none' });
          // Zeros from a frame boundary are free space; a part of a frame is a torn tail.
          expect(wal.repairs.map((r) => [r.offset, r.bytes])).toEqual(
            torn ? [[cutAt, bytes.length - cutAt]] : [],
          );
          expect(wal.nextSequence).toBe(kept);
          await append(wal, puts(1, kept));
          await wal.close();
          expect(readEntries(dir)).toEqual([...entries.slice(0, kept), ...puts(1, kept)]);
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('the tail rule, by write order', () => {
  // A frame layout with random sync points: each frame's synced watermark is
  // the segment size at the last sync before it was written, and the log
  // may end with a close mark (written after a final sync).
  const layout = fc.record({
    values: fc.array(fc.oneof(fc.nat({ max: 600 }), fc.constant(1024)), {
      minLength: 1,
      maxLength: 10,
    }),
    syncs: fc.array(fc.boolean(), { minLength: 10, maxLength: 10 }),
    marked: fc.boolean(),
    flip: fc.nat(),
    bit: fc.nat({ max: 7 }),
  });

  test('property: a flipped bit is cut iff no later frame was written after it was durable', async () => {
    await fc.assert(
      fc.asyncProperty(layout, async ({ values, syncs, marked, flip, bit }) => {
        const dir = '/log';
        const builder = new SegmentBuilder(headerOf());
        let synced = SEGMENT_HEADER_SIZE;
        values.forEach((size, i) => {
          // Zero-filled values: content must not matter, only write order.
          builder.put(`k${i}`, new Uint8Array(size), synced);
          if (syncs[i]) synced = builder.size;
        });
        if (marked) builder.mark('here');
        const bytes = builder.bytes();
        const at = SEGMENT_HEADER_SIZE + (flip % (bytes.length - SEGMENT_HEADER_SIZE));
        bytes[at] = (bytes[at] as number) ^ (1 << bit);
        const frames: BuiltFrame[] = builder.frames;
        const k = frames.findIndex((f) => at < f.end);
        const hit = frames[k] as BuiltFrame;
        const rot = frames.slice(k + 1).some((f) => f.synced > hit.offset);

        const sim = new SimFs();
        await sim.mkdirp(dir);
        const file = segmentFile(dir, 0);
        sim.writeFile(file, bytes);
        const before = sim.snapshot();
        if (rot) {
          const error = await rejectsWith(Wal.open({ dir, fs: sim }), 'WAL_CORRUPTION');
          expect((error as CorruptionError).damage).toMatchObject({ file, offset: hit.offset });
          expect(sim.snapshot()).toEqual(before);
          return;
        }
        const wal = await Wal.open({ dir, fs: sim });
        expect(wal.repairs).toMatchObject([
          { file, offset: hit.offset, bytes: bytes.length - hit.offset, keptIn: `${file}.broken` },
        ]);
        expect(Buffer.from(sim.readFile(`${file}.broken`))).toEqual(brokenCopy(bytes, hit.offset));
        expect(wal.nextSequence).toBe(hit.first);
        expect(await wal.put('after', 'cut')).toBe(hit.first);
        await wal.close();
        const keys = readEntries(dir, simDisk(sim)).map((e) => e.key);
        expect(keys).toEqual([...values.slice(0, hit.first).map((_, i) => `k${i}`), 'after']);
      }),
      { numRuns: 150 },
    );
  });
});

describe('power loss mid-append opens cleanly', () => {
  test.each(['always', 'interval', 'none'] as const)(
    "in every crash state of appends, a rotation and close, keeping every durable record (sync: '%s')",
    async (sync) => {
      const sim = new SimFs();
      const dir = '/log';
      // Every byte of unsynced zeros is a cut point: few zeros at a time,
      // so that the groups also cross where they run out.
      const options = { dir, sync, syncIntervalMs: 3_600_000, preallocateBytes: 40 };
      const wal = await Wal.open({ ...options, fs: sim });
      await append(wal, puts(2));
      await wal.sync();
      let durable = 2;
      const images: { fs: SimFs; durable: number; plan: string }[] = [];
      sim.onOperation = (event) => {
        if (!event.mutating) return;
        for (const plan of sim.crashPlans()) {
          images.push({ fs: sim.crash(plan), durable, plan: sim.describeCrashPlan(plan) });
        }
      };
      const written = puts(9);
      const acknowledge = (s: number) => {
        if (sync === 'always') durable = Math.max(durable, s + 1);
      };
      await Promise.all(
        written.slice(2, 5).map((e) => wal.put(e.key, e.value ?? '').then(acknowledge)),
      );
      await wal.rotate();
      durable = 5;
      await Promise.all(
        written.slice(5, 7).map((e) => wal.put(e.key, e.value ?? '').then(acknowledge)),
      );
      await wal.put('k7', 'v7').then(acknowledge);
      await wal.put('k8', 'v8').then(acknowledge);
      await wal.close();
      sim.onOperation = undefined;

      expect(images.length).toBeGreaterThan(300);
      for (const image of images) {
        const reopened = await Wal.open({ dir, fs: image.fs }).catch((error: Error) => {
          throw new Error(`${image.plan}: ${error.message}`);
        });
        const entries = readEntries(dir, simDisk(image.fs));
        expect(entries.length, image.plan).toBeGreaterThanOrEqual(image.durable);
        expect(entries, image.plan).toEqual(written.slice(0, entries.length));
        expect(reopened.nextSequence, image.plan).toBe(entries.length);
        await reopened.close();
      }
    },
  );
});

describe('the .broken copy', () => {
  // At every instant of the open that cuts a tail, a power loss leaves the
  // damaged bytes somewhere: still in the segment, or in a durable .broken
  // copy. Never neither.
  test('is durable before the cut: at every instant a power loss keeps the bytes', async () => {
    const dir = '/log';
    const sim = new SimFs();
    const wal = await Wal.open({ dir, fs: sim, preallocateBytes: 0 }); // it ends at its mark
    await append(wal, puts(3));
    await wal.close();
    const file = segmentFile(dir, 0);
    const damaged = concat(sim.readFile(file), utf8('a torn frame'));
    sim.writeFile(file, damaged);
    const copy = brokenCopy(damaged, damaged.length - 12);
    const kept = (image: SimFs, name: string, expected: Uint8Array) => {
      try {
        return Buffer.from(image.readFile(name)).equals(expected);
      } catch {
        return false; // not there
      }
    };
    let instants = 0;
    sim.onOperation = (event) => {
      if (!event.mutating) return;
      const image = sim.crash();
      const either = kept(image, file, damaged) || kept(image, `${file}.broken`, copy);
      expect(either, `after ${event.op}`).toBe(true);
      instants++;
    };
    const reopened = await Wal.open({ dir, fs: sim });
    sim.onOperation = undefined;
    expect(reopened.repairs).toMatchObject([{ keptIn: `${file}.broken` }]);
    expect(instants).toBeGreaterThan(3);
    const image = sim.crash(); // nothing more was synced by anyone
    expect(Buffer.from(image.readFile(`${file}.broken`))).toEqual(copy);
    expect(image.readFile(file)).toEqual(damaged.subarray(0, damaged.length - 12));
    await reopened.close();
  });
});

describe('power loss after a kill and a reopen', () => {
  // The killed writer's records were only in the page cache. The next open
  // reads them and tells new frames they are durable (their synced
  // watermark): it must make that true before anything is appended.
  test.each(['interval', 'none'] as const)(
    "every crash state before the next sync opens and keeps what the open found (sync: '%s')",
    async (sync) => {
      const dir = '/log';
      // Few zeros at a time: every byte of unsynced zeros is a cut point.
      const options = { dir, sync, syncIntervalMs: 3_600_000, preallocateBytes: 40 };
      const sim = new SimFs();
      const first = await Wal.open({ ...options, fs: sim });
      await append(first, puts(3));
      const next = sim.kill();
      const wal = await Wal.open({ ...options, fs: next });
      expect(wal.nextSequence).toBe(3);
      await append(wal, puts(2, 3));
      let states = 0;
      for (const plan of next.crashPlans()) {
        const image = next.crash(plan);
        const reopened = await Wal.open({ dir, fs: image }).catch((error: Error) => {
          throw new Error(`${next.describeCrashPlan(plan)}: ${error.message}`);
        });
        const entries = readEntries(dir, simDisk(image));
        expect(entries.slice(0, 3), next.describeCrashPlan(plan)).toEqual(puts(3));
        expect(entries).toEqual(puts(5).slice(0, entries.length));
        await reopened.close();
        states++;
      }
      expect(states).toBeGreaterThan(50);
    },
  );
});

describe('unfinished segment creations', () => {
  test('a leftover .tmp segment is removed; it never held records', async () => {
    const dir = tempDir();
    await closedLog(dir, puts(2));
    fs.writeFileSync(path.join(dir, 'wal_00000001.log.tmp'), 'half a header');
    const wal = await openWal(dir);
    expect(fs.existsSync(path.join(dir, 'wal_00000001.log.tmp'))).toBe(false);
    expect(wal.segment).toBe(0);
    expect(wal.nextSequence).toBe(2);
    expect(wal.repairs).toEqual([]);
  });
});
