import type { WalEntry } from '@wal/codec';
import { type SyncMode, Wal } from '@wal/fs';
import { parseSegmentFileName, segmentFileName } from '@wal/fs/segments';
import { type Random, SimFs, seededRandom } from '@wal/fs/testing';
import { Memtable, replay } from '@wal/memtable';
import { type RepairResult, recover, repair, verify } from '@wal/recovery';
import { expect, test } from 'vitest';
import { describeError, LOG_DIR, tableMismatch, walOptions } from './support/check.js';
import { useTickingClock } from './support/clock.js';
import { History } from './support/history.js';
import { framesOf, headerOf } from './support/segment-bytes.js';
import { settings } from './support/settings.js';
import { closeWal, makeWorkload, runSteps } from './support/workload.js';

// Media damage and the operator's path after it: random workloads with
// checkpoints (a Memtable snapshot and its lastSequence, after which the
// log may be truncated); then bit flips, truncations, deleted and
// duplicated segments anywhere in the closed log; then repair, replay over
// the checkpoint, more writes and replay again. Nothing acknowledged may be
// missing from the table unless repair reported it lost (or the damage left
// no trace of it anywhere), repair gives up only sequences of segments the
// damage touched, and no sequence is ever issued twice.

const tick = useTickingClock();
const MODES: readonly SyncMode[] = ['always', 'interval', 'none'];

type Repairer = (dir: string, options: { fs: SimFs }) => Promise<Pick<RepairResult, 'lost'>>;

interface Damage {
  what: string;
  /** The segment numbers (of the log before the damage) whose bytes it changed or removed. */
  touched: number[];
}

interface Span {
  first: number;
  next: number;
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

function sameEntry(a: WalEntry, b: WalEntry): boolean {
  if (a.type !== b.type || hex(a.key) !== hex(b.key)) return false;
  return a.value === undefined
    ? b.value === undefined
    : b.value !== undefined && hex(a.value) === hex(b.value);
}

/** An independent copy of `table`: what a checkpoint restores. */
function copyTable(table: Memtable): Memtable {
  const copy = new Memtable({ lastSequence: table.lastSequence });
  for (const [key, value] of table.entries()) {
    if (value === undefined) copy.delete(key);
    else copy.put(key, value);
  }
  return copy;
}

/** The segment files under the log directory, by number. */
function segmentFiles(fs: SimFs): Map<number, string> {
  const files = new Map<number, string>();
  for (const [file, bytes] of fs.snapshot()) {
    const segment = parseSegmentFileName(file.slice(LOG_DIR.length + 1));
    if (bytes && file.startsWith(`${LOG_DIR}/`) && segment !== undefined) files.set(segment, file);
  }
  return files;
}

/** The sequences each segment holds, from its header to its last record. */
function spans(fs: SimFs): Map<number, Span> {
  const out = new Map<number, Span>();
  for (const [segment, file] of segmentFiles(fs)) {
    const bytes = fs.readFile(file);
    const first = headerOf(bytes)?.firstSequence ?? 0;
    out.set(segment, { first, next: evidenceIn(bytes, first) });
  }
  return out;
}

// The highest sequence a file's valid frames (read by its own header) prove
// the log reached: the end of a batch or hole, a seal's or mark's next.
function evidenceIn(bytes: Uint8Array, floor = 0): number {
  let end = Math.max(floor, headerOf(bytes)?.firstSequence ?? 0);
  for (const { record } of framesOf(bytes)) {
    const next =
      record.type === 'batch' ? record.firstSequence + record.entries.length : record.nextSequence;
    end = Math.max(end, next);
  }
  return end;
}

/** One random piece of damage to the closed log in `fs`. */
async function damage(fs: SimFs, random: Random): Promise<Damage> {
  const files = [...segmentFiles(fs)];
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const [segment, file] = pick(files);
  const bytes = fs.readFile(file);
  const roll = random();
  if (roll < 0.45 && bytes.length > 0) {
    const offset = Math.floor(random() * bytes.length);
    const bit = Math.floor(random() * 8);
    bytes[offset] = (bytes[offset] as number) ^ (1 << bit);
    fs.writeFile(file, bytes);
    return { what: `flip bit ${bit} at ${offset} of segment ${segment}`, touched: [segment] };
  }
  if (roll < 0.65) {
    const length = Math.floor(random() * bytes.length);
    fs.writeFile(file, bytes.subarray(0, length));
    return { what: `truncate segment ${segment} to ${length}`, touched: [segment] };
  }
  if (roll < 0.8) {
    await fs.unlink(file);
    fs.syncAll();
    return { what: `delete segment ${segment}`, touched: [segment] };
  }
  // A copy under another number: past the end, past a gap, or over another segment.
  const numbers = files.map(([n]) => n);
  const highest = Math.max(...numbers);
  const where = random();
  const target =
    where < 0.35
      ? highest + 1
      : where < 0.6
        ? highest + 2
        : pick(numbers.filter((n) => n !== segment).concat(highest + 1));
  fs.writeFile(`${LOG_DIR}/${segmentFileName(target)}`, bytes);
  const touched = numbers.includes(target) ? [target] : [];
  return { what: `copy segment ${segment} as segment ${target}`, touched };
}

interface RunResult {
  outcome: 'replayed' | 'rewound' | 'truncated';
  lost: number;
  problems: string[];
}

/** One workload, its damage, the repair and everything after it. */
async function damageRun(seed: number, repairer: Repairer = repair): Promise<RunResult> {
  const random = seededRandom(seed);
  const sync = MODES[seed % MODES.length] as SyncMode;
  const fs = new SimFs();
  const history = new History(sync);
  const problems: string[] = [];
  const fail = (result: RunResult['outcome'], lost = 0): RunResult => ({
    outcome: result,
    lost,
    problems,
  });

  // The workload, with checkpoints; retention only up to a checkpoint.
  let checkpoint = new Memtable();
  const wal = await Wal.open(walOptions(fs, { sync }));
  for (let chunk = 0; chunk < 4; chunk++) {
    const steps = makeWorkload(random, 6).filter((s) => s.kind !== 'truncate');
    const errors = await runSteps(wal, history, steps, { fs, tick });
    problems.push(...errors.map((e) => `workload: ${describeError(e)}`));
    // The last chunk stays after every checkpoint, so replay has work to do.
    if (chunk < 3 && random() < 0.7) {
      await wal.sync();
      const next = copyTable(checkpoint);
      await replay(LOG_DIR, next, { fs });
      checkpoint = next;
      if (checkpoint.lastSequence !== null && random() < 0.5) {
        await wal.truncateThrough(checkpoint.lastSequence);
        history.truncatedThrough(checkpoint.lastSequence);
      }
    }
  }
  await closeWal(wal, history);
  const truth = (await recover(LOG_DIR, { fs, mode: 'strict' })).entries;
  const wrong = history.check(truth);
  if (wrong) problems.push(`before any damage: ${wrong}`);
  const before = spans(fs);

  // The damage, and what any reader could still find of the log.
  const damages: Damage[] = [];
  for (let n = 1 + Math.floor(random() * 3); n > 0 && segmentFiles(fs).size > 0; n--) {
    damages.push(await damage(fs, random));
  }
  const evidence = Math.max(
    0,
    ...[...segmentFiles(fs).values()].map((f) => evidenceIn(fs.readFile(f))),
  );
  const where = `seed ${seed}, sync '${sync}', ${damages.map((d) => d.what).join(', ')}`;
  const note = (problem: string) => problems.push(`${where}: ${problem}`);

  let lost: Span[];
  try {
    lost = (await repairer(LOG_DIR, { fs })).lost.map((r) => ({
      first: r.firstSequence,
      next: r.nextSequence,
    }));
  } catch (error) {
    note(`repair failed: ${describeError(error)}`);
    return fail('replayed');
  }
  const isLost = (s: number) => lost.some((r) => r.first <= s && s < r.next);
  const lostCount = lost.reduce((n, r) => n + r.next - r.first, 0);
  const report = await verify(LOG_DIR, { fs }).catch((e: unknown) => e);
  if (!(report as { ok?: boolean }).ok) note(`verify after repair: ${describeError(report)}`);

  // Repair gives up only what the damage touched (or what it left no trace of).
  const touched = new Set(damages.flatMap((d) => d.touched));
  for (const r of lost) {
    for (let s = r.first; s < r.next && s < evidence; s++) {
      const owner = [...before].find(([, span]) => span.first <= s && s < span.next)?.[0];
      if (owner !== undefined && !touched.has(owner)) {
        note(`repair reported sequence ${s} lost, of segment ${owner}, which no damage touched`);
        break;
      }
    }
  }

  const last = checkpoint.lastSequence ?? -1;
  const after = await recover(LOG_DIR, { fs }).catch((e: unknown) => e);
  if (!('stats' in (after as object))) {
    note(`recover after repair: ${describeError(after)}`);
    return fail('replayed', lostCount);
  }
  const { stats, entries: recovered } = after as Awaited<ReturnType<typeof recover>>;

  // What the table must hold: the checkpoint, then every acknowledged entry
  // after it that repair did not report lost and that the damage left a trace of.
  const expected = new Map<string, Uint8Array | undefined>();
  for (const [key, value] of checkpoint.entries()) expected.set(hex(key), value);
  let expectedLast = checkpoint.lastSequence;
  const apply = (e: WalEntry) => {
    expected.set(hex(e.key), e.value);
    expectedLast = e.sequence;
  };
  // Past the evidence (what the codec alone can read) an entry may be gone
  // without a trace, or kept (repair can salvage a header this cannot read).
  const kept = new Set(recovered.map((e) => e.sequence));
  const bySequence = new Map(truth.map((e) => [e.sequence, e]));
  let previous = -1;
  for (const e of recovered) {
    if (e.sequence <= previous)
      note(`recovery after repair returns ${e.sequence} after ${previous}`);
    previous = e.sequence;
    const original = bySequence.get(e.sequence);
    if (isLost(e.sequence))
      note(`sequence ${e.sequence} is reported lost, yet recovery returns it`);
    else if (e.sequence > last && (!original || !sameEntry(original, e))) {
      note(`recovery after repair returns sequence ${e.sequence}, which was never written so`);
    }
  }
  for (const e of truth) {
    if (e.sequence <= last || isLost(e.sequence)) continue;
    if (e.sequence < evidence || kept.has(e.sequence)) apply(e);
  }

  const table = copyTable(checkpoint);
  const replayed = await replay(LOG_DIR, table, { fs }).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (replayed !== undefined) {
    const code = (replayed as { code?: string }).code;
    // A typed refusal, where the damage removed what the checkpoint needs.
    if (code === 'WAL_SEQUENCE_REWOUND' && stats.nextSequence <= last) {
      if (evidence > last + 1)
        note(
          `replay refused as rewound, yet the damage left sequences up to ${evidence - 1} (checkpoint ${last})`,
        );
      return fail('rewound', lostCount);
    }
    if (code === 'WAL_TRUNCATED' && (stats.firstSequence ?? 0) > last + 1) {
      const first = [...before.keys()][0] as number;
      if (!touched.has(first))
        note(`replay refused as truncated, yet the first segment ${first} was not damaged`);
      return fail('truncated', lostCount);
    }
    note(`replay over the checkpoint (${last}) failed: ${describeError(replayed)}`);
    return fail('replayed', lostCount);
  }
  const mismatch = tableMismatch(table, expected, expectedLast);
  if (mismatch) note(`after repair: ${mismatch}`);

  // More writes: every new sequence is above everything the log ever showed.
  let writer: Wal;
  try {
    writer = await Wal.open(walOptions(fs, { sync }));
  } catch (error) {
    note(`Wal.open after repair: ${describeError(error)}`);
    return fail('replayed', lostCount);
  }
  const floor = Math.max(evidence, last + 1);
  if (writer.nextSequence < floor) {
    note(
      `the writer continues at ${writer.nextSequence}, below sequences the log held (${floor - 1})`,
    );
  }
  for (let i = 0; i < 3; i++) {
    const value = Buffer.from(`after ${i}`);
    const sequence = await writer.put(`n${i}`, value);
    apply({ sequence, type: 'put', key: Buffer.from(`n${i}`), value });
  }
  await writer.close();
  const again = copyTable(checkpoint);
  try {
    await replay(LOG_DIR, again, { fs });
    const later = tableMismatch(again, expected, expectedLast);
    if (later) note(`after repair and more writes: ${later}`);
  } catch (error) {
    note(`replay after more writes: ${describeError(error)}`);
  }
  return fail('replayed', lostCount);
}

test(`damage and repair: ${settings.damageRuns} damaged logs lose nothing repair does not report, and reuse no sequence`, async () => {
  const outcomes = new Map<string, number>();
  const problems: string[] = [];
  let lost = 0;
  const started = performance.now();
  for (let run = 0; run < settings.damageRuns && problems.length < 10; run++) {
    const result = await damageRun(settings.seed + run);
    outcomes.set(result.outcome, (outcomes.get(result.outcome) ?? 0) + 1);
    lost += result.lost;
    problems.push(...result.problems);
  }
  const counts = [...outcomes].map(([k, n]) => `${k} ${n}`).join(', ');
  console.info(
    `damage loop: ${settings.damageRuns} runs (${counts}), ${lost} sequences reported lost, ${problems.length} problems, ${Math.round(performance.now() - started)} ms`,
  );
  expect(problems).toEqual([]);
}, 3_600_000);

// Seeds of the loop above that found bugs in repair (each failed on the
// code it was found on; see the messages for what was lost):
// 287: a copy of segment 13 over segment 12, its header damaged, is taken
//   for segment 12; the intact first record (40) of segment 13 is given up
//   and reported lost.
// 415: copies set aside as misnamed count neither for the sequence floor
//   nor as lost: the writer reuses acknowledged sequences 49..52.
// 437: a flipped salt bit in segment 6's header; repair reports sequence 18
//   lost, and the repaired log still returns it.
// 1685: a sealed segment cut short and flipped before the cut (sync 'none'):
//   the rebuild read it as the log's last (no seal), cut it at the flip as a
//   torn tail and dropped the intact records after it, unreported.
test.each([287, 415, 437, 1685])(
  'damage seed %i: nothing lost unreported, no sequence reused',
  async (seed) => {
    expect((await damageRun(seed)).problems).toEqual([]);
  },
);

// The loop must be able to fail: a "repair" that deletes every damaged
// segment and reports nothing lost discards acknowledged writes silently.
test('the loop catches a repair that discards damaged segments without saying so', async () => {
  const discards: Repairer = async (dir, { fs }) => {
    for (const s of (await verify(dir, { fs })).segments) {
      if (s.status !== 'ok') await fs.unlink(s.file);
    }
    fs.syncAll();
    return { lost: [] };
  };
  const problems: string[] = [];
  for (let run = 0; run < 20 && problems.length === 0; run++) {
    problems.push(...(await damageRun(settings.seed + run, discards)).problems);
  }
  expect(problems.length).toBeGreaterThan(0);
});
