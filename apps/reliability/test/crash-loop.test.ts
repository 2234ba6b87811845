import { Wal } from '@wal/fs';
import { type Random, SimFs, seededRandom } from '@wal/fs/testing';
import { expect, test } from 'vitest';
import { freshFs, InvariantError, reopenAndCheck, walOptions } from './support/check.js';
import { History } from './support/history.js';
import { settings } from './support/settings.js';
import { makeWorkload, runSteps } from './support/workload.js';

// Crash states per crash point: each a different random fate for the
// unsynced bytes and directory entries.
const STATES_PER_POINT = 4;
const MAX_REPORTED = 10;

interface Capture {
  fs: SimFs;
  history: History;
  where: string;
}

/**
 * Runs one seeded workload, taking STATES_PER_POINT crash states after every
 * mutating file operation; then checks each state, writes more on it,
 * crashes once more at a random point (the reopen's own repair included)
 * and checks again. Returns the states checked and the violations found.
 */
async function crashWorkload(
  seed: number,
  fs = freshFs(new SimFs()),
  sync: 'always' | 'none' = 'always',
): Promise<{ states: number; failures: string[] }> {
  const random = seededRandom(seed);
  const history = new History(sync);
  const captures: Capture[] = [];
  fs.onOperation = (event) => {
    if (!event.mutating) return;
    for (let k = 0; k < STATES_PER_POINT; k++) {
      const plan = fs.randomCrashPlan(random);
      const where = `seed ${seed}, after call ${event.index} (${event.op} ${event.path}), state ${k}`;
      captures.push({
        fs: fs.crash(plan),
        history: history.clone(),
        where: `${where}: ${fs.describeCrashPlan(plan)}`,
      });
    }
  };
  const wal = await Wal.open(walOptions(fs, { sync }));
  await runSteps(wal, history, makeWorkload(random, 12));
  await wal.close();
  fs.onOperation = undefined;
  expect(fs.openHandles).toBe(0);

  const failures: string[] = [];
  let states = 0;
  for (const capture of captures) {
    states += 2;
    try {
      await secondRound(capture, random, sync);
    } catch (error) {
      if (!(error instanceof InvariantError)) throw error;
      failures.push(`${capture.where}: ${error.message}`);
      if (failures.length >= MAX_REPORTED) break;
    }
  }
  return { states, failures };
}

// Reopen the crashed state, check it, write more, crash at a random later
// operation (reservoir sampling picks one uniformly), and check that state.
async function secondRound(
  { fs, history }: Capture,
  random: Random,
  sync: 'always' | 'none',
): Promise<void> {
  let chosen: Capture | undefined;
  let seen = 0;
  fs.onOperation = (event) => {
    if (!event.mutating || random() * ++seen >= 1) return;
    const plan = fs.randomCrashPlan(random);
    chosen = {
      fs: fs.crash(plan),
      history: history.clone(),
      where: `then after call ${event.index} (${event.op} ${event.path}): ${fs.describeCrashPlan(plan)}`,
    };
  };
  const wal = await reopenAndCheck(fs, history, { sync });
  await runSteps(wal, history, makeWorkload(random, 3));
  await wal.close();
  fs.onOperation = undefined;
  if (fs.openHandles !== 0) throw new InvariantError(`${fs.openHandles} handles leaked`);
  if (!chosen) return;
  try {
    await (await reopenAndCheck(chosen.fs, chosen.history, { sync })).close();
  } catch (error) {
    if (error instanceof InvariantError) error.message = `${chosen.where}: ${error.message}`;
    throw error;
  }
}

// sync: 'none' promises durability only up to the last sync() or rotate():
// a smaller run checks that, and that the log still opens and is a prefix.
test.each([
  ['always', settings.crashStates],
  ['none', Math.ceil(settings.crashStates / 5)],
] as const)(
  "power loss after every file operation, sync: '%s': at least %i crash states keep every acknowledged op",
  async (sync, target) => {
    let states = 0;
    let workloads = 0;
    const failures: string[] = [];
    const started = performance.now();
    for (let seed = settings.seed; states < target && failures.length < MAX_REPORTED; seed++) {
      const result = await crashWorkload(seed, freshFs(new SimFs()), sync);
      states += result.states;
      workloads++;
      failures.push(...result.failures);
    }
    console.info(
      `crash loop, sync '${sync}': ${states} crash states from ${workloads} workloads (seeds ${settings.seed}..${settings.seed + workloads - 1}), ${failures.length} violations, ${Math.round(performance.now() - started)} ms`,
    );
    expect(failures).toEqual([]);
  },
  600_000,
);

// The loop must be able to fail: a file system that acknowledges fdatasync
// or a directory fsync without doing it loses acknowledged ops.
class SkipsFdatasync extends SimFs {
  override fdatasync(): void {}
}
class SkipsFsyncDir extends SimFs {
  override fsyncDir(): void {}
}

test.each([
  ['fdatasync', SkipsFdatasync],
  ['a directory fsync', SkipsFsyncDir],
])('the loop catches a file system that skips %s', async (_, Lying) => {
  const { failures } = await crashWorkload(settings.seed, freshFs(new Lying()));
  expect(failures.length).toBeGreaterThan(0);
});
