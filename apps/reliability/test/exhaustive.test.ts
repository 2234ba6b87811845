import { SEGMENT_HEADER_SIZE } from '@wal/codec';
import { Wal } from '@wal/fs';
import { type CrashPlanOptions, SimFs } from '@wal/fs/testing';
import { expect, test } from 'vitest';
import { freshFs, InvariantError, reopenAndCheck, walOptions } from './support/check.js';
import { History } from './support/history.js';

const value = (length: number, fill: number): Uint8Array => new Uint8Array(length).fill(fill);

/**
 * A small workload built to put frame boundaries a few bytes before sector
 * boundaries, so torn sectors cut frame headers: a put whose frame ends at
 * offset 508, two puts written together, a batch, a rotation, one more put.
 */
async function smallWorkload(wal: Wal, history: History): Promise<void> {
  // Header 48 + frame 8 + batch prefix 17 + op 5 + key 1 + value length 4 + 425: ends at 508.
  await history.append(wal, [{ type: 'put', key: 'a', value: value(425, 1) }], 'put');
  await Promise.all([
    history.append(wal, [{ type: 'put', key: 'b', value: value(40, 2) }], 'put'),
    history.append(wal, [{ type: 'delete', key: 'a' }], 'delete'),
  ]);
  await history.append(
    wal,
    [
      { type: 'put', key: 'c', value: value(0, 0) },
      { type: 'put', key: 'd', value: value(600, 4) },
    ],
    'batch',
  );
  await wal.rotate();
  await history.append(wal, [{ type: 'put', key: 'e', value: value(3, 5) }], 'put');
}

async function everyState(
  options: CrashPlanOptions,
): Promise<{ states: number; failures: string[]; firstEnd: number }> {
  const fs = await freshFs(new SimFs());
  const history = new History();
  const captures: { fs: SimFs; history: History; where: string }[] = [];
  fs.onOperation = (event) => {
    if (!event.mutating) return;
    for (const plan of fs.crashPlans(options)) {
      captures.push({
        fs: fs.crash(plan),
        history: history.clone(),
        where: `after call ${event.index} (${event.op} ${event.path}): ${fs.describeCrashPlan(plan)}`,
      });
    }
  };
  const wal = await Wal.open(walOptions(fs));
  let firstEnd = 0;
  const measure = fs.onOperation;
  fs.onOperation = (event) => {
    measure(event);
    // The first call made once the first frame is counted in.
    if (firstEnd === 0 && wal.segmentSize > SEGMENT_HEADER_SIZE) firstEnd = wal.segmentSize;
  };
  await smallWorkload(wal, history);
  await wal.close();
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
  return { states: captures.length, failures, firstEnd };
}

test('every interesting crash state of a small workload keeps every acknowledged op', async () => {
  const { states, failures, firstEnd } = await everyState({ cuts: 'every-byte' });
  console.info(`exhaustive: ${states} crash states, ${failures.length} violations`);
  // The workload is built for the first frame to end 4 bytes before a sector.
  expect(firstEnd).toBe(508);
  expect(failures.slice(0, 5)).toEqual([]);
});
