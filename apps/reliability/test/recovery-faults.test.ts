import { ErrorCode } from '@wal/codec';
import { Wal } from '@wal/fs';
import type { SimFs } from '@wal/fs/testing';
import { recover, repair, verify } from '@wal/recovery';
import { describe, expect, test } from 'vitest';
import { describeError, LOG_DIR, walOptions } from './support/check.js';
import { badReport, nthFault } from './support/faults.js';
import { allEntries, rot, tearTail, writtenLog } from './support/fixtures.js';
import { settings } from './support/settings.js';

interface Target {
  name: string;
  /** The log it starts from: durable, so `crash()` of it is an exact copy. */
  base: () => Promise<SimFs>;
  /** Runs it; resolves to what it found, in words (compared with a clean run). */
  run: (fs: SimFs) => Promise<string>;
  /** It changes the log: afterwards Wal.open must continue where a clean run left it. */
  writes: boolean;
}

const torn = async (): Promise<SimFs> => {
  const fs = await writtenLog();
  await tearTail(fs);
  return fs;
};
const rotted = async (): Promise<SimFs> => {
  const fs = await writtenLog();
  await rot(fs, 1);
  return fs;
};

// What a repair leaves, in words: where the writer goes on, and what the
// log then holds (a retry after a partial repair may have less to do, but
// must end in the same log).
const repaired = async (fs: SimFs): Promise<string> => {
  const { nextSequence } = await repair(LOG_DIR, { fs });
  const { entries, stats } = await recover(LOG_DIR, { fs });
  const holes = stats.holes.map((h) => `${h.firstSequence}..${h.nextSequence - 1}`).join(',');
  return `next ${nextSequence}, ${entries.length} entries, holes ${holes || 'none'}`;
};

const targets: Target[] = [
  {
    name: 'Wal.open cutting a torn tail',
    base: torn,
    run: async (fs) => {
      const wal = await Wal.open(walOptions(fs));
      await wal.close();
      return `next ${wal.nextSequence}`;
    },
    writes: true,
  },
  {
    name: 'recover over a torn tail',
    base: torn,
    run: async (fs) => {
      const { entries, nextSequence } = await recover(LOG_DIR, { fs });
      return `${entries.length} entries, next ${nextSequence}`;
    },
    writes: false,
  },
  {
    name: 'verify of mid-log damage',
    base: rotted,
    run: async (fs) => {
      const r = await verify(LOG_DIR, { fs });
      return `ok ${r.ok}, ${r.records} records, ${r.damage.length} damaged regions, next ${r.nextSequence}`;
    },
    writes: false,
  },
  { name: 'repair of a torn tail', base: torn, run: repaired, writes: true },
  { name: 'repair of mid-log damage', base: rotted, run: repaired, writes: true },
];

// Where a clean run leaves the writer: the next sequence after reopening.
async function writerResumesAt(fs: SimFs): Promise<string> {
  const wal = await Wal.open(walOptions(fs));
  await wal.close();
  return `writer at ${wal.nextSequence}`;
}

/** Retries `target` on `fs`; a problem in words, or undefined when it ends as a clean run does. */
async function retryMatches(
  target: Target,
  fs: SimFs,
  expected: string,
  entries: Set<string>,
  resumes: string,
): Promise<string | undefined> {
  try {
    const found = await target.run(fs);
    if (found !== expected) return `retry found "${found}", a clean run "${expected}"`;
    const now = allEntries(fs);
    const lost = [...entries].filter((e) => !now.has(e));
    if (lost.length > 0) return `${lost.length} intact entries deleted or cut (${lost[0]})`;
    if (target.writes && (await writerResumesAt(fs)) !== resumes)
      return 'the writer resumes elsewhere';
  } catch (error) {
    return `retry failed: ${describeError(error)}`;
  }
  return undefined;
}

describe.each(targets)('$name', (target) => {
  test('a fault at any call fails cleanly, loses nothing, and a retry succeeds', async () => {
    const base = await target.base();
    const entries = allEntries(base);
    const clean = base.crash();
    const expected = await target.run(clean);
    const resumes = target.writes ? await writerResumesAt(clean) : '';
    const problems: string[] = [];
    let runs = 0;
    let failed = 0;
    for (const mode of ['transient', 'persistent'] as const) {
      for (let n = 1; ; n++) {
        const fs = base.crash();
        const fault = fs.inject(nthFault(n, mode));
        const error = await target.run(fs).then(
          () => undefined,
          (e: unknown) => e,
        );
        const first = fault.fired[0];
        if (!first) break;
        runs++;
        failed += fault.fired.length;
        const where = `N=${n} ${mode} (${first.op} ${first.path}: ${first.error.code})`;
        // Never WAL_CORRUPTION: an I/O error is not damage.
        const bad = error
          ? badReport(error, fault, [ErrorCode.IO_ERROR])
          : first.op === 'close'
            ? undefined
            : 'no error';
        if (bad) problems.push(`${where}: ${bad}`);
        if (fs.openHandles !== 0 || fs.locks !== 0)
          problems.push(`${where}: handles or lock leaked`);
        fs.clearFaults();
        for (const [what, state] of [
          ['restart', fs],
          ['power loss', fs.crash(settings.seed + n)],
        ] as const) {
          const problem = await retryMatches(target, state, expected, entries, resumes);
          if (problem) problems.push(`${where}, then ${what}: ${problem}`);
        }
      }
    }
    console.info(
      `faults during ${target.name}: ${runs} runs, ${failed} calls failed, ${problems.length} problems`,
    );
    expect(problems.slice(0, 5)).toEqual([]);
    expect(runs).toBeGreaterThan(5);
  });

  test('a power loss after any of its calls loses nothing, and a retry succeeds', async () => {
    const base = await target.base();
    const entries = allEntries(base);
    const clean = base.crash();
    const states: { fs: SimFs; where: string }[] = [];
    // Every interesting state where that is small, else a sample.
    clean.onOperation = (event) => {
      if (!event.mutating) return;
      const where = `after call ${event.index} (${event.op})`;
      if (clean.countCrashPlans() <= 64) {
        for (const plan of clean.crashPlans()) states.push({ fs: clean.crash(plan), where });
      } else {
        for (let k = 0; k < 16; k++) states.push({ fs: clean.crash(event.index * 16 + k), where });
      }
    };
    const expected = await target.run(clean);
    clean.onOperation = undefined;
    const resumes = target.writes ? await writerResumesAt(clean) : '';
    const problems: string[] = [];
    console.info(`power loss during ${target.name}: ${states.length} crash states`);
    for (const { fs, where } of states) {
      const problem = await retryMatches(target, fs, expected, entries, resumes);
      if (problem) problems.push(`${where}: ${problem}`);
    }
    expect(problems.slice(0, 5)).toEqual([]);
    if (target.writes) expect(states.length).toBeGreaterThan(0);
  });
});
