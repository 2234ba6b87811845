import { type SyncMode, Wal } from '@wal/fs';
import { SimFs, seededRandom } from '@wal/fs/testing';
import { expect, test } from 'vitest';
import { freshFs, InvariantError, reopenAndCheck, walOptions } from './support/check.js';
import { useTickingClock } from './support/clock.js';
import { History } from './support/history.js';
import { closeWal } from './support/workload.js';

// The pipelined writer's interleavings: with in-flight syncs (SimFs), an
// fdatasync completes turns of the event loop after it was called, and
// appends keep arriving meanwhile, so the next group fills (and would be
// written, were the writer to write it) while one syncs. Power loss after
// every file operation, in flight or not, keeps every acknowledged op.

const STATES_PER_POINT = 3;

/** A SimFs that counts appends issued while one of its fdatasyncs is in flight. */
class CountingSimFs extends SimFs {
  inFlight = 0;
  override async fdatasync(fd: number): Promise<void> {
    this.inFlight++;
    try {
      await super.fdatasync(fd);
    } finally {
      this.inFlight--;
    }
  }
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

async function run(seed: number, sync: SyncMode, tick: () => void) {
  const random = seededRandom(seed);
  const fs = (await freshFs(new CountingSimFs({ inFlightSyncs: true }))) as CountingSimFs;
  const history = new History(sync);
  const captures: { fs: SimFs; history: History; where: string }[] = [];
  fs.onOperation = (event) => {
    if (!event.mutating) return;
    for (let k = 0; k < STATES_PER_POINT; k++) {
      const plan = fs.randomCrashPlan(random);
      captures.push({
        fs: fs.crash(plan),
        history: history.clone(),
        where: `seed ${seed}, after call ${event.index} (${event.op} ${event.path}${fs.inFlight > 0 ? ', a sync in flight' : ''}): ${fs.describeCrashPlan(plan)}`,
      });
    }
  };
  const wal = await Wal.open(walOptions(fs, { sync }));
  let whileSyncing = 0;
  // Three producers that do not wait for their appends.
  const producers = [0, 1, 2].map(async (p) => {
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 12; i++) {
      if (fs.inFlight > 0) whileSyncing++;
      const value = new Uint8Array(Math.floor(random() * 300)).fill(p + 1);
      calls.push(history.append(wal, [{ type: 'put', key: `p${p}-${i}`, value }], 'put'));
      if (random() < 0.1) calls.push(wal.rotate().catch(() => undefined));
      if (random() < 0.1) tick();
      for (let t = Math.floor(random() * 3); t > 0; t--) await turn();
    }
    await Promise.allSettled(calls);
  });
  await Promise.all(producers);
  await closeWal(wal, history);
  fs.onOperation = undefined;

  const failures: string[] = [];
  for (const capture of captures) {
    try {
      await (await reopenAndCheck(capture.fs, capture.history)).close();
    } catch (error) {
      if (!(error instanceof InvariantError)) throw error;
      failures.push(`${capture.where}: ${error.message}`);
    }
  }
  return { states: captures.length, whileSyncing, failures };
}

const tick = useTickingClock();

test.each(['always', 'interval', 'none'] as const)(
  "appends issued while syncs are in flight, power loss after every file operation (sync: '%s')",
  async (sync) => {
    let states = 0;
    let whileSyncing = 0;
    const failures: string[] = [];
    for (let seed = 1; seed <= 6; seed++) {
      const result = await run(seed, sync, tick);
      states += result.states;
      whileSyncing += result.whileSyncing;
      failures.push(...result.failures);
    }
    console.info(
      `in-flight syncs, sync '${sync}': ${states} crash states, ${whileSyncing} appends issued while a sync was in flight, ${failures.length} violations`,
    );
    if (sync !== 'none') expect(whileSyncing).toBeGreaterThan(20);
    expect(states).toBeGreaterThan(500);
    expect(failures.slice(0, 5)).toEqual([]);
  },
  600_000,
);
