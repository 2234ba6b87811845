// repair: cuts damage, keeps every byte, leaves a valid prefix the writer
// continues; a dry run changes nothing; a crash or an I/O error during repair
// loses nothing and leaves a log that repair can finish.
import fs from 'node:fs';
import path from 'node:path';
import { ErrorCode, SEGMENT_HEADER_SIZE } from '@wal/codec';
import { Wal } from '@wal/fs';
import { SimFs } from '@wal/fs/testing';
import { recover, repair, scanLog, verify } from '@wal/recovery';
import { describe, expect, test } from 'vitest';
import {
  type BuiltLog,
  buildLog,
  collect,
  concat,
  plain,
  puts,
  simLog,
  tempDir,
  utf8,
  writeLog,
} from './helpers.js';

const equal = (a: Uint8Array | null | undefined, b: Uint8Array) =>
  !!a && Buffer.from(a).equals(Buffer.from(b));

// Every byte of every original segment is somewhere: still in place, in a
// whole copy in quarantine/, or split between a cut segment and a .broken file.
function expectNothingLost(sim: SimFs, log: BuiltLog) {
  const files = sim.snapshot();
  const kept = [...files.values()].filter((b): b is Uint8Array => b !== null);
  for (const seg of log.segments) {
    const now = files.get(seg.file);
    if (equal(now, seg.bytes) || kept.some((b) => equal(b, seg.bytes))) continue;
    const prefix = now ?? new Uint8Array(0);
    const rest = seg.bytes.subarray(prefix.length);
    const broken = [...files].filter(([p]) => p.startsWith(`${seg.file}.broken`));
    expect(equal(seg.bytes.subarray(0, prefix.length), prefix), `${seg.file} is a prefix`).toBe(
      true,
    );
    expect(
      broken.some(([, b]) => equal(b, rest)),
      `${seg.file}: cut bytes kept`,
    ).toBe(true);
  }
}

// Damage in segment 1 of 4: a flipped byte in its second frame.
function midLogDamage() {
  const { sim, log } = simLog([puts(3), puts(3), puts(3), puts(2)]);
  const s1 = log.segments[1];
  const frame = s1?.frames[1];
  if (!s1 || !frame) throw new Error('fixture');
  const damaged = s1.bytes.slice();
  damaged[frame.offset + 10] = (damaged[frame.offset + 10] as number) ^ 0x44;
  sim.writeFile(s1.file, damaged);
  sim.syncAll();
  // The log as it is on disk, damage included: what repair must keep.
  const onDisk = {
    ...log,
    segments: log.segments.map((s, i) => (i === 1 ? { ...s, bytes: damaged } : s)),
  };
  return { sim, log, onDisk, damaged, cutAt: frame.offset, prefix: log.entries.slice(0, 4) };
}

describe('repair', () => {
  test('a torn tail is cut into a .broken file; the writer opens and continues', async () => {
    const dir = tempDir();
    const log = buildLog(dir, [puts(2), puts(3)]);
    writeLog(log);
    const seg = log.segments[1];
    const torn = seg?.frames[2];
    if (!seg || !torn) throw new Error('fixture');
    fs.truncateSync(seg.file, torn.offset + 9);
    const done = await repair(dir);
    expect(done.actions).toEqual([
      expect.objectContaining({
        action: 'cut',
        file: seg.file,
        offset: torn.offset,
        bytes: 9,
        cause: 'torn-tail',
        keptIn: `${seg.file}.broken`,
      }),
    ]);
    expect(done).toMatchObject({ dryRun: false, nextSequence: 4, lastSequence: 3 });
    expect(fs.readFileSync(`${seg.file}.broken`)).toEqual(
      Buffer.from(seg.bytes.subarray(torn.offset, torn.offset + 9)),
    );
    expect(fs.statSync(seg.file).size).toBe(torn.offset);
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
    const { sim } = simLog([puts(2)]);
    sim.writeFile('/wal/wal_00000001.log', utf8('half a header'));
    const done = await repair('/wal', { fs: sim });
    expect(done.actions).toMatchObject([
      {
        action: 'move',
        file: '/wal/wal_00000001.log',
        bytes: 13,
        cause: 'torn-tail',
        keptIn: '/wal/wal_00000001.log.broken',
      },
    ]);
    expect(sim.readFile('/wal/wal_00000001.log.broken')).toEqual(utf8('half a header'));
    expect((await verify('/wal', { fs: sim, mode: 'strict' })).ok).toBe(true);
  });

  test('mid-log damage: the segment is copied whole to quarantine/ and cut, later ones moved', async () => {
    const { sim, log, damaged, cutAt, prefix } = midLogDamage();
    const done = await repair('/wal', { fs: sim });
    expect(
      done.actions.map((a) => [a.action, path.basename(a.file), a.offset, a.cause, a.keptIn]),
    ).toEqual([
      ['cut', 'wal_00000001.log', cutAt, 'damage', '/wal/quarantine/wal_00000001.log'],
      ['move', 'wal_00000002.log', 0, 'after-damage', '/wal/quarantine/wal_00000002.log'],
      ['move', 'wal_00000003.log', 0, 'after-damage', '/wal/quarantine/wal_00000003.log'],
    ]);
    expect(done.actions[0]).toMatchObject({
      reason: 'checksum-mismatch',
      bytes: damaged.length - cutAt,
    });
    expect(sim.readFile('/wal/quarantine/wal_00000001.log')).toEqual(damaged);
    expect(sim.readFile('/wal/quarantine/wal_00000003.log')).toEqual(log.segments[3]?.bytes);
    expect(sim.readdir('/wal').sort()).toEqual([
      'quarantine',
      'wal_00000000.log',
      'wal_00000001.log',
    ]);
    const after = await recover('/wal', { fs: sim, mode: 'strict' });
    expect(after.entries.map(plain)).toEqual(prefix);
    expect(after.nextSequence).toBe(done.nextSequence);
    // quarantine/ is itself a readable log: salvage what followed the damage.
    const salvage = await recover('/wal/quarantine', { fs: sim, mode: 'skip-corrupted' });
    expect(salvage.entries.map(plain)).toEqual(
      log.entries.slice(3).filter((e) => e.sequence !== 4),
    );
    const wal = await Wal.open({ dir: '/wal', fs: sim });
    expect(wal.nextSequence).toBe(4);
    await wal.put('after', 'repair');
    await wal.close();
    expect((await verify('/wal', { fs: sim, mode: 'strict' })).ok).toBe(true);
  });

  test('a gap: the segment after it and every later one go to quarantine/', async () => {
    const { sim, log } = simLog([puts(2), puts(2), puts(2), puts(2)]);
    sim.unlink(log.segments[1]?.file as string);
    const done = await repair('/wal', { fs: sim });
    expect(done.actions.map((a) => [a.action, path.basename(a.file), a.cause, a.reason])).toEqual([
      ['move', 'wal_00000002.log', 'gap', 'missing'],
      ['move', 'wal_00000003.log', 'after-damage', 'missing'],
    ]);
    expect(await verify('/wal', { fs: sim, mode: 'strict' })).toMatchObject({
      ok: true,
      nextSequence: 2,
    });
  });

  test('a dry run returns the same plan and changes nothing', async () => {
    const a = midLogDamage();
    const before = a.sim.snapshot();
    const mutating: string[] = [];
    a.sim.onOperation = (e) => {
      if (e.mutating) mutating.push(`${e.op} ${e.path}`);
    };
    const dry = await repair('/wal', { fs: a.sim, dryRun: true });
    expect(mutating).toEqual([]);
    expect(a.sim.snapshot()).toEqual(before);
    expect(a.sim.locks).toBe(0);
    const real = await repair('/wal', { fs: midLogDamage().sim });
    expect(dry).toEqual({ ...real, dryRun: true });
  });

  test('a clean log needs nothing; a second repair finds nothing; a later one keeps earlier copies', async () => {
    const { sim, log, damaged } = midLogDamage();
    expect((await repair('/wal', { fs: sim })).actions.length).toBe(3);
    expect((await repair('/wal', { fs: sim })).actions).toEqual([]);
    // The same segment damaged again later: its new copy gets a new name.
    const again = await Wal.open({ dir: '/wal', fs: sim });
    await again.put('x', 'y');
    await again.close();
    const current = sim.readFile('/wal/wal_00000001.log');
    current[SEGMENT_HEADER_SIZE + 12] = (current[SEGMENT_HEADER_SIZE + 12] as number) ^ 1;
    sim.writeFile(
      '/wal/wal_00000001.log',
      concat([current, log.segments[3]?.bytes.subarray(0, 1) ?? new Uint8Array()]),
    );
    const second = await repair('/wal', { fs: sim });
    expect(second.actions[0]?.keptIn).toBe('/wal/quarantine/wal_00000001.log.1');
    expect(sim.readFile('/wal/quarantine/wal_00000001.log')).toEqual(damaged);
  });

  test('repair takes the writer lock: refused while a writer is open, dry run allowed', async () => {
    const dir = tempDir();
    writeLog(buildLog(dir, [puts(2)]));
    const wal = await Wal.open(dir);
    await expect(repair(dir)).rejects.toMatchObject({ code: ErrorCode.LOCKED });
    await expect(repair(dir, { dryRun: true })).resolves.toMatchObject({ actions: [] });
    await wal.close();
    await expect(repair(dir)).resolves.toMatchObject({ actions: [] });
    expect(fs.readdirSync(dir)).toEqual(['wal_00000000.log']);
  });

  test('a missing directory is an empty log with nothing to repair', async () => {
    const sim = new SimFs();
    await expect(repair('/nowhere', { fs: sim })).resolves.toMatchObject({
      actions: [],
      nextSequence: 0,
    });
    expect(sim.locks).toBe(0);
  });
});

describe('repair under failure', () => {
  // After any crash during repair: nothing is lost, and running repair again
  // leaves the same valid prefix.
  test.each([
    [
      'mid-log damage',
      () => {
        const { sim, onDisk, prefix } = midLogDamage();
        return { sim, log: onDisk, prefix };
      },
    ],
    [
      'a torn tail and a short last file',
      () => {
        const { sim, log } = simLog([puts(2), puts(3)]);
        const s1 = log.segments[1] as BuiltLog['segments'][number];
        sim.writeFile(s1.file, s1.bytes.subarray(0, s1.bytes.length - 4));
        sim.writeFile('/wal/wal_00000002.log', utf8('partial'));
        sim.syncAll();
        const truncated = {
          ...log,
          segments: [log.segments[0], { ...s1, bytes: s1.bytes.subarray(0, s1.bytes.length - 4) }],
        };
        return { sim, log: truncated as BuiltLog, prefix: log.entries.slice(0, 4) };
      },
    ],
  ])('a crash at every step of repairing %s', async (_, make) => {
    const { sim, log, prefix } = make();
    const crashes: SimFs[] = [];
    sim.onOperation = (e) => {
      if (!e.mutating) return;
      crashes.push(sim.crash());
      for (let seed = 1; seed <= 3; seed++) crashes.push(sim.crash(seed * 7919 + crashes.length));
    };
    await repair('/wal', { fs: sim });
    sim.onOperation = undefined;
    expect(crashes.length).toBeGreaterThan(8);
    const cut = log.segments[1] as BuiltLog['segments'][number];
    for (const [i, crashed] of crashes.entries()) {
      expectNothingLost(crashed, log);
      // The valid prefix never changes, and the cut is the last step: once
      // it is on disk, so is everything else repair did.
      const pit = await recover('/wal', { fs: crashed, mode: 'point-in-time' });
      expect(pit.entries.map(plain), `crash ${i}`).toEqual(prefix);
      if (crashed.readFile(cut.file).length < cut.bytes.length) {
        expect((await verify('/wal', { fs: crashed, mode: 'strict' })).ok, `crash ${i}`).toBe(true);
      }
      await repair('/wal', { fs: crashed });
      expect((await verify('/wal', { fs: crashed, mode: 'strict' })).ok, `crash ${i}`).toBe(true);
      const { entries } = await collect(scanLog('/wal', { fs: crashed, mode: 'strict' }));
      expect(entries, `crash ${i}`).toEqual(prefix);
    }
  });

  test('an I/O error at any call of a repair: WAL_IO_ERROR, nothing lost, and repair finishes later', async () => {
    for (let n = 1; ; n++) {
      const { sim, onDisk, prefix } = midLogDamage();
      const fault = sim.inject({ nth: n, code: 'EIO' });
      const outcome = await repair('/wal', { fs: sim }).catch((e: unknown) => e);
      sim.clearFaults();
      expect(sim.openHandles).toBe(0);
      expect(sim.locks).toBe(0);
      expectNothingLost(sim, onDisk);
      if (fault.fired[0] && fault.fired[0].op !== 'close') {
        expect(outcome, `call ${n}`).toMatchObject({ code: ErrorCode.IO_ERROR });
      }
      await repair('/wal', { fs: sim });
      const { entries } = await collect(scanLog('/wal', { fs: sim, mode: 'strict' }));
      expect(entries, `call ${n}`).toEqual(prefix);
      if (fault.fired.length === 0) break;
    }
  });
});
