// repair: rebuilds damaged segments from their intact records with hole
// records for what was lost, leaves intact segments alone, keeps every byte
// in one incident folder with a manifest, and never rewinds a sequence. A
// dry run changes nothing; a crash or an I/O error during repair loses
// nothing and leaves a log that repair can finish.
import fs from 'node:fs';
import path from 'node:path';
import {
  ErrorCode,
  encodeSegmentHeader,
  HEADER_CRC_OFFSET,
  HEADER_FIRST_SEQUENCE_OFFSET,
  HEADER_LOG_ID_OFFSET,
  HEADER_MAX_RECORD_BYTES_OFFSET,
  HEADER_SALT_OFFSET,
  HEADER_SEGMENT_OFFSET,
  HEADER_VERSION_OFFSET,
  SEGMENT_HEADER_SIZE,
} from '@wal/codec';
import { Wal } from '@wal/fs';
import { SimFs } from '@wal/fs/testing';
import { MANIFEST_FILE, QUARANTINE_DIR, recover, repair, scanLog, verify } from '@wal/recovery';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  type BuiltLog,
  batchFramesOf,
  buildLog,
  collect,
  flip,
  hex,
  plain,
  puts,
  simLog,
  tempDir,
  utf8,
  writeLog,
} from './helpers.js';

const equal = (a: Uint8Array | null | undefined, b: Uint8Array) =>
  !!a && Buffer.from(a).equals(Buffer.from(b));

// Every original segment is somewhere, byte for byte: still in place, or in
// a whole copy (in an incident folder).
function expectNothingLost(sim: SimFs, log: BuiltLog, context = '') {
  const files = sim.snapshot();
  const kept = [...files.values()].filter((b): b is Uint8Array => b !== null);
  for (const seg of log.segments) {
    expect(
      equal(files.get(seg.file), seg.bytes) || kept.some((b) => equal(b, seg.bytes)),
      `${context} ${seg.file} is kept whole`,
    ).toBe(true);
  }
}

const readJson = (sim: SimFs, file: string) =>
  JSON.parse(Buffer.from(sim.readFile(file)).toString()) as Record<string, unknown>;

// Damage in segment 1 of 4: a flipped byte in its second frame (sequence 4).
async function midLogDamage() {
  const { sim, log } = await simLog([puts(3), puts(3), puts(3), puts(2)]);
  const s1 = log.segments[1];
  const frame = s1?.frames[1];
  if (!s1 || !frame) throw new Error('fixture');
  const damaged = flip(s1.bytes, frame.offset + 10, 0x44);
  sim.writeFile(s1.file, damaged);
  // The log as it is on disk, damage included: what repair must keep.
  const onDisk = {
    ...log,
    segments: log.segments.map((s, i) => (i === 1 ? { ...s, bytes: damaged } : s)),
  };
  const kept = log.entries.filter((e) => e.sequence !== 4);
  return { sim, log, onDisk, damaged, frame, kept };
}

describe('repair', () => {
  test('a torn tail: the segment is rebuilt from its intact records, a whole copy kept; the writer continues', async () => {
    const dir = tempDir();
    const log = buildLog(dir, [puts(2), puts(3)]);
    await writeLog(log);
    const seg = log.segments[1];
    const torn = seg?.frames[2];
    if (!seg || !torn) throw new Error('fixture');
    fs.truncateSync(seg.file, torn.offset + 9);
    const before = fs.readFileSync(seg.file);
    const done = await repair(dir);
    const incidentDir = path.join(dir, QUARANTINE_DIR, '1');
    expect(done).toMatchObject({
      dir,
      dryRun: false,
      incident: 1,
      incidentDir,
      lost: [],
      nextSequence: 4,
      lastSequence: 3,
    });
    expect(done.actions).toEqual([
      {
        action: 'rebuild',
        file: seg.file,
        segment: 1,
        keptIn: path.join(incidentDir, 'wal_00000001.log'),
        damage: [expect.objectContaining({ offset: torn.offset, bytes: 9, reason: 'truncated' })],
        lost: [],
      },
    ]);
    expect(fs.readFileSync(path.join(incidentDir, 'wal_00000001.log'))).toEqual(before);
    const manifest = JSON.parse(fs.readFileSync(path.join(incidentDir, MANIFEST_FILE), 'utf8'));
    expect(manifest).toMatchObject({
      incident: 1,
      nextSequence: 4,
      actions: [{ action: 'rebuild' }],
    });
    expect(fs.readdirSync(dir).sort()).toEqual([
      'quarantine',
      'wal_00000000.log',
      'wal_00000001.log',
    ]);
    expect((await verify(dir, { mode: 'strict' })).ok).toBe(true);
    const wal = await Wal.open(dir);
    expect(wal.repairs).toEqual([]);
    expect(wal.nextSequence).toBe(4);
    expect(await wal.put('new', 'entry')).toBe(4);
    await wal.close();
    const r = await recover(dir, { mode: 'strict' });
    expect(r.entries.map(plain).slice(0, 4)).toEqual(log.entries.slice(0, 4));
    expect(r.nextSequence).toBe(5);
  });

  test('a last file too short for a header is set aside whole', async () => {
    // A rotation sealed segment 0; the next segment's file is not a segment.
    const { sim } = await simLog([{ batches: puts(2), sealed: true }]);
    sim.writeFile('/wal/wal_00000001.log', utf8('half a header'));
    const done = await repair('/wal', { fs: sim });
    expect(done.actions).toMatchObject([
      {
        action: 'remove',
        file: '/wal/wal_00000001.log',
        segment: 1,
        keptIn: '/wal/quarantine/1/wal_00000001.log',
        damage: [{ reason: 'bad-header', bytes: 13 }],
        lost: [],
      },
    ]);
    expect(sim.readFile('/wal/quarantine/1/wal_00000001.log')).toEqual(utf8('half a header'));
    expect(await sim.readdir('/wal')).not.toContain('wal_00000001.log');
    expect(await verify('/wal', { fs: sim, mode: 'strict' })).toMatchObject({
      ok: true,
      nextSequence: 2,
    });
  });

  test('mid-log damage: only the damaged segment is rebuilt, with a hole; later segments stay', async () => {
    const { sim, log, damaged, frame, kept } = await midLogDamage();
    const done = await repair('/wal', { fs: sim });
    expect(done.actions).toEqual([
      {
        action: 'rebuild',
        file: '/wal/wal_00000001.log',
        segment: 1,
        keptIn: '/wal/quarantine/1/wal_00000001.log',
        damage: [
          expect.objectContaining({
            reason: 'checksum-mismatch',
            offset: frame.offset,
            bytes: frame.size,
          }),
        ],
        lost: [{ firstSequence: 4, nextSequence: 5 }],
      },
    ]);
    expect(done).toMatchObject({
      lost: [{ firstSequence: 4, nextSequence: 5 }],
      nextSequence: 11,
      lastSequence: 10,
    });
    expect(sim.readFile('/wal/quarantine/1/wal_00000001.log')).toEqual(damaged);
    for (const i of [0, 2, 3]) {
      const s = log.segments[i];
      expect(sim.readFile(s?.file as string), `segment ${i}`).toEqual(s?.bytes);
    }
    expect((await sim.readdir('/wal/quarantine/1')).sort()).toEqual([
      MANIFEST_FILE,
      'wal_00000001.log',
    ]);
    const after = await recover('/wal', { fs: sim, mode: 'strict' });
    expect(after.entries.map(plain)).toEqual(kept);
    expect(after.stats.holes).toEqual([
      expect.objectContaining({ segment: 1, firstSequence: 4, nextSequence: 5, incident: 1 }),
    ]);
    expect(after.nextSequence).toBe(done.nextSequence);
    // The incident folder is itself a readable log: the copy of what was rebuilt.
    const salvage = await recover('/wal/quarantine/1', { fs: sim, mode: 'skip-corrupted' });
    expect(salvage.entries.map(plain)).toEqual(
      log.entries.filter((e) => e.sequence === 3 || e.sequence === 5),
    );
    const report = await verify('/wal', { fs: sim, mode: 'strict' });
    expect(report).toMatchObject({ ok: true, nextSequence: 11 });
    expect(report.holes).toMatchObject([{ firstSequence: 4, nextSequence: 5, incident: 1 }]);
    const wal = await Wal.open({ dir: '/wal', fs: sim });
    expect(wal.nextSequence).toBe(11);
    expect(await wal.put('after', 'repair')).toBe(11);
    await wal.close();
    expect((await verify('/wal', { fs: sim, mode: 'strict' })).ok).toBe(true);
  });

  test('rot in the last record before the closing mark: a hole carries the next sequence past it', async () => {
    const { sim, log } = await simLog([puts(3), { batches: puts(3, 8, 'x'), mark: true }]);
    const s1 = log.segments[1];
    const last = s1?.frames[2];
    if (!s1 || !last) throw new Error('fixture');
    sim.writeFile(s1.file, flip(s1.bytes, last.offset + 12));
    const done = await repair('/wal', { fs: sim });
    expect(done).toMatchObject({
      lost: [{ firstSequence: 5, nextSequence: 6 }],
      nextSequence: 6,
      lastSequence: 4,
    });
    const wal = await Wal.open({ dir: '/wal', fs: sim });
    expect(await wal.put('next', 'one')).toBe(6);
    await wal.close();
  });

  test('a missing segment is filled with a hole segment; the segments after it stay', async () => {
    const { sim, log } = await simLog([puts(2), puts(2), puts(2), puts(2)]);
    await sim.unlink(log.segments[1]?.file as string);
    const done = await repair('/wal', { fs: sim });
    expect(done.actions).toEqual([
      {
        action: 'create',
        file: '/wal/wal_00000001.log',
        segment: 1,
        keptIn: null,
        damage: [],
        lost: [{ firstSequence: 2, nextSequence: 4 }],
      },
    ]);
    expect(sim.readFile(log.segments[2]?.file as string)).toEqual(log.segments[2]?.bytes);
    expect(await verify('/wal', { fs: sim, mode: 'strict' })).toMatchObject({
      ok: true,
      nextSequence: 8,
    });
    const r = await recover('/wal', { fs: sim, mode: 'strict' });
    expect(r.entries.map((e) => e.sequence)).toEqual([0, 1, 4, 5, 6, 7]);
    expect(r.stats.holes).toMatchObject([{ segment: 1, firstSequence: 2, nextSequence: 4 }]);
  });

  test('a damaged header of a middle segment is rebuilt from its salt and records: nothing lost', async () => {
    const { sim, log } = await simLog([puts(2), puts(3), puts(2)]);
    const s1 = log.segments[1] as BuiltLog['segments'][number];
    sim.writeFile(s1.file, flip(s1.bytes, HEADER_VERSION_OFFSET, 0x04));
    const done = await repair('/wal', { fs: sim });
    expect(done.actions).toMatchObject([{ action: 'rebuild', segment: 1, lost: [] }]);
    const r = await recover('/wal', { fs: sim, mode: 'strict' });
    expect(r.entries.map(plain)).toEqual(log.entries);
    expect(r.stats.holes).toEqual([]);
  });

  test('a segment of another log is set aside, and its numbers filled', async () => {
    const { sim, log } = await simLog([puts(2), puts(2), puts(2)]);
    // Same number, sequences and layout, another log id: not ours.
    const foreign = buildLog('/wal', [puts(2), puts(2)])
      .segments[1] as BuiltLog['segments'][number];
    const other = foreign.bytes.slice();
    other.set(encodeSegmentHeader({ ...foreign.header, logId: 'ffffffffffffffff' }), 0);
    sim.writeFile(log.segments[1]?.file as string, other);
    const done = await repair('/wal', { fs: sim });
    expect(done.actions.map((a) => [a.action, a.segment])).toEqual([
      ['remove', 1],
      ['create', 1],
    ]);
    expect(sim.readFile('/wal/quarantine/1/wal_00000001.log')).toEqual(other);
    expect(await verify('/wal', { fs: sim, mode: 'strict' })).toMatchObject({
      ok: true,
      nextSequence: 6,
    });
  });

  // The floor, from a file repair sets aside: the last segment is gone
  // (unreadable), a copy of it lies under another number that is taken, and
  // what is left of the log ends with a sealed segment. Its sequences are in
  // no segment of the log any more, but the log held them: the writer must
  // continue above them, or it would give 8..11 out again.
  test('the last segment unreadable, a copy of it under a taken number: the writer continues above the copy', async () => {
    const sim = new SimFs();
    const wal = await Wal.open({ dir: '/wal', fs: sim, sync: 'none' });
    for (let i = 0; i < 12; i++) {
      if (i > 0 && i % 4 === 0) await wal.rotate();
      await wal.put(`k${i}`, `v${i}`);
    }
    await wal.close();
    const last = '/wal/wal_00000002.log';
    const bytes = sim.readFile(last);
    sim.writeFile('/wal/wal_00000009.log', bytes); // its header still says 2
    sim.writeFile(last, utf8('x'));
    const done = await repair('/wal', { fs: sim });
    expect(done.actions.map((a) => [a.action, a.segment])).toEqual([
      ['remove', 2],
      ['remove', 9],
      ['create', 2],
    ]);
    expect(done).toMatchObject({
      lost: [{ firstSequence: 8, nextSequence: 12 }],
      nextSequence: 12,
      lastSequence: 7,
    });
    expect(equal(sim.readFile('/wal/quarantine/1/wal_00000009.log'), bytes)).toBe(true);
    const reopened = await Wal.open({ dir: '/wal', fs: sim });
    expect(await reopened.put('next', 'one')).toBe(12);
    await reopened.close();
  });

  test('a dry run returns the same plan and changes nothing', async () => {
    const a = await midLogDamage();
    const before = a.sim.snapshot();
    const mutating: string[] = [];
    a.sim.onOperation = (e) => {
      if (e.mutating) mutating.push(`${e.op} ${e.path}`);
    };
    const dry = await repair('/wal', { fs: a.sim, dryRun: true });
    expect(mutating).toEqual([]);
    expect(a.sim.snapshot()).toEqual(before);
    expect(a.sim.locks).toBe(0);
    const real = await repair('/wal', { fs: (await midLogDamage()).sim });
    expect(dry).toEqual({ ...real, dryRun: true });
  });

  test('a clean log needs nothing; a second repair finds nothing; a later one is a new incident', async () => {
    const { sim, damaged } = await midLogDamage();
    expect((await repair('/wal', { fs: sim })).actions.length).toBe(1);
    expect(await repair('/wal', { fs: sim })).toMatchObject({
      actions: [],
      incident: null,
      incidentDir: null,
    });
    // The same segment damaged again later: a new incident keeps its new copy.
    const again = await Wal.open({ dir: '/wal', fs: sim });
    await again.put('x', 'y');
    await again.close();
    const current = sim.readFile('/wal/wal_00000001.log');
    sim.writeFile('/wal/wal_00000001.log', flip(current, 60));
    const second = await repair('/wal', { fs: sim });
    expect(second).toMatchObject({ incident: 2, incidentDir: '/wal/quarantine/2' });
    expect(second.actions[0]?.keptIn).toBe('/wal/quarantine/2/wal_00000001.log');
    expect(sim.readFile('/wal/quarantine/2/wal_00000001.log')).toEqual(flip(current, 60));
    expect(sim.readFile('/wal/quarantine/1/wal_00000001.log')).toEqual(damaged);
    expect(readJson(sim, '/wal/quarantine/2/manifest.json')).toMatchObject({ incident: 2 });
  });

  test('repair takes the writer lock: refused while a writer is open, dry run allowed', async () => {
    const dir = tempDir();
    await writeLog(buildLog(dir, [puts(2)]));
    const wal = await Wal.open(dir);
    await expect(repair(dir)).rejects.toMatchObject({ code: ErrorCode.LOCKED });
    await expect(repair(dir, { dryRun: true })).resolves.toMatchObject({ actions: [] });
    await wal.close();
    await expect(repair(dir)).resolves.toMatchObject({ actions: [] });
    expect(fs.readdirSync(dir)).toEqual(['wal_00000000.log']);
  });

  test('a missing directory is WAL_NOT_FOUND, not an empty log', async () => {
    const sim = new SimFs();
    await expect(repair('/nowhere', { fs: sim })).rejects.toMatchObject({
      code: ErrorCode.NOT_FOUND,
    });
    await expect(repair('/nowhere', { fs: sim, dryRun: true })).rejects.toMatchObject({
      code: ErrorCode.NOT_FOUND,
    });
    expect(sim.locks).toBe(0);
  });
});

describe('repair salvages a damaged header whatever field the damage hit', () => {
  // A log the writer left: 3 records in segment 0, sealed, 2 in segment 1, closed.
  async function written() {
    const sim = new SimFs();
    const wal = await Wal.open({ dir: '/wal', fs: sim, sync: 'none' });
    for (let i = 0; i < 3; i++) await wal.put(`k${i}`, `v${i}`);
    await wal.rotate();
    for (let i = 3; i < 5; i++) await wal.put(`k${i}`, `v${i}`);
    await wal.close();
    return sim;
  }

  test.each([
    ['the magic', 0],
    ['the version', HEADER_VERSION_OFFSET],
    ['the salt', HEADER_SALT_OFFSET],
    ['the first sequence', HEADER_FIRST_SEQUENCE_OFFSET],
    ['the first sequence, high byte', HEADER_FIRST_SEQUENCE_OFFSET + 5],
    ['the record limit', HEADER_MAX_RECORD_BYTES_OFFSET + 2],
    ['the log id', HEADER_LOG_ID_OFFSET],
    ['the header CRC', HEADER_CRC_OFFSET],
  ])('%s of segment 0 or 1: every record kept, nothing issued twice', async (_, at) => {
    for (const segment of [0, 1]) {
      const sim = await written();
      const file = `/wal/wal_0000000${segment}.log`;
      sim.writeFile(file, flip(sim.readFile(file), at, 0x01));
      const done = await repair('/wal', { fs: sim });
      const where = `segment ${segment}, byte ${at}`;
      expect(done.nextSequence, where).toBe(5);
      expect(done.lost, where).toEqual([]);
      expect(done.actions, where).toMatchObject([{ action: 'rebuild', segment }]);
      const r = await recover('/wal', { fs: sim, mode: 'strict' });
      expect(
        r.entries.map((e) => e.sequence),
        where,
      ).toEqual([0, 1, 2, 3, 4]);
    }
  });

  test.each(['none', 'always'] as const)(
    'a sealed segment with a damaged header and one damaged record (sync %s): only that record is lost, and lost says so',
    async (sync) => {
      const sim = new SimFs();
      const wal = await Wal.open({ dir: '/wal', fs: sim, sync });
      for (let i = 0; i < 4; i++) await wal.put(`k${i}`, `v${i}`);
      await wal.rotate();
      await wal.put('k4', 'v4');
      await wal.close();
      const file = '/wal/wal_00000000.log';
      const bytes = sim.readFile(file);
      const second = batchFramesOf(bytes)[1];
      if (!second) throw new Error('fixture');
      sim.writeFile(file, flip(flip(bytes, 0), second.offset + second.size - 1));
      const done = await repair('/wal', { fs: sim });
      expect(done.lost).toEqual([{ firstSequence: 1, nextSequence: 2 }]);
      const r = await recover('/wal', { fs: sim, mode: 'strict' });
      expect(r.entries.map((e) => e.sequence)).toEqual([0, 2, 3, 4]);
      // The holes in the log are what repair reported, no more.
      expect(r.stats.holes.map((h) => [h.firstSequence, h.nextSequence])).toEqual([[1, 2]]);
    },
  );

  test('a last segment holding only its closing mark, header damaged, after retention: the floor is kept', async () => {
    const sim = new SimFs();
    const wal = await Wal.open({ dir: '/wal', fs: sim, sync: 'none' });
    for (let i = 0; i < 4; i++) await wal.put(`k${i}`, `v${i}`);
    await wal.rotate();
    expect(await wal.truncateThrough(3)).toBe(1);
    await wal.close();
    // Only wal_00000001.log is left: a header that says 4, and a mark at 4.
    const file = '/wal/wal_00000001.log';
    sim.writeFile(file, flip(sim.readFile(file), 1));
    const done = await repair('/wal', { fs: sim });
    expect(done.nextSequence).toBe(4);
    const reopened = await Wal.open({ dir: '/wal', fs: sim });
    expect(await reopened.put('next', 'one')).toBe(4);
    await reopened.close();
  });

  test('a damaged header and a damaged first record in segment 0: the record is a hole, the log still starts at 0', async () => {
    const sim = await written();
    const file = '/wal/wal_00000000.log';
    const bytes = sim.readFile(file);
    const first = batchFramesOf(bytes)[0];
    if (!first) throw new Error('fixture');
    sim.writeFile(file, flip(flip(bytes, 0), first.offset + first.size - 1));
    const done = await repair('/wal', { fs: sim });
    expect(done.lost).toEqual([{ firstSequence: 0, nextSequence: 1 }]);
    expect(done.nextSequence).toBe(5);
    const r = await recover('/wal', { fs: sim, mode: 'strict' });
    expect(r.stats.firstSequence).toBe(0);
    expect(r.stats.holes).toMatchObject([{ firstSequence: 0, nextSequence: 1 }]);
    expect(r.entries.map((e) => e.sequence)).toEqual([1, 2, 3, 4]);
  });
});

describe('a damaged header with a short run of acknowledged records after it', () => {
  // What the writer made durable: one record in segment 0, sealed; `count`
  // records in segment 1, each acknowledged under sync 'always'; then power loss.
  async function acknowledged(count: number, segments: 1 | 2 = 2) {
    const sim = new SimFs();
    const wal = await Wal.open({ dir: '/wal', fs: sim, sync: 'always', preallocateBytes: 0 });
    const acked: number[] = [];
    if (segments === 2) {
      acked.push(await wal.put('a', '1'));
      await wal.rotate();
    }
    for (let i = 0; i < count; i++) acked.push(await wal.put(`k${i}`, `acked ${i}`));
    const image = sim.crash();
    return { image, acked, file: `/wal/wal_0000000${segments - 1}.log` };
  }

  const TAILS = {
    none: [],
    'a torn half frame': [0x30, 0x00, 0x00, 0x00, 0x11, 0x22, 0x33],
    zeros: new Array(64).fill(0),
    garbage: Array.from({ length: 40 }, (_, i) => (i * 73 + 11) & 0xff),
  } satisfies Record<string, number[]>;
  type Tail = keyof typeof TAILS;

  function damage(image: SimFs, file: string, headerByte: number, bit: number, tail: Tail) {
    const bytes = [...flip(image.readFile(file), headerByte, 1 << bit), ...TAILS[tail]];
    image.writeFile(file, new Uint8Array(bytes));
    image.syncAll();
  }

  // No acknowledged sequence is handed out again, and each is either in the
  // repaired log or in what repair reports lost.
  async function expectNoSequenceReused(image: SimFs, acked: number[], where: string) {
    const top = Math.max(...acked) + 1;
    expect(
      (await verify('/wal', { fs: image })).nextSequence,
      `${where}: verify`,
    ).toBeGreaterThanOrEqual(top);
    const done = await repair('/wal', { fs: image });
    expect(done.nextSequence, `${where}: repair`).toBeGreaterThanOrEqual(top);
    const r = await recover('/wal', { fs: image, mode: 'strict' });
    const kept = new Set(r.entries.map((e) => e.sequence));
    const lost = (n: number) => done.lost.some((l) => l.firstSequence <= n && n < l.nextSequence);
    for (const n of acked) expect(kept.has(n) || lost(n), `${where}: sequence ${n}`).toBe(true);
    const wal = await Wal.open({ dir: '/wal', fs: image });
    expect(await wal.put('next', 'one'), `${where}: the next put`).toBeGreaterThanOrEqual(top);
    await wal.close();
  }

  test('the last segment: its header CRC rotted, one acknowledged record, a torn half frame after it: the record is kept', async () => {
    const { image, file } = await acknowledged(1);
    damage(image, file, HEADER_CRC_OFFSET, 0, 'a torn half frame');
    expect((await verify('/wal', { fs: image })).nextSequence).toBe(2);
    const done = await repair('/wal', { fs: image });
    expect(done.actions).toMatchObject([{ action: 'rebuild', segment: 1 }]);
    expect(done).toMatchObject({ nextSequence: 2, lastSequence: 1, lost: [] });
    const r = await recover('/wal', { fs: image, mode: 'strict' });
    expect(r.entries.map(plain)).toEqual([
      { sequence: 0, type: 'put', key: hex(utf8('a')), value: hex(utf8('1')) },
      { sequence: 1, type: 'put', key: hex(utf8('k0')), value: hex(utf8('acked 0')) },
    ]);
    const wal = await Wal.open({ dir: '/wal', fs: image });
    expect(await wal.put('next', 'one')).toBe(2);
    await wal.close();
  });

  test('a last segment set aside (its header names another segment, its first record rotted): its sequences are still never issued again', async () => {
    const { image, file } = await acknowledged(2);
    const bytes = image.readFile(file);
    const first = batchFramesOf(bytes)[0];
    if (!first) throw new Error('fixture');
    // Sequence 1 rots; sequence 2 is intact, but no longer continues the chain.
    image.writeFile(
      file,
      flip(flip(bytes, HEADER_SEGMENT_OFFSET, 0x04), first.offset + first.size - 1),
    );
    image.syncAll();
    const done = await repair('/wal', { fs: image });
    expect(done.actions.map((a) => a.action)).toEqual(['remove', 'create']);
    expect(done).toMatchObject({ nextSequence: 3, lost: [{ firstSequence: 1, nextSequence: 3 }] });
    const wal = await Wal.open({ dir: '/wal', fs: image });
    expect(await wal.put('next', 'one')).toBe(3);
    await wal.close();
  });

  test('whatever header bit is flipped, whatever follows the records: no acknowledged sequence is issued twice', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: SEGMENT_HEADER_SIZE - 1 }),
        fc.integer({ min: 0, max: 7 }),
        fc.constantFrom(...(Object.keys(TAILS) as Tail[])),
        fc.integer({ min: 1, max: 3 }),
        fc.constantFrom(1 as const, 2 as const),
        async (headerByte, bit, tail, count, segments) => {
          const { image, acked, file } = await acknowledged(count, segments);
          damage(image, file, headerByte, bit, tail);
          const where = `byte ${headerByte} bit ${bit}, ${tail}, ${count} records, ${segments} segments`;
          await expectNoSequenceReused(image, acked, where);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('repair under failure', () => {
  // Damaged logs to repair: the log as it is on disk, what repair keeps, and
  // where the writer goes on.
  const scenarios: [
    string,
    () => Promise<{ sim: SimFs; log: BuiltLog; kept: unknown[]; nextSequence: number }>,
  ][] = [
    [
      'mid-log damage',
      async () => {
        const { sim, onDisk, kept } = await midLogDamage();
        return { sim, log: onDisk, kept, nextSequence: 11 };
      },
    ],
    [
      'a damaged header and a short last file',
      async () => {
        const { sim, log } = await simLog([puts(2), puts(3)]);
        const s0 = log.segments[0] as BuiltLog['segments'][number];
        const badHeader = flip(s0.bytes, 3);
        sim.writeFile(s0.file, badHeader);
        sim.writeFile('/wal/wal_00000002.log', utf8('partial'));
        const onDisk = {
          ...log,
          segments: [{ ...s0, bytes: badHeader }, log.segments[1] as BuiltLog['segments'][number]],
        };
        return { sim, log: onDisk, kept: log.entries, nextSequence: 5 };
      },
    ],
    [
      // Segment 2 as wal_7: put back under its own number. Its old file
      // went before the new one was written, so a crash in between left
      // its records only in the incident, and repair run again recorded
      // them as lost (sequences 6..8).
      'a segment under another number',
      async () => {
        const { sim, log } = await simLog([puts(3), puts(3), puts(3), puts(2)]);
        const s2 = log.segments[2] as BuiltLog['segments'][number];
        const misnamed = { ...s2, file: '/wal/wal_00000007.log' };
        sim.writeFile(misnamed.file, s2.bytes);
        await sim.unlink(s2.file);
        sim.syncAll();
        const onDisk = { ...log, segments: log.segments.map((s) => (s === s2 ? misnamed : s)) };
        return { sim, log: onDisk, kept: log.entries, nextSequence: 11 };
      },
    ],
  ];

  // Every crash state (every subset of the unsynced directory operations,
  // and the ends of unsynced writes) after every call of a repair: each
  // file of the log as it was is whole somewhere, in the log or in the
  // incident. And once repair resolves, it is durable: a power loss then
  // leaves the repaired log.
  test.each(scenarios)(
    'every crash state of repairing %s keeps every original',
    async (_, make) => {
      const { sim, log, kept, nextSequence } = await make();
      let states = 0;
      sim.onOperation = (e) => {
        if (!e.mutating) return;
        for (const plan of sim.crashPlans({ cuts: 'write-ends' })) {
          states++;
          const where = `after call ${e.index} (${e.op} ${e.path}): ${sim.describeCrashPlan(plan)}`;
          expectNothingLost(sim.crash(plan), log, where);
        }
      };
      const done = await repair('/wal', { fs: sim });
      sim.onOperation = undefined;
      expect(done.nextSequence).toBe(nextSequence);
      expect(states).toBeGreaterThan(20);
      const image = sim.crash();
      expect(await verify('/wal', { fs: image, mode: 'strict' })).toMatchObject({ ok: true });
      const { entries } = await collect(scanLog('/wal', { fs: image, mode: 'strict' }));
      expect(entries).toEqual(kept);
    },
  );

  // After any crash during repair: nothing is lost, every state reads as the
  // old log or the repaired one, and running repair again finishes it.
  test.each(scenarios)('a crash at every step of repairing %s', async (_, make) => {
    const { sim, log, kept, nextSequence } = await make();
    const crashes: SimFs[] = [];
    sim.onOperation = (e) => {
      if (!e.mutating) return;
      crashes.push(sim.crash());
      for (let seed = 1; seed <= 3; seed++) crashes.push(sim.crash(seed * 7919 + crashes.length));
    };
    const first = await repair('/wal', { fs: sim });
    sim.onOperation = undefined;
    expect(first.nextSequence).toBe(nextSequence);
    expect(crashes.length).toBeGreaterThan(8);
    for (const [i, crashed] of crashes.entries()) {
      expectNothingLost(crashed, log, `crash ${i}`);
      // skip-corrupted never returns a wrong entry, whatever state the crash left.
      const skip = await recover('/wal', { fs: crashed, mode: 'skip-corrupted' });
      const bySequence = new Map(log.entries.map((e) => [e.sequence, e]));
      for (const e of skip.entries.map(plain))
        expect(e, `crash ${i}`).toEqual(bySequence.get(e.sequence));
      const again = await repair('/wal', { fs: crashed }).catch((e: unknown) => e);
      expect(again, `crash ${i}: repair again`).not.toBeInstanceOf(Error);
      expect((await verify('/wal', { fs: crashed, mode: 'strict' })).ok, `crash ${i}`).toBe(true);
      const { entries, error } = await collect(scanLog('/wal', { fs: crashed, mode: 'strict' }));
      expect(error, `crash ${i}`).toBeUndefined();
      expect(entries, `crash ${i}`).toEqual(kept);
      const wal = await Wal.open({ dir: '/wal', fs: crashed });
      expect(wal.nextSequence, `crash ${i}`).toBe(nextSequence);
      await wal.close();
    }
  });

  test('an I/O error at any call of a repair: WAL_IO_ERROR, nothing lost, and repair finishes later', async () => {
    for (let n = 1; ; n++) {
      const { sim, onDisk, kept } = await midLogDamage();
      const fault = sim.inject({ nth: n, code: 'EIO' });
      const outcome = await repair('/wal', { fs: sim }).catch((e: unknown) => e);
      sim.clearFaults();
      expect(sim.openHandles, `call ${n}`).toBe(0);
      expect(sim.locks, `call ${n}`).toBe(0);
      expectNothingLost(sim, onDisk, `call ${n}`);
      if (fault.fired[0] && fault.fired[0].op !== 'close') {
        expect(outcome, `call ${n}`).toMatchObject({ code: ErrorCode.IO_ERROR });
      }
      const again = await repair('/wal', { fs: sim }).catch((e: unknown) => e);
      expect(again, `call ${n}: repair again`).not.toBeInstanceOf(Error);
      const { entries } = await collect(scanLog('/wal', { fs: sim, mode: 'strict' }));
      expect(entries, `call ${n}`).toEqual(kept);
      if (fault.fired.length === 0) break;
    }
  });
});
