// Regressions of issues 12 (integrity under damage and repair) and 13
// (frames forged by values, readers racing retention), each on the log the
// writer itself leaves. Each failed on the main branch before format v2.
// (The checkpoint cases, which need a Memtable, are in @wal/memtable's
// replay tests.)
import fs from 'node:fs';
import path from 'node:path';
import {
  CorruptionError,
  ErrorCode,
  encodeBatchFrame,
  encodeSegmentHeader,
  FRAME_CRC_OFFSET,
  FRAME_HEADER_SIZE,
  HEADER_SEGMENT_OFFSET,
  type WalEntry,
  type WalError,
} from '@wal/codec';
import { Wal } from '@wal/fs';
import { SimFs, seededRandom } from '@wal/fs/testing';
import { MANIFEST_FILE, readSegment, recover, repair, scanLog, verify } from '@wal/recovery';
import { describe, expect, test } from 'vitest';
import { contentOf, keyOf } from './fixtures/content.js';
import {
  batchFramesOf,
  collect,
  flip,
  framesOf,
  hookedFs,
  MODES,
  plain,
  tempDir,
  utf8,
} from './helpers.js';

const text = (b: Uint8Array | undefined) =>
  b === undefined ? undefined : Buffer.from(b).toString();

// Where a batch frame's first key starts, from the frame's offset.
const FIRST_KEY = FRAME_HEADER_SIZE + 17 + 5;

async function open(sim: SimFs, options: Partial<Parameters<typeof Wal.open>[0] & object> = {}) {
  return Wal.open({ dir: '/wal', fs: sim, ...options });
}

describe('issue 12: bit rot is never taken for a torn write', () => {
  test.each([
    ['a zero-filled value', () => Buffer.alloc(1024)],
    [
      'a value holding a zero-filled 512-byte run',
      () => Buffer.concat([Buffer.from('head'), Buffer.alloc(512), Buffer.from('tail')]),
    ],
  ])(
    'a flipped key byte of a record with %s, before intact later-synced records',
    async (_, value) => {
      const sim = new SimFs();
      const wal = await open(sim);
      await wal.put('a', value());
      await wal.put('b', 'x');
      await wal.put('c', 'y');
      await wal.close();
      const file = '/wal/wal_00000000.log';
      const bytes = sim.readFile(file);
      const [first] = batchFramesOf(bytes);
      if (!first) throw new Error('fixture');
      // 'a' -> 'b', as in the report.
      const damaged = flip(bytes, first.offset + FIRST_KEY, 0x03);
      sim.writeFile(file, damaged);

      for (const mode of ['strict', 'tolerate-tail'] as const) {
        await expect(recover('/wal', { fs: sim, mode }), mode).rejects.toMatchObject({
          code: ErrorCode.CORRUPTION,
          file,
          offset: first.offset,
          reason: 'checksum-mismatch',
        });
      }
      const report = await verify('/wal', { fs: sim });
      expect(report).toMatchObject({ ok: false, tornTail: null });
      expect(report.damage).toMatchObject([{ file, offset: first.offset, bytes: first.size }]);
      const skip = await recover('/wal', { fs: sim, mode: 'skip-corrupted' });
      expect(skip.entries.map((e) => [e.sequence, text(e.key), text(e.value)])).toEqual([
        [1, 'b', 'x'],
        [2, 'c', 'y'],
      ]);
      expect(skip.stats.tornTail).toBeNull();
      // The writer refuses to open it, and cuts nothing.
      await expect(open(sim)).rejects.toBeInstanceOf(CorruptionError);
      expect(sim.readFile(file)).toEqual(damaged);
      expect(await sim.readdir('/wal')).not.toContain('wal_00000000.log.broken');
    },
  );
});

describe('issue 12: repair salvages, never discards, never rewinds', () => {
  test('a flipped magic byte in segment 0 of 5: segment 0 is rebuilt, nothing else moves, every entry stays', async () => {
    const sim = new SimFs();
    const wal = await open(sim, { sync: 'none', maxSegmentBytes: 4096 });
    let n = 0;
    while (wal.segment < 4) await wal.put(keyOf(n), contentOf(n++));
    await wal.close();
    const files = (await sim.readdir('/wal')).filter((f) => f.startsWith('wal_')).sort();
    expect(files.length).toBe(5);
    const before = new Map(files.map((f) => [f, sim.readFile(`/wal/${f}`)]));
    const s0 = '/wal/wal_00000000.log';
    sim.writeFile(s0, flip(sim.readFile(s0), 1));

    const done = await repair('/wal', { fs: sim });
    expect(done.actions).toMatchObject([
      {
        action: 'rebuild',
        file: s0,
        segment: 0,
        keptIn: '/wal/quarantine/1/wal_00000000.log',
        lost: [],
      },
    ]);
    expect(done).toMatchObject({ lost: [], nextSequence: n, lastSequence: n - 1 });
    for (const f of files.slice(1)) expect(sim.readFile(`/wal/${f}`), f).toEqual(before.get(f));
    expect((await sim.readdir('/wal/quarantine/1')).sort()).toEqual([
      MANIFEST_FILE,
      'wal_00000000.log',
    ]);
    const r = await recover('/wal', { fs: sim, mode: 'strict' });
    expect(r.entries.map((e) => e.sequence)).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(r.entries.every((e) => text(e.value) === contentOf(e.sequence))).toBe(true);
    expect((await verify('/wal', { fs: sim, mode: 'strict' })).ok).toBe(true);
    const reopened = await open(sim);
    expect(await reopened.put('after', 'repair')).toBe(n);
    await reopened.close();
  });

  test('two repairs make two incidents, each with a manifest, each read alone', async () => {
    const sim = new SimFs();
    const wal = await open(sim, { sync: 'none' });
    for (let i = 0; i < 6; i++) await wal.put(keyOf(i), contentOf(i));
    await wal.rotate();
    for (let i = 6; i < 12; i++) await wal.put(keyOf(i), contentOf(i));
    await wal.rotate();
    await wal.put(keyOf(12), contentOf(12));
    await wal.close();
    const s1 = '/wal/wal_00000001.log';
    const rot = (which: number) => {
      const bytes = sim.readFile(s1);
      const f = batchFramesOf(bytes)[which];
      if (!f) throw new Error('fixture');
      sim.writeFile(s1, flip(bytes, f.offset + f.size - 1));
      return (f.record as { firstSequence: number }).firstSequence;
    };
    const lostFirst = rot(1);
    const first = await repair('/wal', { fs: sim });
    const lostSecond = rot(3);
    const second = await repair('/wal', { fs: sim });
    expect([first.incident, second.incident]).toEqual([1, 2]);
    expect([first.incidentDir, second.incidentDir]).toEqual([
      '/wal/quarantine/1',
      '/wal/quarantine/2',
    ]);
    for (const [done, n] of [
      [first, 1],
      [second, 2],
    ] as const) {
      const manifest = JSON.parse(
        text(sim.readFile(`/wal/quarantine/${n}/${MANIFEST_FILE}`)) as string,
      );
      expect(manifest).toMatchObject({
        incident: n,
        actions: done.actions.map((a) => ({ action: a.action, file: a.file })),
      });
    }
    const one = await recover('/wal/quarantine/1', { fs: sim, mode: 'skip-corrupted' });
    const two = await recover('/wal/quarantine/2', { fs: sim, mode: 'skip-corrupted' });
    // Each incident holds the segment as that repair found it: sequences 6 to 11, less what was damaged then.
    const range = (skip: number[]) => [6, 7, 8, 9, 10, 11].filter((s) => !skip.includes(s));
    expect(one.entries.map((e) => e.sequence)).toEqual(range([lostFirst]));
    expect(two.entries.map((e) => e.sequence)).toEqual(range([lostFirst, lostSecond]));
    expect(two.stats.holes).toMatchObject([{ firstSequence: lostFirst, incident: 1 }]);
    for (const e of [...one.entries, ...two.entries])
      expect(text(e.value)).toBe(contentOf(e.sequence));
    const log = await recover('/wal', { fs: sim, mode: 'strict' });
    expect(log.stats.holes.map((h) => [h.firstSequence, h.incident])).toEqual([
      [lostFirst, 1],
      [lostSecond, 2],
    ]);
    expect(log.nextSequence).toBe(13);
  });

  test('a sealed segment that lost its last 100 bytes: refused by open and recovery, rebuilt by repair', async () => {
    const sim = new SimFs();
    const wal = await open(sim, { sync: 'none' });
    for (let i = 0; i < 10; i++) await wal.put(keyOf(i), contentOf(i));
    await wal.rotate();
    await wal.put(keyOf(10), contentOf(10));
    await wal.close();
    const s0 = '/wal/wal_00000000.log';
    const bytes = sim.readFile(s0);
    sim.writeFile(s0, bytes.subarray(0, bytes.length - 100));
    await expect(open(sim)).rejects.toMatchObject({
      code: ErrorCode.CORRUPTION,
      file: s0,
      reason: 'bad-seal',
    });
    await expect(recover('/wal', { fs: sim })).rejects.toMatchObject({ file: s0 });
    const done = await repair('/wal', { fs: sim });
    expect(done.actions).toMatchObject([{ action: 'rebuild', segment: 0 }]);
    expect(done.nextSequence).toBe(11);
    expect(done.lost.at(-1)?.nextSequence).toBe(10);
    const reopened = await open(sim);
    expect(await reopened.put('next', 'one')).toBe(11);
    await reopened.close();
    expect((await verify('/wal', { fs: sim, mode: 'strict' })).ok).toBe(true);
  });

  test('an empty last segment that claims to start at 5 after a segment ending at 9: refused, and repair issues nothing twice', async () => {
    const sim = new SimFs();
    const wal = await open(sim, { sync: 'none' });
    for (let i = 0; i < 10; i++) await wal.put(keyOf(i), contentOf(i));
    await wal.rotate();
    await wal.close();
    // Segment 1 holds only its closing mark: rewrite its header to say 5.
    const s1 = '/wal/wal_00000001.log';
    const { header } = framesOf(sim.readFile(s1));
    sim.writeFile(s1, encodeSegmentHeader({ ...header, firstSequence: 5 }));
    await expect(open(sim)).rejects.toMatchObject({ reason: 'bad-sequence', file: s1 });
    await expect(recover('/wal', { fs: sim })).rejects.toMatchObject({ reason: 'bad-sequence' });
    const done = await repair('/wal', { fs: sim });
    expect(done.nextSequence).toBe(10);
    const reopened = await open(sim);
    expect(await reopened.put('next', 'one')).toBe(10);
    await reopened.close();
    const r = await recover('/wal', { fs: sim, mode: 'strict' });
    expect(r.entries.map((e) => e.sequence)).toEqual(Array.from({ length: 11 }, (_, i) => i));
  });
});

describe('issue 12: repair keeps every intact record of a segment whose header it salvages', () => {
  // Found by the damage-and-repair model (memtable replay test, seed
  // 1013727343): the survey read the segment's frames from its salvaged
  // header's first sequence on (a floor), the rebuild read them exactly
  // from it, so record 1 failed the exact check and was dropped: the
  // rebuilt segment held one hole for 0..1 while repair reported only 0 lost.
  test('the first segment gone, a flip in the first sequence of the next one: its record stays', async () => {
    const sim = new SimFs();
    const wal = await open(sim, { maxSegmentBytes: 200 });
    await wal.put('a', 'zero');
    await wal.rotate();
    await wal.put('a', 'one');
    await wal.close();
    await sim.unlink('/wal/wal_00000000.log');
    const s1 = '/wal/wal_00000001.log';
    sim.writeFile(s1, flip(sim.readFile(s1), 24)); // the header's first sequence: 1 -> 0

    const done = await repair('/wal', { fs: sim });
    expect(done).toMatchObject({
      actions: [{ action: 'rebuild', segment: 1 }],
      lost: [{ firstSequence: 0, nextSequence: 1 }],
      nextSequence: 2,
      lastSequence: 1,
    });
    const report = await verify('/wal', { fs: sim, mode: 'strict' });
    expect(report.ok).toBe(true);
    expect(report.holes.map((h) => [h.firstSequence, h.nextSequence])).toEqual([[0, 1]]);
    const r = await recover('/wal', { fs: sim, mode: 'strict' });
    expect(r.entries.map((e) => [e.sequence, text(e.key), text(e.value)])).toEqual([
      [1, 'a', 'one'],
    ]);
  });
});

describe('issue 12: repair mends a frame out of place in the last segment', () => {
  // A frame written twice (a misdirected write) among intact later-synced
  // frames: bad-sequence, refused by open. Repair did nothing with it (a
  // bad-sequence was taken for a chain break, which other checks mend), so
  // the log stayed unopenable after a repair that reported success.
  test('the copy is dropped, nothing is lost, and the writer opens', async () => {
    const sim = new SimFs();
    const wal = await open(sim);
    for (let i = 0; i < 4; i++) await wal.put(keyOf(i), contentOf(i));
    await wal.close();
    const file = '/wal/wal_00000000.log';
    const bytes = sim.readFile(file);
    const second = batchFramesOf(bytes)[1];
    if (!second) throw new Error('fixture');
    const end = second.offset + second.size;
    const copy = bytes.subarray(second.offset, end);
    sim.writeFile(file, Buffer.concat([bytes.subarray(0, end), copy, bytes.subarray(end)]));
    await expect(open(sim)).rejects.toMatchObject({ reason: 'bad-sequence', offset: end });

    const done = await repair('/wal', { fs: sim });
    expect(done).toMatchObject({ actions: [{ action: 'rebuild', segment: 0 }], lost: [] });
    expect((await verify('/wal', { fs: sim, mode: 'strict' })).ok).toBe(true);
    const r = await recover('/wal', { fs: sim, mode: 'strict' });
    expect(r.entries.map((e) => [e.sequence, text(e.value)])).toEqual(
      [0, 1, 2, 3].map((i) => [i, contentOf(i)]),
    );
    const reopened = await open(sim);
    expect(await reopened.put('next', 'one')).toBe(4);
    await reopened.close();
  });
});

describe('issue 12: missing and foreign things are errors', () => {
  test('verify and repair on a missing directory reject with WAL_NOT_FOUND', async () => {
    const sim = new SimFs();
    await expect(verify('/typo', { fs: sim })).rejects.toMatchObject({ code: ErrorCode.NOT_FOUND });
    await expect(repair('/typo', { fs: sim })).rejects.toMatchObject({ code: ErrorCode.NOT_FOUND });
  });

  test.each(MODES)(
    'scanLog and recover on a missing directory (%s): WAL_NOT_FOUND, or empty when asked',
    async (mode) => {
      const sim = new SimFs();
      const { error } = await collect(scanLog('/typo', { fs: sim, mode }));
      expect(error).toMatchObject({ code: ErrorCode.NOT_FOUND });
      await expect(recover('/typo', { fs: sim, mode })).rejects.toMatchObject({
        code: ErrorCode.NOT_FOUND,
      });
      const scan = scanLog('/typo', { fs: sim, mode, ifMissing: 'empty' });
      expect((await collect(scan)).entries).toEqual([]);
      expect(scan.stats).toMatchObject({
        missing: true,
        nextSequence: 0,
        lastSequence: null,
        segmentsScanned: 0,
      });
      const r = await recover('/typo', { fs: sim, mode, ifMissing: 'empty' });
      expect(r).toMatchObject({ entries: [], nextSequence: 0, stats: { missing: true } });
      // An existing empty directory is not missing.
      await sim.mkdirp('/empty');
      expect((await recover('/empty', { fs: sim, mode, ifMissing: 'empty' })).stats.missing).toBe(
        false,
      );
    },
  );

  test('a 1-byte wal_00000000.log is damage: verify is not ok, open refuses, repair sets it aside', async () => {
    const sim = new SimFs();
    await sim.mkdirp('/wal');
    sim.writeFile('/wal/wal_00000000.log', new Uint8Array([0x89]));
    expect(await verify('/wal', { fs: sim })).toMatchObject({
      ok: false,
      damage: [{ reason: 'bad-header', segment: 0, bytes: 1 }],
    });
    await expect(recover('/wal', { fs: sim })).rejects.toMatchObject({ reason: 'bad-header' });
    await expect(open(sim)).rejects.toMatchObject({
      code: ErrorCode.CORRUPTION,
      reason: 'bad-header',
    });
    const done = await repair('/wal', { fs: sim });
    expect(done.actions).toMatchObject([
      {
        action: 'remove',
        file: '/wal/wal_00000000.log',
        keptIn: '/wal/quarantine/1/wal_00000000.log',
      },
    ]);
    expect(sim.readFile('/wal/quarantine/1/wal_00000000.log')).toEqual(new Uint8Array([0x89]));
  });
});

describe('issue 12: the log says what limit it was written under', () => {
  test('a 20 MiB record written with maxRecordBytes 32 MiB reads back with default options', async () => {
    const sim = new SimFs();
    const big = Buffer.alloc(20 * 1024 * 1024, 0x5a);
    const wal = await open(sim, { maxRecordBytes: 32 * 1024 * 1024 });
    await wal.put('big', big);
    await wal.put('small', 'one');
    await wal.close();
    const scan = scanLog('/wal', { fs: sim });
    const got: WalEntry[] = [];
    for await (const e of scan) got.push(e);
    expect(got.map((e) => [text(e.key), e.value?.length])).toEqual([
      ['big', big.length],
      ['small', 3],
    ]);
    expect(Buffer.from(got[0]?.value as Uint8Array).equals(big)).toBe(true);
    expect(await verify('/wal', { fs: sim, mode: 'strict' })).toMatchObject({
      ok: true,
      entries: 2,
    });
    expect(
      (await collect(readSegment('/wal/wal_00000000.log', { fs: sim, mode: 'strict' }))).entries
        .length,
    ).toBe(2);
  });
});

describe('issue 13: frames in values are never taken for frames', () => {
  test('a power loss that cuts the last frame just after a frame of the same log in its value', async () => {
    const sim = new SimFs();
    // No zeros ahead of the frames: the file ends where the cut leaves it.
    const wal = await open(sim, { sync: 'none', preallocateBytes: 0 });
    for (let i = 0; i < 3; i++) await wal.put(keyOf(i), contentOf(i));
    await wal.sync();
    const file = wal.file;
    // A log stored in the log: the value holds the real bytes of frame 1.
    const synced = sim.readFile(file);
    const real = batchFramesOf(synced)[1];
    if (!real) throw new Error('fixture');
    const nested = synced.subarray(real.offset, real.offset + real.size);
    const host = Buffer.concat([Buffer.from('prefix'), nested, Buffer.alloc(300, 1)]);
    await wal.put('host', host);
    // Power loss: the unsynced host frame is cut just after the nested frame.
    const hostOffset = synced.length;
    const nestedEnd = hostOffset + FIRST_KEY + 4 + 4 + 6 + nested.length;
    expect(
      Buffer.from(sim.readFile(file).subarray(nestedEnd - nested.length, nestedEnd)).equals(nested),
    ).toBe(true);
    const crashed = sim.crash({
      files: new Map([[sim.inode(file), { kind: 'cut', length: nestedEnd }]]),
    });
    await wal.close();
    expect(crashed.readFile(file).length).toBe(nestedEnd);

    const tolerant = await recover('/wal', { fs: crashed });
    expect(tolerant.entries.map((e) => e.sequence)).toEqual([0, 1, 2]);
    expect(tolerant.stats.tornTail).toMatchObject({
      offset: hostOffset,
      bytes: nestedEnd - hostOffset,
    });
    const skip = await recover('/wal', { fs: crashed, mode: 'skip-corrupted' });
    expect(skip.entries.map((e) => e.sequence)).toEqual([0, 1, 2]);
    expect(skip.entries.map((e) => text(e.value))).toEqual([0, 1, 2].map(contentOf));
    const reopened = await open(crashed);
    expect(reopened.nextSequence).toBe(3);
    expect(reopened.repairs).toMatchObject([{ offset: hostOffset }]);
    expect(await reopened.put('after', 'crash')).toBe(3);
    await reopened.close();
    expect((await recover('/wal', { fs: crashed, mode: 'strict' })).entries.length).toBe(4);
  });

  test.each([
    ['another segment’s salt and the exact sequence the resync looks for', 'other'],
    ['this segment’s salt and a sequence already in the log', 'stale'],
  ])(
    'a flipped CRC bit of a sealed frame whose value holds a forged frame with %s',
    async (_, kind) => {
      const sim = new SimFs();
      const wal = await open(sim, { sync: 'none' });
      await wal.put('balance', '10');
      const salt = framesOf(sim.readFile(wal.file)).header.salt;
      const at = wal.nextSequence;
      const forged =
        kind === 'other'
          ? encodeBatchFrame({ salt: (salt + 1) >>> 0, synced: 48 }, at, [
              { type: 'put', key: utf8('balance'), value: utf8('1000000') },
            ])
          : encodeBatchFrame({ salt, synced: 48 }, at - 1, [
              { type: 'put', key: utf8('balance'), value: utf8('1000000') },
            ]);
      await wal.put('note', Buffer.concat([Buffer.from('see: '), forged, Buffer.from(' end')]));
      await wal.put('balance', '20');
      await wal.rotate();
      await wal.put('later', 'x');
      await wal.close();
      const s0 = '/wal/wal_00000000.log';
      const bytes = sim.readFile(s0);
      const host = batchFramesOf(bytes)[1];
      if (!host) throw new Error('fixture');
      sim.writeFile(s0, flip(bytes, host.offset + FRAME_CRC_OFFSET));
      const skip = await recover('/wal', { fs: sim, mode: 'skip-corrupted' });
      expect(skip.entries.map((e) => [e.sequence, text(e.key), text(e.value)])).toEqual([
        [0, 'balance', '10'],
        [2, 'balance', '20'],
        [3, 'later', 'x'],
      ]);
      expect(skip.stats.damage).toMatchObject([
        { file: s0, offset: host.offset, bytes: host.size },
      ]);
    },
  );
});

describe('issue 13: a reader racing retention', () => {
  const RUNS = Number(process.env.WAL_RACE_RUNS ?? 150);

  test(`a scan beside truncateThrough completes or rejects with WAL_TRUNCATED, never WAL_IO_ERROR (${RUNS} interleavings)`, async () => {
    const outcomes = { complete: 0, truncated: 0 };
    for (let seed = 1; seed <= RUNS; seed++) {
      const random = seededRandom(seed);
      const sim = new SimFs();
      const wal = await open(sim, { sync: 'none' });
      const firsts = [0];
      for (let i = 0; i < 24; i++) {
        await wal.put(keyOf(i), contentOf(i));
        if (i % 4 === 3) {
          await wal.rotate();
          firsts.push(i + 1);
        }
      }
      const through = Math.floor(random() * 24);
      const at = 1 + Math.floor(random() * 90);
      const awaited = random() < 0.5;
      const mode = MODES[Math.floor(random() * MODES.length)];
      let calls = 0;
      let retention: Promise<number> | undefined;
      const racing = new Proxy(sim, {
        get(target, prop, receiver) {
          const value = Reflect.get(target, prop, receiver);
          if (typeof value !== 'function') return value;
          return async (...args: unknown[]) => {
            if (++calls === at) {
              retention = wal.truncateThrough(through);
              if (awaited) await retention;
            }
            return value.apply(target, args);
          };
        },
      });
      const where = `seed ${seed}: truncateThrough(${through}) before call ${at}${awaited ? '' : ' (concurrent)'}, ${mode}`;
      const scan = scanLog('/wal', { fs: racing, mode });
      const { entries, error } = await collect(scan);
      await retention;
      if (error) {
        expect(error, where).toMatchObject({ code: ErrorCode.TRUNCATED });
        expect((error as Error).message, where).toContain('deleted');
        outcomes.truncated++;
      } else {
        // A whole run from some segment's start to the end, every entry as written.
        // (Nothing, when retention deleted every sealed segment first.)
        const from = entries[0]?.sequence ?? 24;
        expect(firsts, where).toContain(from);
        expect(
          entries.map((e) => e.sequence),
          where,
        ).toEqual(Array.from({ length: 24 - from }, (_, i) => from + i));
        for (const e of entries)
          expect(e, where).toEqual(
            plain({
              sequence: e.sequence,
              type: 'put',
              key: utf8(keyOf(e.sequence)),
              value: utf8(contentOf(e.sequence)),
            }),
          );
        expect(scan.stats.damage, where).toEqual([]);
        outcomes.complete++;
      }
      await wal.close();
    }
    // Both outcomes happen: the interleavings do race.
    expect(outcomes.truncated).toBeGreaterThan(0);
    expect(outcomes.complete).toBeGreaterThan(0);
  });
});

describe('repair of the first segment with a damaged header', () => {
  // Found by the damage-repair model (seed 1576098154): a flipped bit in the
  // segment field of segment 0's header made repair set the whole segment
  // aside, and the acknowledged record 0 went missing without being reported
  // lost. Nothing precedes the first segment, but its frames end exactly
  // where the next segment starts, so they are this segment's.
  test('salvages it when its frames run into the next segment, and loses nothing', async () => {
    const sim = new SimFs();
    const wal = await Wal.open({ dir: '/wal', fs: sim, maxSegmentBytes: 200 });
    await wal.delete('a');
    await wal.rotate();
    await wal.close();
    const file = '/wal/wal_00000000.log';
    sim.writeFile(file, flip(sim.readFile(file), HEADER_SEGMENT_OFFSET, 0x01));
    const repaired = await repair('/wal', { fs: sim });
    expect(repaired.lost).toEqual([]);
    expect(repaired.actions.map((a) => [a.action, a.segment])).toEqual([['rebuild', 0]]);
    const { entries, error } = await collect(scanLog('/wal', { fs: sim, mode: 'strict' }));
    expect(error).toBeUndefined();
    expect(entries.map((e) => [e.sequence, e.type])).toEqual([[0, 'delete']]);
  });

  test('salvages the only segment, whose frames no other segment can hold', async () => {
    const sim = new SimFs();
    const wal = await Wal.open({ dir: '/wal', fs: sim });
    await wal.put('a', '');
    await wal.close();
    const file = '/wal/wal_00000000.log';
    sim.writeFile(file, flip(sim.readFile(file), HEADER_SEGMENT_OFFSET, 0x01));
    const repaired = await repair('/wal', { fs: sim });
    expect(repaired.lost).toEqual([]);
    expect(repaired.actions.map((a) => [a.action, a.segment])).toEqual([['rebuild', 0]]);
    const { entries, error } = await collect(scanLog('/wal', { fs: sim, mode: 'strict' }));
    expect(error).toBeUndefined();
    expect(entries.map((e) => [e.sequence, e.type])).toEqual([[0, 'put']]);
  });
});

describe('a listed segment that cannot be opened', () => {
  async function threeSegments(dir: string, fs?: SimFs): Promise<void> {
    const wal = await Wal.open({ dir, fs });
    for (const key of ['a', 'b']) {
      await wal.put(key, key);
      await wal.rotate();
    }
    await wal.put('c', 'c');
    await wal.close();
  }

  // Retention deletes names; a name still there is a log the writer refuses.
  test('a dangling link as the newest segment is WAL_IO_ERROR everywhere, not a shorter log', async () => {
    const dir = tempDir();
    await threeSegments(dir);
    const newest = path.join(dir, 'wal_00000002.log');
    fs.rmSync(newest);
    fs.symlinkSync(path.join(dir, 'gone'), newest);
    const names = fs.readdirSync(dir).sort();
    const dangling = /wal_00000002\.log, found ENOENT although the directory still lists it/;
    for (const mode of MODES) {
      const { entries, error } = await collect(scanLog(dir, { mode }));
      expect(entries).toEqual([]);
      expect((error as WalError).code).toBe('WAL_IO_ERROR');
      expect((error as WalError).message).toMatch(dangling);
    }
    for (const run of [() => verify(dir), () => recover(dir), () => repair(dir)]) {
      const error = await run().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect((error as WalError).code).toBe('WAL_IO_ERROR');
      expect((error as WalError).message).toMatch(dangling);
    }
    await expect(Wal.open(dir)).rejects.toMatchObject({ code: 'WAL_IO_ERROR' });
    expect(fs.readdirSync(dir).sort()).toEqual(names);
  });

  test('one deleted between the listing and its open (retention) is left out', async () => {
    const sim = new SimFs();
    await threeSegments('/wal', sim);
    const oldest = '/wal/wal_00000000.log';
    let deleted = false;
    const racing = hookedFs(sim, async (op, args) => {
      if (op === 'open' && args[0] === oldest && !deleted) {
        deleted = true;
        await sim.unlink(oldest);
      }
    });
    const { entries, error } = await collect(scanLog('/wal', { fs: racing, mode: 'strict' }));
    expect(deleted).toBe(true);
    expect(error).toBeUndefined();
    expect(entries.map((e) => [e.sequence, Buffer.from(e.key, 'hex').toString()])).toEqual([
      [1, 'b'],
      [2, 'c'],
    ]);
  });
});
