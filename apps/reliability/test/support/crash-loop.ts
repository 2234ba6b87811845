import { type SyncMode, WAL_FS_METHODS, Wal, type WalFs } from '@wal/fs';
import { type Random, SimFs, seededRandom } from '@wal/fs/testing';
import { wrapMethods } from '@wal/test-support';
import { expect, test } from 'vitest';
import { InvariantError, reopenAndCheck, walOptions } from './check.js';
import { useTickingClock } from './clock.js';
import { type Fate, History } from './history.js';
import { closeWal, makeWorkload, runSteps, type StepContext } from './workload.js';

// Crash states per crash point: each a different random fate for the
// unsynced bytes and directory entries. Plus one kill per point.
const STATES_PER_POINT = 4;
const MAX_REPORTED = 10;

interface Capture {
  fs: SimFs;
  history: History;
  fate: Fate;
  where: string;
}

/** How a crash workload runs, besides its seed and sync mode. */
interface CrashOptions {
  /** The file system of the first round (default: a new SimFs). */
  fs?: SimFs;
  /** The file system the reopen of each captured state runs on (default: the state itself). */
  reopenFs?: (fs: SimFs) => WalFs;
}

/**
 * Runs one seeded workload on a file system with nothing on it (Wal.open
 * creates the directory), taking STATES_PER_POINT power-loss states and one
 * kill after every mutating file operation. Then, for each:
 * - power loss: check it, reopen, write more, lose power once more at a
 *   random later call (the reopen's own repair included), check again;
 * - kill: check that every resolved op is there (the page cache survived),
 *   reopen, lose power at once (the reopen must have made what the killed
 *   writer left durable), and at a random later call, check both.
 * Returns the states checked and the violations found.
 */
export async function crashWorkload(
  seed: number,
  sync: SyncMode,
  tick: () => void,
  { fs = new SimFs(), reopenFs }: CrashOptions = {},
): Promise<{ states: number; kept: number; failures: string[] }> {
  const random = seededRandom(seed);
  const history = new History(sync);
  const captures: Capture[] = [];
  fs.onOperation = (event) => {
    if (!event.mutating) return;
    const where = `seed ${seed}, after call ${event.index} (${event.op} ${event.path})`;
    for (let k = 0; k < STATES_PER_POINT; k++) {
      const plan = fs.randomCrashPlan(random);
      captures.push({
        fs: fs.crash(plan),
        history: history.clone(),
        fate: 'power loss',
        where: `${where}, state ${k}: ${fs.describeCrashPlan(plan)}`,
      });
    }
    captures.push({
      fs: fs.kill(),
      history: history.clone(),
      fate: 'kill',
      where: `${where}, kill`,
    });
  };
  const context: StepContext = { fs, tick };
  const wal = await Wal.open(walOptions(fs, { sync }));
  await runSteps(wal, history, makeWorkload(random, 12), context);
  await closeWal(wal, history);
  fs.onOperation = undefined;
  expect(fs.openHandles).toBe(0);

  const failures: string[] = [];
  let states = 0;
  // Operations the first-round states had to keep: what "0 lost" is out of.
  let kept = 0;
  for (const capture of captures) {
    states += capture.fate === 'kill' ? 3 : 2;
    kept += capture.history.mustKeep(capture.fate);
    try {
      await secondRound(capture, random, tick, reopenFs?.(capture.fs));
    } catch (error) {
      if (!(error instanceof InvariantError)) throw error;
      failures.push(`${capture.where}: ${error.message}`);
      if (failures.length >= MAX_REPORTED) break;
    }
  }
  return { states, kept, failures };
}

// Reopen the state, check it, write more, lose power at a random later
// operation (reservoir sampling picks one uniformly), and check that state.
// After a kill, lose power also right after the reopen.
async function secondRound(
  { fs, history, fate }: Capture,
  random: Random,
  tick: () => void,
  reopenFs: WalFs | undefined,
): Promise<void> {
  let chosen: Omit<Capture, 'fate'> | undefined;
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
  const wal = await reopenAndCheck(fs, history, reopenFs ? { fs: reopenFs } : {}, fate);
  const reopened =
    fate === 'kill'
      ? { fs: fs.crash(), history: history.clone(), where: 'then power loss after the reopen' }
      : undefined;
  await runSteps(wal, history, makeWorkload(random, 3), { fs, tick });
  await closeWal(wal, history);
  fs.onOperation = undefined;
  if (fs.openHandles !== 0) throw new InvariantError(`${fs.openHandles} handles leaked`);
  for (const state of [reopened, chosen]) {
    if (!state) continue;
    try {
      await (await reopenAndCheck(state.fs, state.history)).close();
    } catch (error) {
      if (error instanceof InvariantError) error.message = `${state.where}: ${error.message}`;
      throw error;
    }
  }
}

/**
 * The crash loop of one sync mode: seeded workloads until `target` crash
 * states are checked, then the proof that it can fail.
 */
export function crashLoopTests(sync: SyncMode, target: number, firstSeed: number): void {
  const tick = useTickingClock();

  test(`power loss and kills after every file operation, sync: '${sync}': at least ${target} crash states keep every acknowledged op`, async () => {
    let states = 0;
    let kept = 0;
    let workloads = 0;
    const failures: string[] = [];
    const started = performance.now();
    for (let seed = firstSeed; states < target && failures.length < MAX_REPORTED; seed++) {
      const result = await crashWorkload(seed, sync, tick);
      states += result.states;
      kept += result.kept;
      workloads++;
      failures.push(...result.failures);
    }
    console.info(
      `crash loop, sync '${sync}': ${states} crash states from ${workloads} workloads (seeds ${firstSeed}..${firstSeed + workloads - 1}), ${kept} acknowledged ops to keep in the first-round states, ${failures.length} violations, ${Math.round(performance.now() - started)} ms`,
    );
    expect(failures).toEqual([]);
  }, 3_600_000);

  // The loop must be able to fail: a file system that acknowledges
  // fdatasync or a directory fsync without doing it loses acknowledged ops,
  // and so does an open that never syncs what a killed writer left.
  test.each<[string, () => CrashOptions]>([
    ['fdatasync', () => ({ fs: new SkipsFdatasync() })],
    ['a directory fsync', () => ({ fs: new SkipsFsyncDir() })],
    ["the reopen's fdatasync of what a killed writer left", () => ({ reopenFs: skipsFirstSync })],
  ])(`sync: '${sync}': the loop catches a file system that skips %s`, async (_, options) => {
    const failures: string[] = [];
    for (let seed = firstSeed; failures.length === 0 && seed < firstSeed + 5; seed++) {
      failures.push(...(await crashWorkload(seed, sync, tick, options())).failures);
    }
    expect(failures.length).toBeGreaterThan(0);
  });
}

class SkipsFdatasync extends SimFs {
  override async fdatasync(): Promise<void> {}
}

class SkipsFsyncDir extends SimFs {
  override async fsyncDir(): Promise<void> {}
}

// `fs`, except that the first fdatasync of a segment opened for appending
// ('r+': what Wal.open does with the last segment, then syncs it) does nothing.
function skipsFirstSync(fs: SimFs): WalFs {
  const reopened = new Set<number>();
  return wrapMethods<WalFs>(fs, WAL_FS_METHODS, async (method, args, call) => {
    if (method === 'fdatasync' && reopened.delete(args[0] as number)) return;
    const result = await call(...args);
    if (method === 'open' && args[1] === 'r+') reopened.add(result as number);
    return result;
  });
}
