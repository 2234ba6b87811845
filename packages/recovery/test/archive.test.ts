// archiveLog and directoryTarget: every sealed segment shipped at least
// once, in order, retried, idempotent, resumable from what the target
// lists; nothing deleted by retention before the target acknowledged it;
// a bound on what may pile up.
import { createHash } from 'node:crypto';
import path from 'node:path';
import { Wal } from '@wal/fs';
import { SimFs } from '@wal/fs/testing';
import {
  type ArchivedSegment,
  type ArchiveTarget,
  archiveLog,
  directoryTarget,
  scanLog,
} from '@wal/recovery';
import { describe, expect, test } from 'vitest';

const DIR = '/log';
const ARCHIVE = '/archive';
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const segmentName = (n: number) => `wal_${String(n).padStart(8, '0')}.log`;

async function settle(turns = 50): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}

// Fills and seals `count` segments.
async function seal(wal: Wal, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await wal.put(`k${wal.nextSequence}`, 'v'.repeat(50));
    await wal.rotate();
  }
}

function localNames(sim: SimFs, dir = DIR): string[] {
  return [...sim.snapshot().keys()]
    .filter((p) => path.posix.dirname(p) === dir && /^wal_\d+\.log$/.test(path.posix.basename(p)))
    .map((p) => path.posix.basename(p))
    .sort();
}

// A target that records every put and can be held (puts wait) or made to fail.
class RecordingTarget implements ArchiveTarget {
  readonly puts: number[] = [];
  readonly inner: ArchiveTarget;
  failures = 0;
  #gate: Promise<void> | undefined;
  #open: (() => void) | undefined;

  constructor(inner: ArchiveTarget) {
    this.inner = inner;
  }

  hold(): void {
    this.#gate = new Promise((resolve) => {
      this.#open = resolve;
    });
  }

  release(): void {
    this.#gate = undefined;
    this.#open?.();
  }

  async put(info: ArchivedSegment, data: Uint8Array, signal?: AbortSignal): Promise<void> {
    this.puts.push(info.segment);
    await this.#gate;
    if (this.failures > 0) {
      this.failures--;
      throw Object.assign(new Error('ECONNRESET: the target went away'), { code: 'ECONNRESET' });
    }
    await this.inner.put(info, data, signal);
  }

  get(segment: number, signal?: AbortSignal) {
    return this.inner.get(segment, signal);
  }

  list(signal?: AbortSignal) {
    return this.inner.list(signal);
  }
}

describe('archiveLog', () => {
  test('ships every sealed segment, byte for byte, in order; ends when the writer closes', async () => {
    const sim = new SimFs();
    const wal = await Wal.open({ dir: DIR, fs: sim });
    await seal(wal, 2); // sealed before the archiver started
    const target = new RecordingTarget(directoryTarget(ARCHIVE, { fs: sim }));
    const archiver = archiveLog({ wal, target });
    await seal(wal, 2);
    await archiver.idle();
    expect(archiver.archivedThrough).toBe(3);
    await wal.put('active', 'not sealed');
    await wal.close();
    await archiver.done;
    expect(target.puts).toEqual([0, 1, 2, 3]);
    expect(archiver.stats).toMatchObject({ archived: 4, retries: 0 });
    const listed = await target.list();
    expect(listed.map((s) => s.segment)).toEqual([0, 1, 2, 3]);
    for (const s of listed) {
      const local = sim.readFile(`${DIR}/${segmentName(s.segment)}`);
      const archived = sim.readFile(`${ARCHIVE}/${segmentName(s.segment)}`);
      expect(Buffer.from(archived).equals(Buffer.from(local))).toBe(true);
      expect(s).toMatchObject({ bytes: local.length, checksum: sha256(local) });
    }
    // A contiguous archive directory is a log of its own.
    const entries = [];
    for await (const e of scanLog(ARCHIVE, { fs: sim })) entries.push(e.sequence);
    expect(entries).toEqual([0, 1, 2, 3]);
  });

  test('retention never deletes a segment the target has not acknowledged', async () => {
    const sim = new SimFs();
    const wal = await Wal.open({ dir: DIR, fs: sim });
    const target = new RecordingTarget(directoryTarget(ARCHIVE, { fs: sim }));
    target.hold();
    const archiver = archiveLog({ wal, target });
    await seal(wal, 3);
    await settle();
    expect(target.puts).toEqual([0]); // in order: one at a time
    expect(await wal.truncateThrough(1000)).toBe(0);
    expect(localNames(sim)).toEqual([0, 1, 2, 3].map(segmentName));
    target.release();
    await archiver.idle();
    expect(await wal.truncateThrough(1000)).toBe(3);
    expect(localNames(sim)).toEqual([segmentName(3)]);
    await wal.close();
    await archiver.done;
  });

  test('a failing target is retried with backoff until it acknowledges, in order', async () => {
    const sim = new SimFs();
    const wal = await Wal.open({ dir: DIR, fs: sim });
    const target = new RecordingTarget(directoryTarget(ARCHIVE, { fs: sim }));
    target.failures = 3;
    const archiver = archiveLog({ wal, target, retry: { initialDelayMs: 1, maxDelayMs: 4 } });
    await seal(wal, 2);
    await archiver.idle();
    expect(target.puts).toEqual([0, 0, 0, 0, 1]);
    expect(archiver.stats.retries).toBe(3);
    await wal.close();
    await archiver.done;
  });

  test('maxAttempts gives up with the target error as cause, and releases the hold', async () => {
    const sim = new SimFs();
    const wal = await Wal.open({ dir: DIR, fs: sim });
    const target = new RecordingTarget(directoryTarget(ARCHIVE, { fs: sim }));
    target.failures = 10;
    const archiver = archiveLog({ wal, target, retry: { initialDelayMs: 1, maxAttempts: 2 } });
    await seal(wal, 1);
    const error = await archiver.done.catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'WAL_IO_ERROR', cause: { code: 'ECONNRESET' } });
    expect(String(error)).toMatch(/archive segment 0 within 2 attempts/);
    await expect(archiver.idle()).rejects.toBe(error);
    expect(await wal.truncateThrough(1000)).toBe(1);
    await wal.close();
  });

  test('resumes from what the target lists: no segment twice, none skipped, also after a kill', async () => {
    const sim = new SimFs();
    let wal = await Wal.open({ dir: DIR, fs: sim });
    const first = new RecordingTarget(directoryTarget(ARCHIVE, { fs: sim }));
    const a1 = archiveLog({ wal, target: first });
    await seal(wal, 2);
    await a1.idle();
    // Killed mid-put of segment 2: the writer and the archiver die with the process.
    first.hold();
    await seal(wal, 1);
    await settle();
    expect(first.puts).toEqual([0, 1, 2]);
    const after = sim.kill();
    wal = await Wal.open({ dir: DIR, fs: after });
    await seal(wal, 1);
    const second = new RecordingTarget(directoryTarget(ARCHIVE, { fs: after }));
    const a2 = archiveLog({ wal, target: second });
    await a2.idle();
    await wal.close();
    await a2.done;
    expect(second.puts).toEqual([2, 3]); // 0 and 1 were listed as done
    const listed = await second.list();
    expect(listed.map((s) => s.segment)).toEqual([0, 1, 2, 3]);
    for (const s of listed) {
      expect(sha256(after.readFile(`${ARCHIVE}/${segmentName(s.segment)}`))).toBe(s.checksum);
      expect(sha256(after.readFile(`${DIR}/${segmentName(s.segment)}`))).toBe(s.checksum);
    }
    first.release();
  });

  test('an archive of other bytes for a segment is WAL_ARCHIVE_CONFLICT', async () => {
    const sim = new SimFs();
    const other = await Wal.open({ dir: '/other', fs: sim });
    await seal(other, 2);
    const otherArchiver = archiveLog({ wal: other, target: directoryTarget(ARCHIVE, { fs: sim }) });
    await otherArchiver.idle();
    await other.close();
    await otherArchiver.done;
    // Another log, same segment numbers: the last archived one's checksum differs.
    const wal = await Wal.open({ dir: DIR, fs: sim });
    await seal(wal, 2);
    const archiver = archiveLog({ wal, target: directoryTarget(ARCHIVE, { fs: sim }) });
    const error = await archiver.done.catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'WAL_ARCHIVE_CONFLICT' });
    expect(String(error)).toMatch(/archived segment 1 to have the local checksum/);
    await wal.close();
  });

  test('segments deleted before any archiver shipped them stop it with WAL_ARCHIVE_GAP', async () => {
    const sim = new SimFs();
    const wal = await Wal.open({ dir: DIR, fs: sim });
    await seal(wal, 1);
    const a1 = archiveLog({ wal, target: directoryTarget(ARCHIVE, { fs: sim }) });
    await a1.idle();
    await a1.close();
    await seal(wal, 3);
    expect(await wal.truncateThrough(1000)).toBe(4); // no archiver held them
    const a2 = archiveLog({ wal, target: directoryTarget(ARCHIVE, { fs: sim }) });
    const error = await a2.done.catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'WAL_ARCHIVE_GAP' });
    expect(String(error)).toMatch(/expected segment 1, the one after the archive's last/);
    await wal.close();
  });

  test("maxPending 'block': the writer's next rotation waits until the archive catches up", async () => {
    const sim = new SimFs();
    const wal = await Wal.open({ dir: DIR, fs: sim });
    const target = new RecordingTarget(directoryTarget(ARCHIVE, { fs: sim }));
    target.hold();
    const archiver = archiveLog({ wal, target, maxPending: { bytes: 400, onExceeded: 'block' } });
    await seal(wal, 2); // two segments of about 170 bytes: within the bound
    await wal.put('k', 'v'.repeat(100));
    let rotated = false;
    const rotation = wal.rotate().then(() => {
      rotated = true;
    });
    await settle();
    expect(rotated).toBe(false);
    target.release();
    await rotation;
    await archiver.idle();
    await wal.close();
    await archiver.done;
    expect(target.puts).toEqual([0, 1, 2]);
  });

  test("maxPending 'error': the hold is dropped and the archiver stops with WAL_HOLD_EXCEEDED", async () => {
    const sim = new SimFs();
    const wal = await Wal.open({ dir: DIR, fs: sim });
    const target = new RecordingTarget(directoryTarget(ARCHIVE, { fs: sim }));
    target.hold();
    const archiver = archiveLog({ wal, target, maxPending: { bytes: 400, onExceeded: 'error' } });
    await seal(wal, 4);
    const error = await archiver.done.catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'WAL_HOLD_EXCEEDED' });
    expect(await wal.truncateThrough(1000)).toBe(4); // nothing holds them any more
    target.release();
    await wal.close();
  });

  test('close() stops it and releases the hold; abort rejects done with the reason', async () => {
    const sim = new SimFs();
    const wal = await Wal.open({ dir: DIR, fs: sim });
    const target = new RecordingTarget(directoryTarget(ARCHIVE, { fs: sim }));
    target.hold();
    const archiver = archiveLog({ wal, target });
    await seal(wal, 2);
    await archiver.close();
    await archiver.done;
    expect(await wal.truncateThrough(1000)).toBe(2);
    const controller = new AbortController();
    const aborted = archiveLog({ wal, target, signal: controller.signal });
    controller.abort(new Error('stop'));
    await expect(aborted.done).rejects.toThrow('stop');
    target.release();
    await wal.close();
  });

  test('bad options are WAL_INVALID_OPTIONS before anything runs', async () => {
    const sim = new SimFs();
    const wal = await Wal.open({ dir: DIR, fs: sim });
    const target = directoryTarget(ARCHIVE, { fs: sim });
    for (const bad of [
      {},
      { wal },
      { wal: {}, target },
      { wal, target: { put() {} } },
      { wal, target, retry: { initialDelayMs: 0 } },
      { wal, target, maxPending: { bytes: 10 } },
      { wal, target, maxPending: { bytes: 10, onExceeded: 'drop' } },
      { wal, target, bogus: 1 },
    ]) {
      expect(() => archiveLog(bad as never)).toThrow(
        expect.objectContaining({ code: 'WAL_INVALID_OPTIONS' }),
      );
    }
    await wal.close();
    expect(() => archiveLog({ wal, target })).toThrow(
      expect.objectContaining({ code: 'WAL_CLOSED' }),
    );
  });
});

describe('directoryTarget', () => {
  const info = (bytes: Uint8Array, segment = 0): ArchivedSegment => ({
    segment,
    firstSequence: 0,
    lastSequence: 0,
    bytes: bytes.length,
    checksum: sha256(bytes),
  });

  test('a resend with the same checksum is success; another checksum WAL_ARCHIVE_CONFLICT', async () => {
    const sim = new SimFs();
    const target = directoryTarget(ARCHIVE, { fs: sim });
    const a = new TextEncoder().encode('segment bytes');
    await target.put(info(a), a);
    await target.put(info(a), a);
    const b = new TextEncoder().encode('other bytes');
    await expect(target.put(info(b), b)).rejects.toMatchObject({ code: 'WAL_ARCHIVE_CONFLICT' });
    expect(await target.list()).toEqual([info(a)]);
    expect(await target.get(0)).toEqual(a);
    expect(await target.get(1)).toBeUndefined();
    await expect(target.put(info(a), b)).rejects.toMatchObject({ code: 'WAL_INVALID_ARGUMENT' });
  });

  test('a power loss at any step of a put leaves it acknowledged whole or absent, and a new put finishes it', async () => {
    const bytes = new TextEncoder().encode('x'.repeat(3000));
    const probe = new SimFs();
    const start = probe.operations;
    await directoryTarget(ARCHIVE, { fs: probe }).put(info(bytes), bytes);
    const steps = probe.operations - start;
    for (let step = 0; step <= steps; step++) {
      const sim = new SimFs();
      const target = directoryTarget(ARCHIVE, { fs: sim });
      let crashed: SimFs | undefined;
      const begin = sim.operations;
      sim.onOperation = (e) => {
        if (!crashed && e.index - begin === step) crashed = sim.crash();
      };
      await target.put(info(bytes), bytes);
      const after = crashed ?? sim.crash();
      const again = directoryTarget(ARCHIVE, { fs: after });
      const listed = await again.list();
      if (listed.length > 0) expect(await again.get(0)).toEqual(bytes);
      await again.put(info(bytes), bytes);
      expect(await again.list()).toEqual([info(bytes)]);
      expect(await again.get(0)).toEqual(bytes);
    }
    // After the put resolved, a power loss keeps it.
    const sim = new SimFs();
    await directoryTarget(ARCHIVE, { fs: sim }).put(info(bytes), bytes);
    expect(await directoryTarget(ARCHIVE, { fs: sim.crash() }).list()).toEqual([info(bytes)]);
  });

  test('a put whose directory could not be prepared is tried again by the next put', async () => {
    const bytes = new TextEncoder().encode('segment bytes');
    const sim = new SimFs();
    const target = directoryTarget('/backups/new/archive', { fs: sim });
    const fault = sim.inject({ ops: ['fsyncDir'], code: 'EIO' });
    await expect(target.put(info(bytes), bytes)).rejects.toMatchObject({ code: 'WAL_IO_ERROR' });
    expect(fault.fired).toHaveLength(1);
    await target.put(info(bytes), bytes);
    expect(await target.list()).toEqual([info(bytes)]);
  });

  test('a put into directories it had to create survives a power loss once it resolves', async () => {
    const bytes = new TextEncoder().encode('segment bytes');
    const sim = new SimFs();
    const deep = '/backups/new/archive';
    await directoryTarget(deep, { fs: sim }).put(info(bytes), bytes);
    // The crash keeps only what was fsynced: /backups and /backups/new too.
    const after = directoryTarget(deep, { fs: sim.crash() });
    expect(await after.list()).toEqual([info(bytes)]);
    expect(await after.get(0)).toEqual(bytes);
  });
});
