import { Wal } from '@wal/fs';
import { type Fault, SimFs, seededRandom } from '@wal/fs/testing';
import { expect, test } from 'vitest';
import {
  describeError,
  freshFs,
  InvariantError,
  reopenAndCheck,
  walOptions,
} from './support/check.js';
import { badReport, type FaultMode, nthFault } from './support/faults.js';
import { History } from './support/history.js';
import { settings } from './support/settings.js';
import { makeWorkload, runSteps, type Step } from './support/workload.js';

interface RunResult {
  /** Calls failed; 0 once N is past the workload's last call. */
  fired: number;
  /** The call that failed first. */
  op: string | undefined;
  problems: string[];
}

/**
 * SQLite's loop, one run: fail the Nth call of open + workload + close, then
 * check how the failure was reported, that nothing leaked, that a failed
 * fdatasync poisoned the writer, and that after a reopen (with and without
 * a power loss) every acknowledged op is there and writing works again.
 */
async function faultRun(
  steps: readonly Step[],
  n: number,
  mode: FaultMode,
  seed: number,
): Promise<RunResult> {
  // Short writes too, so a fault can land after part of a record is written.
  const fs = freshFs(new SimFs({ shortWrites: seededRandom(seed * 7919 + n) }));
  const history = new History();
  const fault = fs.inject(nthFault(n, mode));
  const errors: unknown[] = [];
  let wal: Wal | undefined;
  try {
    wal = await Wal.open(walOptions(fs));
  } catch (error) {
    errors.push(error);
  }
  if (wal) {
    errors.push(...(await runSteps(wal, history, steps)));
    if (fault.fired[0]?.op === 'fdatasync' && wal.state === 'open') {
      // Poisoned: even with the device healthy again, nothing is accepted.
      fault.disarm();
      errors.push(...(await runSteps(wal, history, [{ kind: 'sync' }])));
      if (errors.length === 0) errors.push(new Error('no rejection after a failed fdatasync'));
    }
    await wal.close().catch((error: unknown) => errors.push(error));
  }
  const first = fault.fired[0];
  if (!first) return { fired: 0, op: undefined, problems: errors.map(describeError) };
  const where = `N=${n} ${mode} (${first.op} ${first.path} failed with ${first.error.code})`;
  const problems: string[] = [];
  for (const error of errors) {
    const bad = badReport(error, fault);
    if (bad) problems.push(`${where}: ${bad}`);
  }
  if (errors.length === 0 && first.op !== 'close' && first.op !== 'unlink') {
    problems.push(`${where}: the failure was not reported to any call`);
  }
  if (fs.openHandles !== 0) problems.push(`${where}: ${fs.openHandles} file handles leaked`);
  if (fs.locks !== 0) problems.push(`${where}: the lock was not released`);
  fs.clearFaults();
  problems.push(...(await afterFault(fs, history, seed, where, fault)));
  return { fired: fault.fired.length, op: first.op, problems };
}

// Reopen after a power loss (worst case and a random state), then after a
// plain restart; each time every acknowledged op must be there and a new
// put must be acknowledged.
async function afterFault(
  fs: SimFs,
  history: History,
  seed: number,
  where: string,
  fault: Fault,
): Promise<string[]> {
  const problems: string[] = [];
  const states: [string, SimFs, History][] = [
    ['worst-case power loss', fs.crash(), history.clone()],
    ['random power loss', fs.crash(seed), history.clone()],
    ['restart', fs, history],
  ];
  for (const [what, target, h] of states) {
    try {
      const wal = await reopenAndCheck(target, h);
      await h.append(wal, [{ type: 'put', key: 'again', value: 'ok' }], 'put');
      await wal.close();
      if (target.openHandles !== 0) problems.push(`${where}, ${what}: handles leaked after reopen`);
    } catch (error) {
      const reason = error instanceof InvariantError ? error.message : describeError(error);
      problems.push(`${where}, then ${what}: ${reason} [${fault.fired.length} fired]`);
    }
  }
  return problems;
}

test('I/O faults: the Nth call fails, transiently then persistently, for every N until the workload completes', async () => {
  let runs = 0;
  let injected = 0;
  const problems: string[] = [];
  const byOp = new Map<string, number>();
  for (let w = 0; w < settings.faultWorkloads; w++) {
    const seed = settings.seed + w;
    const steps = makeWorkload(seededRandom(seed), 8);
    for (const mode of ['transient', 'persistent'] as const) {
      for (let n = 1; ; n++) {
        const result = await faultRun(steps, n, mode, seed);
        if (result.fired === 0) {
          // Past the end: the workload must then have run clean.
          problems.push(...result.problems.map((p) => `seed ${seed}, N=${n}: unexpected ${p}`));
          break;
        }
        runs++;
        injected += result.fired;
        byOp.set(result.op as string, (byOp.get(result.op as string) ?? 0) + 1);
        problems.push(...result.problems.map((p) => `seed ${seed}: ${p}`));
      }
    }
  }
  const ops = [...byOp].map(([op, count]) => `${op} ${count}`).join(', ');
  console.info(
    `fault loop: ${runs} runs (first failed call: ${ops}), ${injected} calls failed, ${problems.length} problems`,
  );
  expect(problems.slice(0, 10)).toEqual([]);
  expect(runs).toBeGreaterThan(100);
});

test('the loop can fail: a writer that ignores a failed fdatasync is caught', async () => {
  // A file system that swallows fdatasync errors makes the writer resolve
  // appends that were never made durable.
  class SwallowsSyncErrors extends SimFs {
    override fdatasync(fd: number): void {
      try {
        super.fdatasync(fd);
      } catch {
        // Lies: reports success.
      }
    }
  }
  const fs = freshFs(new SwallowsSyncErrors());
  const history = new History();
  const wal = await Wal.open(walOptions(fs));
  fs.inject({ ops: ['fdatasync'] });
  await history.append(wal, [{ type: 'put', key: 'k', value: 'v' }], 'put');
  await wal.close();
  await expect(reopenAndCheck(fs.crash(), history)).rejects.toThrow(/acknowledged sequence 0 lost/);
});
