import { CorruptionError, type WalEntry } from '@wal/codec';
import { type SyncMode, Wal } from '@wal/fs';
import { listSegmentFiles } from '@wal/fs/segments';
import { type Random, SimFs, seededRandom } from '@wal/fs/testing';
import { recover } from '@wal/recovery';
import { describe, expect, test } from 'vitest';
import { describeError, LOG_DIR, walOptions } from './support/check.js';
import { useTickingClock } from './support/clock.js';
import { framesOf } from './support/segment-bytes.js';
import { settings } from './support/settings.js';
import { frameValue } from './support/workload.js';

// Bit rot anywhere in a closed log: every byte of a multi-segment log
// (values with zero-filled runs and copies of the log's own frames) flipped
// in turn. Wal.open either refuses with WAL_CORRUPTION naming the file and
// a region that holds the flip, or opens having cut nothing that held an
// entry; rot is never cut; appending and reopening then work; and
// tolerate-tail and skip-corrupted recovery agree on where the damage is,
// skip-corrupted losing only the record the flip is in.

const tick = useTickingClock();

interface Log {
  fs: SimFs;
  entries: WalEntry[];
  /** By file: where each batch record starts and ends, and its sequences. */
  records: Map<string, { start: number; end: number; first: number; next: number }[]>;
}

/** A closed log of three or more small segments, written in `sync` mode. */
async function buildLog(sync: SyncMode, seed: number): Promise<Log> {
  const random = seededRandom(seed);
  const fs = new SimFs();
  const segment = settings.flipSegmentBytes;
  const wal = await Wal.open(walOptions(fs, { sync, maxSegmentBytes: segment }));
  // Three sealed segments, and a few records in the last one.
  for (let i = 0; wal.segment < 3 || framesOf(fs.readFile(wal.file)).length < 3; i++) {
    const key = `k${i % 5}`;
    const roll = random();
    if (roll < 0.15) await wal.delete(key);
    else if (roll < 0.45) await wal.put(key, zeroRun(random, segment));
    else if (roll < 0.65) await wal.put(key, frameValue({ frames: 'own', seed: i }, wal, fs));
    else
      await wal.put(
        key,
        Uint8Array.from({ length: Math.floor(random() * 60) }, () => i),
      );
    if (random() < 0.2) await wal.sync();
    if (random() < 0.2) tick();
  }
  await wal.close();
  fs.syncAll();
  const { entries } = await recover(LOG_DIR, { fs, mode: 'strict' });
  const records = new Map<string, { start: number; end: number; first: number; next: number }[]>();
  for (const { file } of await listSegmentFiles(fs, LOG_DIR)) {
    const list = framesOf(fs.readFile(file))
      .filter((f) => f.record.type === 'batch')
      .map((f) => {
        const r = f.record as { firstSequence: number; entries: unknown[] };
        return {
          start: f.offset,
          end: f.offset + f.size,
          first: r.firstSequence,
          next: r.firstSequence + r.entries.length,
        };
      });
    records.set(file, list);
  }
  return { fs, entries, records };
}

// A value that is mostly zeros: a zero-run heuristic would take it for a torn write.
function zeroRun(random: Random, segment: number): Uint8Array {
  const value = new Uint8Array(64 + Math.floor((random() * segment) / 2));
  value[Math.floor(random() * value.length)] = 1;
  return value;
}

const same = (a: WalEntry, b: WalEntry): boolean =>
  a.sequence === b.sequence &&
  a.type === b.type &&
  Buffer.from(a.key).equals(Buffer.from(b.key)) &&
  (a.value === undefined
    ? b.value === undefined
    : b.value !== undefined && Buffer.from(a.value).equals(Buffer.from(b.value)));

/**
 * True when a damage report locates a flip at `offset` of a `size`-byte
 * file: its region holds it, or it is the chain check's verdict, made from
 * headers and seals alone, on the header (offset 0) or on the seal (reported
 * at the file's end) that the flip is in.
 */
function locates(
  damage: { offset: number; bytes: number; reason: string },
  offset: number,
  size: number,
): boolean {
  if (damage.offset <= offset && offset < damage.offset + damage.bytes) return true;
  if (damage.reason === 'bad-seal' && damage.offset === size) return offset >= size - 29;
  return damage.offset === 0 && offset < 48 && damage.reason !== 'bad-seal';
}

/** Opens the log (the writer under test); the can-fail test passes another. */
type Opener = (fs: SimFs) => Promise<Wal>;

const walOpener =
  (sync: SyncMode): Opener =>
  (fs) =>
    Wal.open(walOptions(fs, { sync, maxSegmentBytes: settings.flipSegmentBytes }));

type Outcome = 'refused' | 'opened' | 'opened over unread rot';

/** Flips one bit of `file` at `offset` in a copy of the log and checks everything above. */
async function flipCase(
  log: Log,
  file: string,
  offset: number,
  open: Opener,
): Promise<{ outcome: Outcome; problems: string[] }> {
  const fs = log.fs.crash();
  const bytes = fs.readFile(file);
  bytes[offset] = (bytes[offset] as number) ^ (1 << (offset % 8));
  fs.writeFile(file, bytes);
  const problems: string[] = [];
  const note = (p: string) => problems.push(`${file} byte ${offset}: ${p}`);
  const record = log.records.get(file)?.find((r) => r.start <= offset && offset < r.end);
  const headerFlip = offset < 48;

  // Recovery: skip-corrupted loses at most the flipped record (the whole
  // segment for a flipped header) and invents nothing; tolerate-tail
  // returns everything or refuses at the damage skip-corrupted reports.
  const skipping = await recover(LOG_DIR, { fs, mode: 'skip-corrupted' }).catch((e: unknown) => e);
  if (!('entries' in (skipping as object))) {
    note(`skip-corrupted failed: ${describeError(skipping)}`);
    return { outcome: 'refused', problems };
  }
  const skipped = skipping as Awaited<ReturnType<typeof recover>>;
  const original = new Map(log.entries.map((e) => [e.sequence, e]));
  let previous = -1;
  for (const e of skipped.entries) {
    const o = original.get(e.sequence);
    if (!o || !same(o, e)) note(`skip-corrupted returns sequence ${e.sequence}, never written so`);
    // A copy of an earlier frame (in a value) is not the log going back.
    if (e.sequence <= previous) note(`skip-corrupted returns ${e.sequence} after ${previous}`);
    previous = e.sequence;
  }
  const found = new Set(skipped.entries.map((e) => e.sequence));
  const segment = log.records.get(file) ?? [];
  for (const e of log.entries) {
    if (found.has(e.sequence)) continue;
    const excused = headerFlip
      ? segment.some((r) => r.first <= e.sequence && e.sequence < r.next)
      : record !== undefined && record.first <= e.sequence && e.sequence < record.next;
    if (!excused) {
      note(`skip-corrupted lost sequence ${e.sequence}, outside the flipped record`);
      break;
    }
  }
  const tolerant = await recover(LOG_DIR, { fs }).catch((e: unknown) => e);
  const refusedAt = tolerant instanceof CorruptionError ? tolerant.damage : undefined;
  if (!refusedAt && !('entries' in (tolerant as object))) {
    note(`tolerate-tail failed: ${describeError(tolerant)}`);
  }
  if (!refusedAt && 'entries' in (tolerant as object)) {
    const { entries } = tolerant as Awaited<ReturnType<typeof recover>>;
    if (entries.length !== log.entries.length) {
      note(`tolerate-tail returns ${entries.length} of ${log.entries.length} entries and no error`);
    }
  }
  if (refusedAt) {
    const region = skipped.stats.damage.find((d) => d.file === refusedAt.file);
    if (!region || region.offset !== refusedAt.offset) {
      note(
        `tolerate-tail refuses at ${refusedAt.file}:${refusedAt.offset}, skip-corrupted reports ${skipped.stats.damage.map((d) => `${d.file}:${d.offset}`).join(', ') || 'nothing'}`,
      );
    }
  }

  const snapshot = fs.snapshot();
  let wal: Wal;
  try {
    wal = await open(fs);
  } catch (error) {
    if (!(error instanceof CorruptionError)) {
      note(`Wal.open failed with ${describeError(error)}, not WAL_CORRUPTION`);
      return { outcome: 'refused', problems };
    }
    const { damage } = error;
    if (damage.file !== file) note(`Wal.open names ${damage.file}, not the flipped file`);
    else if (!locates(damage, offset, bytes.length)) {
      note(
        `Wal.open names ${damage.offset}+${damage.bytes} (${damage.reason}), which does not hold the flip`,
      );
    }
    if (!refusedAt) note('Wal.open refuses what tolerate-tail recovery accepts');
    const after = fs.snapshot();
    if (
      [...snapshot].some(
        ([f, b]) =>
          !after.has(f) || (b && !Buffer.from(b).equals(Buffer.from(after.get(f) as Uint8Array))),
      )
    ) {
      note('a refused Wal.open changed the log');
    }
    return { outcome: 'refused', problems };
  }
  // Opened: nothing that held an entry was cut, and rot never is.
  if (fs.readFile(file).length <= offset && refusedAt) note('Wal.open cut the rot');
  const sequence = await wal.put('after', 'flip').catch((e: unknown) => e);
  await wal.close().catch((e: unknown) => note(`close: ${describeError(e)}`));
  if (typeof sequence !== 'number') {
    note(`put after open: ${describeError(sequence)}`);
    return { outcome: 'opened', problems };
  }
  const reopened = await open(fs).catch((e: unknown) => e);
  if (!(reopened instanceof Wal)) note(`reopen after the append: ${describeError(reopened)}`);
  else {
    await reopened.close();
    if (reopened.nextSequence !== sequence + 1) {
      note(`reopened at ${reopened.nextSequence}, the append was ${sequence}`);
    }
  }
  const later = await recover(LOG_DIR, { fs, mode: 'skip-corrupted' });
  const kept = new Set(later.entries.map((e) => e.sequence));
  const cut = [...found].filter((s) => !kept.has(s));
  if (cut.length > 0) note(`Wal.open cut sequences ${cut.join(', ')}`);
  if (!kept.has(sequence)) note(`the append at ${sequence} is not in the log`);
  if (!refusedAt) {
    const all = await recover(LOG_DIR, { fs }).catch((e: unknown) => e);
    const n = (all as { entries?: unknown[] }).entries?.length;
    if (n !== log.entries.length + 1)
      note(`tolerate-tail after the append: ${n ?? describeError(all)}`);
  }
  return { outcome: refusedAt ? 'opened over unread rot' : 'opened', problems };
}

/** Every byte of every segment file of `log`, flipped in turn. */
async function everyFlip(log: Log, open: Opener) {
  const outcomes = new Map<Outcome, number>();
  const problems: string[] = [];
  let flips = 0;
  for (const file of log.records.keys()) {
    const size = log.fs.readFile(file).length;
    for (let offset = 0; offset < size && problems.length < 20; offset++) {
      const result = await flipCase(log, file, offset, open);
      flips++;
      outcomes.set(result.outcome, (outcomes.get(result.outcome) ?? 0) + 1);
      problems.push(...result.problems);
    }
  }
  return { flips, outcomes, problems };
}

describe.each(['always', 'interval', 'none'] as const)("sync: '%s'", (sync) => {
  test('every byte of a closed multi-segment log flipped: refused where it is, never cut', async () => {
    const started = performance.now();
    const problems: string[] = [];
    const outcomes = new Map<Outcome, number>();
    let flips = 0;
    for (let k = 0; k < settings.flipLogs; k++) {
      const log = await buildLog(sync, settings.seed + k);
      const r = await everyFlip(log, walOpener(sync));
      flips += r.flips;
      problems.push(...r.problems);
      for (const [o, n] of r.outcomes) outcomes.set(o, (outcomes.get(o) ?? 0) + n);
    }
    const counts = [...outcomes].map(([o, n]) => `${o} ${n}`).join(', ');
    console.info(
      `byte flips, sync '${sync}': ${flips} flips over ${settings.flipLogs} logs (${counts}), ${problems.length} problems, ${Math.round(performance.now() - started)} ms`,
    );
    expect(problems.slice(0, 10)).toEqual([]);
  }, 3_600_000);
});

// The loop must be able to fail: a writer that takes rot in its last
// segment for a torn write (as a zero-run heuristic did) and cuts it.
test('the loop catches a writer that cuts rot as a torn tail', async () => {
  const log = await buildLog('always', settings.seed);
  const cutsRot: Opener = async (fs) => {
    const files = await listSegmentFiles(fs, LOG_DIR);
    const last = files.at(-1)?.file as string;
    const bytes = fs.readFile(last);
    const good = framesOf(bytes).at(0);
    // Keeps the first frame, cuts everything after it, then opens.
    if (good) fs.writeFile(last, bytes.subarray(0, good.offset + good.size));
    return Wal.open(walOptions(fs, { maxSegmentBytes: settings.flipSegmentBytes }));
  };
  const last = [...log.records.keys()].at(-1) as string;
  const record = (log.records.get(last) ?? [])[1];
  expect(record).toBeDefined();
  const { problems } = await flipCase(log, last, (record?.start ?? 0) + 10, cutsRot);
  expect(problems.join('\n')).toMatch(/cut/);
});
