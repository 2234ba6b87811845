import { ErrorCode, WalError } from '@wal/codec';
import { type SyncMode, Wal } from '@wal/fs';
import { type Random, SimFs, seededRandom } from '@wal/fs/testing';
import { describe, expect, test } from 'vitest';
import {
  describeError,
  freshFs,
  InvariantError,
  reopenAndCheck,
  walOptions,
} from './support/check.js';
import { useTickingClock } from './support/clock.js';
import { badReport, type FaultMode, nthFault } from './support/faults.js';
import { type Fate, History } from './support/history.js';
import { settings } from './support/settings.js';
import { closeWal, makeWorkload, runSteps, type Step } from './support/workload.js';

const tick = useTickingClock();

interface RunResult {
  /** Calls failed; 0 once N is past the workload's last call. */
  fired: number;
  /** The call that failed first. */
  op: string | undefined;
  /** Crash states checked after the fault. */
  states: number;
  problems: string[];
}

/**
 * SQLite's loop, one run: on a file system with nothing on it, fail the
 * Nth call of open (which creates the directory) + workload + close, then
 * check how the failure was reported, that nothing leaked, that a failed
 * fdatasync left the writer failed, and that after a reopen (with and
 * without a power loss, and with one more power loss during and after the
 * reopen) every acknowledged op is there and writing works again.
 */
async function faultRun(
  steps: readonly Step[],
  n: number,
  mode: FaultMode,
  seed: number,
  sync: SyncMode,
): Promise<RunResult> {
  // Short writes too, so a fault can land after part of a record is written.
  const random = seededRandom(seed * 7919 + n);
  const fs = new SimFs({ shortWrites: random });
  const history = new History(sync);
  const fault = fs.inject(nthFault(n, mode));
  const errors: unknown[] = [];
  let wal: Wal | undefined;
  try {
    wal = await Wal.open(walOptions(fs, { sync }));
  } catch (error) {
    errors.push(error);
  }
  const problems: string[] = [];
  if (wal) {
    const opened = fs.operations;
    errors.push(...(await runSteps(wal, history, steps, { fs, tick })));
    const syncFailed = fault.fired.some((f) => f.op === 'fdatasync' && f.index > opened);
    if (syncFailed && wal.state !== 'failed') {
      problems.push(`a failed fdatasync left the writer ${wal.state}`);
    }
    if (wal.state === 'failed') {
      // Failed: even with the device healthy again, nothing is accepted.
      fault.disarm();
      const after = await runSteps(wal, history, [{ kind: 'sync' }], { fs, tick });
      if (!WalError.isInstance(after[0], ErrorCode.FAILED)) {
        problems.push(`a failed writer answered sync() with ${describeError(after[0])}`);
      }
      errors.push(...after);
    }
    await closeWal(wal, history).catch((error: unknown) => errors.push(error));
  }
  const first = fault.fired[0];
  if (!first) return { fired: 0, op: undefined, states: 0, problems: errors.map(describeError) };
  const where = `N=${n} ${mode} (${first.op} ${first.path} failed with ${first.error.code})`;
  for (const error of errors) {
    const bad = badReport(error, fault);
    if (bad) problems.push(bad);
  }
  if (errors.length === 0 && first.op !== 'close' && first.op !== 'unlink') {
    problems.push('the failure was not reported to any call');
  }
  if (fs.openHandles !== 0) problems.push(`${fs.openHandles} file handles leaked`);
  if (fs.locks !== 0) problems.push('the lock was not released');
  fs.clearFaults();
  const after = await afterFault(fs, history, random);
  problems.push(...after.problems);
  return {
    fired: fault.fired.length,
    op: first.op,
    states: after.states,
    problems: problems.map((p) => `${where}: ${p} [${fault.fired.length} fired]`),
  };
}

// Reopen after a power loss (worst case and a random state), then after a
// plain restart (the page cache intact: every resolved op must be there);
// each time every acknowledged op must be there and a new put must be
// acknowledged, and a power loss during the reopen and its put, and right
// after the reopen, must keep what it recovered.
async function afterFault(
  fs: SimFs,
  history: History,
  random: Random,
): Promise<{ states: number; problems: string[] }> {
  const problems: string[] = [];
  const targets: [string, SimFs, History, Fate][] = [
    ['worst-case power loss', fs.crash(), history.clone(), 'power loss'],
    ['random power loss', fs.crash(Math.floor(random() * 2 ** 31)), history.clone(), 'power loss'],
    ['restart', fs, history, 'kill'],
  ];
  let states = 0;
  for (const [what, target, h, fate] of targets) {
    let chosen: [string, SimFs, History] | undefined;
    let seen = 0;
    target.onOperation = (event) => {
      if (!event.mutating || random() * ++seen >= 1) return;
      const state = target.crash(Math.floor(random() * 2 ** 31));
      chosen = [`power loss after call ${event.index} (${event.op})`, state, h.clone()];
    };
    try {
      const wal = await reopenAndCheck(target, h, {}, fate);
      const reopened: [string, SimFs, History] = [
        'power loss after the reopen',
        target.crash(),
        h.clone(),
      ];
      await h.append(wal, [{ type: 'put', key: 'again', value: 'ok' }], 'put');
      await closeWal(wal, h);
      target.onOperation = undefined;
      if (target.openHandles !== 0) problems.push(`${what}: handles leaked after reopen`);
      for (const [when, state, hs] of chosen ? [reopened, chosen] : [reopened]) {
        states++;
        try {
          await (await reopenAndCheck(state, hs)).close();
        } catch (error) {
          const reason = error instanceof InvariantError ? error.message : describeError(error);
          problems.push(`then ${what}, then ${when}: ${reason}`);
        }
      }
    } catch (error) {
      const reason = error instanceof InvariantError ? error.message : describeError(error);
      problems.push(`then ${what}: ${reason}`);
    }
    target.onOperation = undefined;
    states++;
  }
  return { states, problems };
}

describe.each(['always', 'interval', 'none'] as const)("sync: '%s'", (sync) => {
  test('I/O faults: the Nth call fails, transiently then persistently, for every N until the workload completes', async () => {
    let runs = 0;
    let injected = 0;
    let states = 0;
    const problems: string[] = [];
    const byOp = new Map<string, number>();
    const started = performance.now();
    for (let w = 0; w < settings.faultWorkloads[sync]; w++) {
      const seed = settings.seed + w;
      const steps = makeWorkload(seededRandom(seed), 8);
      for (const mode of ['transient', 'persistent'] as const) {
        for (let n = 1; ; n++) {
          const result = await faultRun(steps, n, mode, seed, sync);
          if (result.fired === 0) {
            // Past the end: the workload must then have run clean.
            problems.push(...result.problems.map((p) => `seed ${seed}, N=${n}: unexpected ${p}`));
            break;
          }
          runs++;
          injected += result.fired;
          states += result.states;
          byOp.set(result.op as string, (byOp.get(result.op as string) ?? 0) + 1);
          problems.push(...result.problems.map((p) => `seed ${seed}: ${p}`));
        }
      }
    }
    const ops = [...byOp].map(([op, count]) => `${op} ${count}`).join(', ');
    console.info(
      `fault loop, sync '${sync}': ${runs} runs (first failed call: ${ops}), ${injected} calls failed, ${states} states checked after them, ${problems.length} problems, ${Math.round(performance.now() - started)} ms`,
    );
    expect(problems.slice(0, 10)).toEqual([]);
    expect(runs).toBeGreaterThan(100);
  }, 3_600_000);
});

test('the loop can fail: a writer that ignores a failed fdatasync is caught', async () => {
  // A file system that swallows fdatasync errors makes the writer resolve
  // appends that were never made durable.
  class SwallowsSyncErrors extends SimFs {
    override async fdatasync(fd: number): Promise<void> {
      await super.fdatasync(fd).catch(() => {
        // Lies: reports success.
      });
    }

    // The sync of a durable write too.
    protected override async syncWritten(
      fd: number,
      position: number,
      bytes: Uint8Array,
    ): Promise<void> {
      await super.syncWritten(fd, position, bytes).catch(() => {});
    }
  }
  const fs = await freshFs(new SwallowsSyncErrors());
  const history = new History();
  // No zeros: the first sync after open is that of the put's frame.
  const wal = await Wal.open(walOptions(fs, { preallocateBytes: 0 }));
  fs.inject({ ops: ['fdatasync'] });
  await history.append(wal, [{ type: 'put', key: 'k', value: 'v' }], 'put');
  await wal.close();
  // Lost, or unreadable behind the mark that close wrote after the hole.
  await expect(reopenAndCheck(fs.crash(), history)).rejects.toThrow(
    /acknowledged sequence 0 lost|recovery failed: WAL_CORRUPTION/,
  );
});
